-- load (strings and functions), environments, dofile
local f = load("return 1 + 2")
print("load string:", f())
print("load with args:", load("local a, b = ...; return a * b")(6, 7))
print("load returns multiple:", load("return 1, 'two', nil, 4")())
local env = {print = print, x = 10}
local g = load("x = x + 1; return x", "envchunk", "t", env)
print("load with env:", g(), env.x, x)
local h = load("y_from_load = 'set globally'")
h()
print("load default env is _G:", y_from_load)
-- load with a reader function
local parts = {"return ", "'pieces", " joined'", nil}
local i = 0
local rf = load(function() i = i + 1; return parts[i] end)
print("load reader:", rf())
local empty = load(function() return nil end)
print("load empty reader:", type(empty), select('#', empty()))
-- load returns nil, message on error, and does not raise
local bad, msg = load("return +", "=bad")
print("load error:", bad, msg)
-- mode parameter
print("load binary mode rejected text:", load("return 1", "x", "b"))
-- upvalues in loaded chunk: _ENV
local counter = load("count = (count or 0) + 1; return count", "=c", "t", {})
print("separate env counts:", counter(), counter(), counter())
-- loaded functions are closures that can return functions
local mk = load("local n = 0; return function() n = n + 1; return n end")()
print("closure from load:", mk(), mk())
-- error position inside a loaded chunk
print("error position:", pcall(load("\n\nerror('at line 3')", "=chunk")))
print("error position named:", pcall(load("local x = nil; return x.y", "@virtual.lua")))
-- dofile of a helper module file
local r1, r2 = dofile("tests/lua/lib/dofile_helper.lua")
print("dofile results:", r1, r2, dofile_helper_global)
print("dofile missing:", pcall(dofile, "tests/lua/lib/does_not_exist.lua"))
print("dofile error in file:", pcall(dofile, "tests/lua/lib/dofile_error.lua"))
-- load an expression evaluator
local function eval(expr) return load("return " .. expr)() end
print("eval:", eval("2^10"), eval("('x'):rep(3)"), eval("#{1, 2, 3}"), eval("10 // 3"))
-- string.dump is not required; loadstring is not in 5.4
print("loadstring absent:", loadstring == nil, setfenv == nil, unpack == nil)
