local function esc(s)
  return (s:gsub('[^\33-\126 ]', function(c) return string.format("\\x%02x", c:byte()) end):gsub('\\(?!x)', '\\'))
end
local function esc(s)
  local o = {}
  for i = 1, #s do
    local c = s:byte(i)
    if c == 92 then o[#o+1] = "\\\\"
    elseif c >= 32 and c <= 126 then o[#o+1] = string.char(c)
    else o[#o+1] = string.format("\\x%02x", c) end
  end
  return table.concat(o)
end
local function enc(v)
  local t = math.type(v)
  if t == "integer" then return "i:" .. v
  elseif t == "float" then return "f:" .. string.format("%016x", string.unpack("<i8", string.pack("<d", v)))
  elseif type(v) == "string" then return "s:" .. esc(v)
  elseif v == nil then return "n"
  elseif type(v) == "boolean" then return "b:" .. tostring(v)
  else return "t" end
end
function case(fmt, ...)
  local args = table.pack(...)
  local ea = {}
  for i = 1, args.n do ea[i] = enc(args[i]) end
  local ok, r = pcall(string.format, fmt, ...)
  print(esc(fmt) .. "\t" .. table.concat(ea, ",") .. "\t" .. (ok and "OK " .. esc(r) or "ERR " .. esc(r)))
end
