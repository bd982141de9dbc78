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
local function case(fmt, ...)
  local args = table.pack(...)
  local ea = {}
  for i = 1, args.n do ea[i] = enc(args[i]) end
  local ok, r = pcall(string.format, fmt, ...)
  print(esc(fmt) .. "\t" .. table.concat(ea, ",") .. "\t" .. (ok and "OK " .. esc(r) or "ERR " .. esc(r)))
end
local ints = {0, 1, -1, 7, 42, -42, 255, 1000000, math.maxinteger, math.mininteger, 2^53|0}
local floats = {0.0, -0.0, 0.5, 1.5, 2.5, 2.0005, 1e-5, 100000.0, 1e15, 1e16, 0.1, 123.456, -1e300, 1e-310, 5e-324,
  1/0, -1/0, 0/0, -(0/0), 3.14159, 1e21, 9.9999995, 0.00001234, 1e100, 2^63, 0.125, 0.375, 999999.5, 9.5, 0.05, 1/3, -2/3, 1e-300,
  123456789.0, 0.0001, 0.00001, 1e-4, 99999.95, 1.7976931348623157e308, 2.2250738585072014e-308, 4503599627370496.5, 0x1.fffp0}
local convs = {"d","i","u","c","x","X","o","e","E","f","F","g","G","a","A","s","q"}
local flagsets = {"", "-", "+", " ", "#", "0", "-0", "+0", " 0", "#0", "-+", "-#", "+ ", "-+ #0"}
local widths = {"", "1", "5", "12", "25", "99", "100"}
local precs = {"", ".", ".0", ".1", ".3", ".6", ".10", ".17", ".30", ".99", ".100"}
math.randomseed(777)
for i = 1, 6000 do
  local conv = convs[math.random(#convs)]
  local spec = "%" .. flagsets[math.random(#flagsets)] .. widths[math.random(#widths)] .. precs[math.random(#precs)] .. conv
  local v
  local r = math.random(10)
  if r <= 4 then v = ints[math.random(#ints)] elseif r <= 9 then v = floats[math.random(#floats)] else v = ({"abc", "", "hello world", "1.5", "10", "0x10", "a\0b", string.rep("x", 120), "  7  "})[math.random(9)] end
  if conv == "c" and math.type(v) == "integer" then v = v & 0x7f | 0x20 end
  case(spec, v)
end
-- handpicked
for _, c in ipairs{
  {"%.3f", 2.0005}, {"%g", 1e-5}, {"%g", 100000}, {"%g", 1e15}, {"%g", 0.1}, {"%5.2s", "abc"}, {"%g", 1e6}, {"%g", 123456789},
  {"%.14g", 0.1}, {"%.14g", 1/3}, {"%.14g", 2^63}, {"%.14g", 1e14}, {"%.14g", 1e15}, {"%.0e", 0.0}, {"%#x", 0}, {"%#o", 0}, {"%#.0o", 0}, {"%.0d", 0}, {"%+.0d", 0}, {"%5.0d|", 0},
  {"%q", "he\"llo\\\n\r\0001\0a\127\200\255"}, {"%q", 1}, {"%q", math.mininteger}, {"%q", 1.5}, {"%q", 1/0}, {"%q", -1/0}, {"%q", 0/0}, {"%q", 1.0}, {"%q", 2^63}, {"%q", 0.1}, {"%q", nil}, {"%q", true}, {"%q", {}},
  {"%5q", "x"}, {"%y", 1}, {"%", 1}, {"%d"}, {"%d", "x"}, {"%d", 1.5}, {"%d", "1.5"}, {"%d", "10"}, {"%d", "0x10"}, {"%d", "10.0"}, {"%d", {}}, {"%d", nil}, {"%d", true}, {"%f", "x"}, {"%f", "1e2"}, {"%x", 3.0},
  {"%123d", 1}, {"%1234567890123456789012d", 1}, {"%.123d", 1}, {"%05c", 65}, {"%-5c|", 65}, {"%5c|", 65}, {"%c", 0}, {"%c", 256+65}, {"%.3c", 65},
  {"%#d", 1}, {"%+u", 1}, {"%#e", 1}, {"% x", 1}, {"%+s", "a"}, {"%05s", "a"}, {"%-5.1s|", "abc"}, {"%.0s|", "abc"}, {"%s %s", 1, 2.0}, {"%s", 1e100}, {"%s", -0.0},
  {"%10.4f|%-10.4f|%+.2e", math.pi, math.pi, math.pi}, {"%5.1f%%", 99.44}, {"%i", 42}, {"%l", 1}, {"%ld", 1}, {"%p", 1}, {"%s", "a\0b"}, {"%.5s", "a\0bcdef"}, {"%5s", "a\0b"},
  {"abc"}, {""}, {"%%"}, {"%d %d", 1}, {"x%dy%sz", 5, "q"}, {"%.99f", 1/3}, {"%99.99f", -1e-5}, {"%.99e", 2^-1074}, {"%.99g", 0.1}, {"%a", 2^-1074}, {"%.13a", 1/3}, {"%.14a", 1/3}, {"%.1a", 0x1.f8p0},
  {"%-+ #0d", 5}, {"%0-5d|", 5}, {"%00005d", 5}, {"%-05d", 5}, {"%5.3d", 5}, {"%-5.3d|", -5}, {"%05.3d", 5}, {"%#5x", 255}, {"%#05x", 255}, {"%#-8o|", 8}, {"%x", -1}, {"%o", -1}, {"%u", -1}, {"%X", math.mininteger},
} do case(table.unpack(c, 1, 4)) end
