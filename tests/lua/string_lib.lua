-- string library basics and the string metatable
local s = "Hello, World"
print("len:", string.len(s), s:len(), #s, ("").len(""))
print("sub:", s:sub(1, 5), s:sub(-5), s:sub(-5, -2), s:sub(8), s:sub(0), s:sub(5, 1), s:sub(-100, 3), s:sub(3, 100), "[" .. s:sub(13) .. "]")
print("sub maxint/minint:", s:sub(math.mininteger, math.maxinteger) == s, s:sub(math.maxinteger), s:sub(2, math.mininteger) == "")
print("upper/lower:", s:upper(), s:lower(), ("MiXeD123!"):lower())
print("rep:", ("ab"):rep(3), ("ab"):rep(3, ","), ("x"):rep(0), ("x"):rep(-1), ("x"):rep(1, "sep"), "[" .. ("")
:rep(5) .. "]")
print("reverse:", s:reverse(), (""):reverse(), ("a"):reverse())
print("byte:", s:byte(), s:byte(2), s:byte(-1), s:byte(1, 3), s:byte(100), select('#', s:byte(100)), select('#', s:byte(3, 2)))
print("char:", string.char(72, 105), string.char(), #string.char(0, 0))
print("char err:", pcall(string.char, 256))
print("char err2:", pcall(string.char, -1))
print("metatable index:", getmetatable("").__index == string, ("x").upper == string.upper)
print("method on literal:", ("%d items"):format(3), ("abc"):upper():lower():rep(2))
print("number method needs parens:", (5 .. ""):rep(2))
print("concat many:", table.concat({"a", "b", "c"}) .. "!" .. 1 .. 2.5)
print("comparison with bytes:", ("a"):byte() < ("b"):byte())
print("string keys:", ({["with space"] = 1})["with space"])
-- long repeated strings
local big = ("abc"):rep(10000)
print("big:", #big, big:sub(-3), big:byte(29999))
print("rep huge err:", pcall(string.rep, "x", math.maxinteger))
-- string.len argument errors
print("len err:", pcall(string.len))
print("len number:", string.len(12345), string.len(1.5))
print("upper number:", string.upper(12))
print("sub err:", pcall(string.sub))
print("sub bad arg:", pcall(string.sub, "x", {}))
print("rep bad arg:", pcall(string.rep, "x", "y"))
print("index a string:", ("abc").x, pcall(function() return ("abc").x.y end))
print("call string method on number:", pcall(function() local n = 5; return n:upper() end))
print("string.format('%s', 1.0):", string.format("%s %s %s", 1.0, 2, "x"))
print("tostring(-nan) is not printed; inf:", tostring(math.huge), tostring(-math.huge))
-- building strings in a loop
local acc = {}
for i = 1, 20 do acc[#acc + 1] = string.char(64 + i) end
print("built:", table.concat(acc))
local caesar = s:gsub("%a", function(c)
  local base = c:match("%l") and 97 or 65
  return string.char((c:byte() - base + 13) % 26 + base)
end)
print("rot13:", caesar)
