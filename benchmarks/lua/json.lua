-- JSON printer and parser round trip on a generated document.
-- Usage: json.lua [N]   (N records; the document is printed and parsed 10 times)
local n = tonumber(arg and arg[1]) or 1500
local ROUNDS = 10

local function encodeString(s, out)
  out[#out + 1] = '"'
  local start = 1
  local len = #s
  for i = 1, len do
    local b = string.byte(s, i)
    if b < 32 or b == 34 or b == 92 then
      if i > start then out[#out + 1] = string.sub(s, start, i - 1) end
      if b == 34 then out[#out + 1] = '\\"'
      elseif b == 92 then out[#out + 1] = "\\\\"
      elseif b == 10 then out[#out + 1] = "\\n"
      elseif b == 9 then out[#out + 1] = "\\t"
      else out[#out + 1] = string.format("\\u%04x", b) end
      start = i + 1
    end
  end
  if start <= len then out[#out + 1] = string.sub(s, start) end
  out[#out + 1] = '"'
end

local encodeValue
local function encodeNumber(v, out)
  if v == math.floor(v) and v > -1e15 and v < 1e15 then
    out[#out + 1] = string.format("%d", v)
  else
    out[#out + 1] = string.format("%.10g", v)
  end
end
function encodeValue(v, out)
  local t = type(v)
  if t == "string" then encodeString(v, out)
  elseif t == "number" then encodeNumber(v, out)
  elseif t == "boolean" then out[#out + 1] = v and "true" or "false"
  elseif t == "table" then
    if v[1] ~= nil or next(v) == nil then
      out[#out + 1] = "["
      for i = 1, #v do
        if i > 1 then out[#out + 1] = "," end
        encodeValue(v[i], out)
      end
      out[#out + 1] = "]"
    else
      local keys = {}
      for k in pairs(v) do keys[#keys + 1] = k end
      table.sort(keys)
      out[#out + 1] = "{"
      for i = 1, #keys do
        if i > 1 then out[#out + 1] = "," end
        encodeString(keys[i], out)
        out[#out + 1] = ":"
        encodeValue(v[keys[i]], out)
      end
      out[#out + 1] = "}"
    end
  else
    out[#out + 1] = "null"
  end
end
local function encode(v)
  local out = {}
  encodeValue(v, out)
  return table.concat(out)
end

-- parser: recursive descent over byte codes
local NULL = {}
local parseValue
local function skipWs(s, i)
  local b = string.byte(s, i)
  while b == 32 or b == 10 or b == 9 or b == 13 do i = i + 1; b = string.byte(s, i) end
  return i
end
local function parseString(s, i)
  -- s[i] is the opening quote
  local parts = {}
  local start = i + 1
  local j = start
  while true do
    local b = string.byte(s, j)
    if b == nil then error("unterminated string") end
    if b == 34 then
      parts[#parts + 1] = string.sub(s, start, j - 1)
      return table.concat(parts), j + 1
    elseif b == 92 then
      parts[#parts + 1] = string.sub(s, start, j - 1)
      local e = string.sub(s, j + 1, j + 1)
      if e == "n" then parts[#parts + 1] = "\n"; j = j + 2
      elseif e == "t" then parts[#parts + 1] = "\t"; j = j + 2
      elseif e == "u" then parts[#parts + 1] = string.char(tonumber(string.sub(s, j + 2, j + 5), 16)); j = j + 6
      else parts[#parts + 1] = e; j = j + 2 end
      start = j
    else
      j = j + 1
    end
  end
end
function parseValue(s, i)
  i = skipWs(s, i)
  local b = string.byte(s, i)
  if b == 123 then -- {
    local obj = {}
    i = skipWs(s, i + 1)
    if string.byte(s, i) == 125 then return obj, i + 1 end
    while true do
      local key
      key, i = parseString(s, skipWs(s, i))
      i = skipWs(s, i)
      if string.byte(s, i) ~= 58 then error("expected ':' at " .. i) end
      obj[key], i = parseValue(s, i + 1)
      i = skipWs(s, i)
      local c = string.byte(s, i)
      if c == 125 then return obj, i + 1 end
      if c ~= 44 then error("expected ',' or '}' at " .. i) end
      i = i + 1
    end
  elseif b == 91 then -- [
    local arr = {}
    i = skipWs(s, i + 1)
    if string.byte(s, i) == 93 then return arr, i + 1 end
    while true do
      arr[#arr + 1], i = parseValue(s, i)
      i = skipWs(s, i)
      local c = string.byte(s, i)
      if c == 93 then return arr, i + 1 end
      if c ~= 44 then error("expected ',' or ']' at " .. i) end
      i = i + 1
    end
  elseif b == 34 then
    return parseString(s, i)
  elseif b == 116 then return true, i + 4
  elseif b == 102 then return false, i + 5
  elseif b == 110 then return NULL, i + 4
  else
    local j = i
    local c = string.byte(s, j)
    while c and (c == 45 or c == 43 or c == 46 or c == 101 or c == 69 or (c >= 48 and c <= 57)) do
      j = j + 1; c = string.byte(s, j)
    end
    local num = tonumber(string.sub(s, i, j - 1))
    if num == nil then error("bad value at " .. i) end
    return num, j
  end
end
local function parse(s)
  local v, i = parseValue(s, 1)
  i = skipWs(s, i)
  if i <= #s then error("trailing characters at " .. i) end
  return v
end

-- deterministic document
local seed = 17
local function rand(m) seed = (seed * 16807) % 2147483647; return seed % m end
local words = {"alpha", "beta", "gamma", "delta", "quote\"d", "back\\slash", "new\nline", "tab\tbed", "caf\195\169"}
local function makeDoc(count)
  local records = {}
  for i = 1, count do
    local tags = {}
    for k = 1, 1 + rand(4) do tags[k] = words[1 + rand(#words)] end
    records[i] = {
      id = i,
      name = words[1 + rand(#words)] .. " " .. i,
      score = rand(100000) / 64,
      active = rand(2) == 0,
      tags = tags,
      position = {x = rand(2000) - 1000, y = rand(2000) - 1000, z = rand(1000) / 8},
    }
  end
  return {version = 3, generator = "meta-tracer json benchmark", records = records}
end

local doc = makeDoc(n)
local text = encode(doc)
local total = 0
for _ = 1, ROUNDS do
  local parsed = parse(text)
  local again = encode(parsed)
  if again ~= text then error("round trip mismatch") end
  total = total + #again
  text = again
end
local h = 0
for i = 1, #text, 7 do h = (h * 31 + string.byte(text, i)) % 1000000007 end
local parsed = parse(text)
print(string.format("json: %d records, %d bytes, %d bytes processed, hash %d, last id %d", #parsed.records, #text, total, h, parsed.records[#parsed.records].id))
