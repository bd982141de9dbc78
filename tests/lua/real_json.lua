-- A JSON encoder and decoder with round-trip checks and error reporting
local json = {}
json.null = setmetatable({}, {__tostring = function() return "null" end})
local escapes = {['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b', ['\f'] = '\\f', ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t'}
local function encode_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c) return escapes[c] or string.format("\\u%04x", c:byte()) end) .. '"'
end
local function is_array(t)
  local n = 0
  for k in pairs(t) do
    if math.type(k) ~= "integer" or k < 1 then return false end
    n = math.max(n, k)
  end
  return n == #t
end
function json.encode(v, indent, depth)
  depth = depth or 0
  local tv = type(v)
  if tv == "nil" or v == json.null then return "null"
  elseif tv == "boolean" then return tostring(v)
  elseif tv == "number" then
    if v ~= v or v == math.huge or v == -math.huge then error("cannot encode " .. tostring(v)) end
    if math.type(v) == "integer" then return tostring(v) end
    return string.format("%.14g", v)
  elseif tv == "string" then return encode_string(v)
  elseif tv == "table" then
    local nl, pad, pad2 = "", "", ""
    if indent then nl = "\n"; pad = (" "):rep(indent * (depth + 1)); pad2 = (" "):rep(indent * depth) end
    local parts = {}
    if next(v) ~= nil and is_array(v) then
      for i = 1, #v do parts[i] = pad .. json.encode(v[i], indent, depth + 1) end
      return "[" .. nl .. table.concat(parts, "," .. nl) .. nl .. pad2 .. "]"
    end
    local keys = {}
    for k in pairs(v) do
      if type(k) ~= "string" then error("non-string key: " .. tostring(k)) end
      keys[#keys + 1] = k
    end
    table.sort(keys)
    if #keys == 0 then return "{}" end
    for i, k in ipairs(keys) do parts[i] = pad .. encode_string(k) .. ":" .. (indent and " " or "") .. json.encode(v[k], indent, depth + 1) end
    return "{" .. nl .. table.concat(parts, "," .. nl) .. nl .. pad2 .. "}"
  end
  error("cannot encode type " .. tv)
end
local function decode_error(s, pos, msg)
  local line, col = 1, 1
  for i = 1, pos - 1 do if s:sub(i, i) == "\n" then line = line + 1; col = 1 else col = col + 1 end end
  error(string.format("json error at line %d col %d: %s", line, col, msg), 0)
end
local function skip(s, pos) return (s:find("[^ \t\r\n]", pos)) or #s + 1 end
local decode_value
local function decode_string(s, pos)
  local buf, i = {}, pos + 1
  while true do
    local c = s:sub(i, i)
    if c == "" then decode_error(s, pos, "unterminated string") end
    if c == '"' then return table.concat(buf), i + 1 end
    if c == "\\" then
      local e = s:sub(i + 1, i + 1)
      local map = {b = "\b", f = "\f", n = "\n", r = "\r", t = "\t", ['"'] = '"', ["\\"] = "\\", ["/"] = "/"}
      if map[e] then buf[#buf + 1] = map[e]; i = i + 2
      elseif e == "u" then
        local hex = s:match("^%x%x%x%x", i + 2)
        if not hex then decode_error(s, i, "bad unicode escape") end
        local cp = tonumber(hex, 16)
        if cp < 0x80 then buf[#buf + 1] = string.char(cp)
        elseif cp < 0x800 then buf[#buf + 1] = string.char(0xC0 | (cp >> 6), 0x80 | (cp & 0x3F))
        else buf[#buf + 1] = string.char(0xE0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3F), 0x80 | (cp & 0x3F)) end
        i = i + 6
      else decode_error(s, i, "bad escape") end
    else buf[#buf + 1] = c; i = i + 1 end
  end
end
function decode_value(s, pos)
  pos = skip(s, pos)
  local c = s:sub(pos, pos)
  if c == "{" then
    local obj = {}
    pos = skip(s, pos + 1)
    if s:sub(pos, pos) == "}" then return obj, pos + 1 end
    while true do
      if s:sub(pos, pos) ~= '"' then decode_error(s, pos, "expected string key") end
      local k; k, pos = decode_string(s, pos)
      pos = skip(s, pos)
      if s:sub(pos, pos) ~= ":" then decode_error(s, pos, "expected ':'") end
      obj[k], pos = decode_value(s, pos + 1)
      pos = skip(s, pos)
      local d = s:sub(pos, pos)
      if d == "}" then return obj, pos + 1 end
      if d ~= "," then decode_error(s, pos, "expected ',' or '}'") end
      pos = skip(s, pos + 1)
    end
  elseif c == "[" then
    local arr, n = {}, 0
    pos = skip(s, pos + 1)
    if s:sub(pos, pos) == "]" then return arr, pos + 1 end
    while true do
      n = n + 1
      arr[n], pos = decode_value(s, pos)
      pos = skip(s, pos)
      local d = s:sub(pos, pos)
      if d == "]" then return arr, pos + 1 end
      if d ~= "," then decode_error(s, pos, "expected ',' or ']'") end
      pos = pos + 1
    end
  elseif c == '"' then return decode_string(s, pos)
  elseif s:find("^true", pos) then return true, pos + 4
  elseif s:find("^false", pos) then return false, pos + 5
  elseif s:find("^null", pos) then return json.null, pos + 4
  else
    local num = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
    if not num or num == "" then decode_error(s, pos, "unexpected character '" .. c .. "'") end
    return math.tointeger(tonumber(num)) or tonumber(num), pos + #num
  end
end
function json.decode(s)
  local v, pos = decode_value(s, 1)
  pos = skip(s, pos)
  if pos <= #s then decode_error(s, pos, "trailing garbage") end
  return v
end
local doc = {
  name = "meta-tracer", version = 1.5, stable = false, tags = {"jit", "lua", "tracing"},
  nested = {a = {b = {c = {1, 2, {d = "deep"}}}}}, count = 42, neg = -7, big = 1e21, small = 0.001,
  text = "line1\nline2\t\"quoted\" \\ back\1ctrl", empty_obj = {}, unicode = "caf\u{E9}",
}
local compact = json.encode(doc)
print("compact:", compact)
print("pretty:")
print(json.encode(doc, 2))
local back = json.decode(compact)
print("round trip equal:", json.encode(back) == compact)
print("decoded fields:", back.name, back.version, back.stable, back.tags[2], back.nested.a.b.c[3].d, back.count, math.type(back.count), back.text == doc.text)
local samples = {
  '[1, 2.5, -3, 4e2, "x", true, false, null, [], {}]',
  '{"a": {"b": [1, {"c": "d"}]}, "e": "\\u0041\\u00e9\\u20ac"}',
  '  "just a string"  ',
  '[[[[[[[[[[1]]]]]]]]]]',
  '{"k": 1, "k": 2}',
}
for i, s in ipairs(samples) do
  local ok, v = pcall(json.decode, s)
  print("sample " .. i .. ":", ok, ok and json.encode(v) or v)
end
local bad = {'{"a" 1}', '[1, 2', '{"a": tru}', '"unterminated', '[1,]', '{1: 2}', '[1] x', '"\\q"', '\n\n  [1, @]'}
for i, s in ipairs(bad) do print("bad " .. i .. ":", pcall(json.decode, s)) end
print("encode errors:", pcall(json.encode, {[1] = 1, [3] = 3}), pcall(json.encode, 0/0), pcall(json.encode, print))
-- bigger generated document round trip
local big = {}
for i = 1, 200 do big[i] = {id = i, name = "item" .. i, score = i * 1.5, flags = {i % 2 == 0, i % 3 == 0}} end
local enc = json.encode(big)
local dec = json.decode(enc)
print("big round trip:", #enc, #dec, json.encode(dec) == enc, dec[200].name, dec[100].score)
