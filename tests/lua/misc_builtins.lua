-- print / tostring / type / select / next / ipairs / _G details
print()
print(nil)
print(nil, false, 1, "two", 3.0)
print("tabs", "between", "args")
print("nan formatting:", 0/0, -(0/0), string.format("%f %g %.1f", 0/0, -(0/0), 0/0))
print("inf formatting:", 1/0, string.format("%d", 3), string.format("%5.1f|%-6g|", 1/0, -1/0))
print("tostring numbers:", tostring(1e15), tostring(1e16), tostring(123456789012), tostring(0.1), tostring(-123.0))
print("tostring large floats:", 2^63, -2^63, 2^64, 1e308, 2.5e-310)
print("integer-valued floats:", 1e0, 100.0, -2.0, 1e14, 123456789012345.0)
print("print uses __tostring:", setmetatable({}, {__tostring = function() return "custom!" end}))
print("print __name:", (tostring(setmetatable({}, {__name = "Thing"})):gsub("0x%x+", "ADDR"):gsub(": [%x]+$", ": ADDR")))
print("print error for bad __tostring:", pcall(print, setmetatable({}, {__tostring = function() return {} end})))
print("type errors:", pcall(type))
print("tostring of function type prefix:", (tostring(print):match("^(%a+):")), (tostring(function() end):match("^(%a+):")), (tostring({}):match("^(%a+):")))
print("ipairs over string errors:", pcall(function() for i, c in ipairs("abc") do end end))
print("ipairs with holes:", (function() local c = 0 for _ in ipairs({1, 2, nil, 4}) do c = c + 1 end return c end)())
print("next after last:", next({10}, 1))
print("select negative:", select(-2, "a", "b", "c"))
print("rawequal:", rawequal("a", "a"), rawequal({}, {}), rawequal(1, 1.0), rawequal(0/0, 0/0))
print("rawequal missing arg:", pcall(rawequal, 1))
print("_G contents sorted:")
local names = {}
for _, n in ipairs({"assert", "error", "getmetatable", "ipairs", "load", "next", "pairs", "pcall", "print",
  "rawequal", "rawget", "rawlen", "rawset", "require", "select", "setmetatable", "tonumber", "tostring",
  "type", "xpcall", "dofile", "string", "table", "math", "io", "os", "package"}) do
  names[#names + 1] = n .. ":" .. type(_G[n])
end
table.sort(names)
for i = 1, #names, 7 do print("  " .. table.concat(names, " ", i, math.min(i + 6, #names))) end
print("string functions present:", type(string.len), type(string.sub), type(string.format), type(string.gsub), type(string.gmatch))
print("table functions present:", type(table.insert), type(table.remove), type(table.concat), type(table.sort), type(table.unpack), type(table.pack), type(table.move))
print("unpack global absent in 5.4:", unpack)
print("_ENV is _G:", _ENV == _G)
local function with_env()
  local _ENV = {print = print, tostring = tostring}
  newglobal = "in custom env"
  print("inside custom _ENV:", newglobal, tostring(rawget ~= nil))
end
with_env()
print("custom _ENV did not leak:", newglobal)
print("tostring(-0.0) and 0.0:", -0.0, 0.0, 0.0 == -0.0, 1 / -0.0)
print("integer keys print order via ipairs:", table.concat({1, 2, 3}, ";"))
print("long string concat:", #(("x"):rep(100) .. ("y"):rep(100)))
print("numeric string keys distinct:", ({["1"] = "s", [1] = "i"})["1"], ({["1"] = "s", [1] = "i"})[1])
print("assert returns args:", assert("v", "m"))
print("tonumber of tostring round trip:", tonumber(tostring(0.1)) == 0.1, tonumber(tostring(1/3)) == 1/3, string.format("%.17g", 0.1))
print("string.format %.14g:", string.format("%.14g", 2^53), string.format("%.14g", 0.1 + 0.2))
print("done")
