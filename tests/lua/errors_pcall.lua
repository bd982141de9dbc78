-- error / pcall / xpcall / assert: levels, non-string values, nesting
print("pcall ok:", pcall(function(a, b) return a + b, "second" end, 1, 2))
print("pcall error string:", pcall(error, "msg"))
print("pcall error level 1:", pcall(function() error("lvl1") end))
print("pcall error level 0:", pcall(function() error("lvl0", 0) end))
local function thrower(level) error("lvl" .. level, level) end
local function caller(level) thrower(level) end  -- line 7
print("pcall error level 2:", pcall(caller, 2))
print("pcall error level 3:", pcall(function() caller(3) end))
print("error with table:", select(2, pcall(error, {code = 42})).code)
print("error with nil:", pcall(error, nil))
print("error with no args:", pcall(error))
print("error with number:", pcall(error, 42))
print("error number with level (no position added):", pcall(function() error(42, 1) end))
print("error with boolean:", pcall(error, false))
local eobj = setmetatable({}, {__tostring = function() return "custom error object" end})
local ok, e = pcall(error, eobj)
print("error object identity:", ok, e == eobj, tostring(e))
print("pcall non-function:", pcall(42))
print("pcall nil:", pcall(nil))
print("pcall no args:", pcall(pcall))
-- nested pcall
print("nested:", pcall(function()
  local ok2, err2 = pcall(error, "inner", 0)
  error("outer after " .. err2, 0)
end))
-- xpcall with handler
print("xpcall ok:", xpcall(function(x) return x * 2 end, print, 21))
print("xpcall handler:", xpcall(function() error("bad thing") end, function(m) return "handled: " .. m end))
print("xpcall handler gets object:", xpcall(function() error({1, 2, 3}) end, function(m) return #m end))
print("xpcall handler with traceback (first line only):", (select(2, xpcall(function() error("tb", 0) end, debug and debug.traceback or function(m) return m end)):match("^[^\n]*")))
print("xpcall runtime error:", xpcall(function() local t = nil; return t.x end, function(m) return "H:" .. m end))
print("xpcall args passed:", xpcall(function(...) return select('#', ...), ... end, print, "a", nil))
print("xpcall error in handler:", pcall(xpcall, function() error("e1") end, function() error("e2") end))
-- assert
print("assert ok:", assert(1, "unused"), select('#', assert(1, 2, 3)))
print("assert false:", pcall(assert, false))
print("assert nil msg:", pcall(assert, nil, "custom message"))
print("assert table msg:", select(2, pcall(assert, false, {k = "v"})).k)
print("assert number msg:", pcall(assert, false, 12))
print("assert no args:", pcall(assert))
-- error rethrow keeps message without new position
local ok3, e3 = pcall(function()
  local ok4, e4 = pcall(error, "original")
  error(e4, 0)
end)
print("rethrow:", ok3, e3)
-- error in metamethods propagates
local mt = setmetatable({}, {__index = function(t, k) error("no field " .. k) end})
print("error in __index:", pcall(function() return mt.foo end))
-- error levels pointing into different functions
local function validate(x) if type(x) ~= "number" then error("expected number, got " .. type(x), 2) end return x end
local function use() return validate("str") end   -- line 49
print("level 2 blames caller:", pcall(use))
-- pcall returns all results
print("pcall multi:", pcall(function() return 1, nil, 3 end))
print("pcall count:", select('#', pcall(function() return nil, nil end)))
-- tostring(nil) as error message
print("error in error handler chain:", pcall(function() error(setmetatable({}, {__tostring = function() return "X" end})) end))
-- error with string that looks like position
print("position not duplicated:", pcall(function() error("file.lua:1: already positioned") end))
-- runtime errors inside pcall within loops keep working
local failures = 0
for i = 1, 100 do
  local ok5 = pcall(function() if i % 7 == 0 then error("seven") end return i end)
  if not ok5 then failures = failures + 1 end
end
print("loop failures:", failures)
