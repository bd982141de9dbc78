-- Deep recursion: stack overflow is a catchable Lua error; deep-but-finite recursion works
local function depth(n) if n == 0 then return 0 end return 1 + depth(n - 1) end
print("depth 10000:", depth(10000))
print("depth 150000:", depth(150000))
local function inf(n) return 1 + inf(n + 1) end
local ok, err = pcall(inf, 1)
print("infinite recursion caught:", ok, type(err), (string.find(err, "stack overflow", 1, true) ~= nil))
print("message has position:", err:match("^[^:]+:%d+:") ~= nil)
-- the interpreter keeps working after a stack overflow
print("after overflow:", depth(100))
-- again, through a metamethod
local mt = {}
mt.__index = function(t, k) return t[k .. "x"] end
local ok2, err2 = pcall(function() return setmetatable({}, mt).a end)
print("__index recursion caught:", ok2, (tostring(err2):find("stack overflow", 1, true) ~= nil))
-- recursion through pcall levels
local function nested(n) if n == 0 then return "bottom" end local _, r = pcall(nested, n - 1) return r end
print("nested pcall 150:", nested(150))
-- mutual recursion overflow
local a, b
function a(n) return b(n + 1) + 1 end
function b(n) return a(n + 1) + 1 end
local ok3, err3 = pcall(a, 0)
print("mutual recursion caught:", ok3, (err3:find("stack overflow", 1, true) ~= nil))
-- error objects survive deep unwinding
local function deep_err(n) if n == 0 then error({depth = "bottom"}) end return deep_err(n - 1) + 0 end
local ok4, err4 = pcall(deep_err, 5000)
print("deep error object:", ok4, err4.depth)
-- tail recursion never overflows
local function tail(n) if n == 0 then return "done" end return tail(n - 1) end
print("tail 1e6:", tail(1000000))
-- deep string concatenation recursion
local function build(n) if n == 0 then return "" end return build(n - 1) .. "x" end
print("build 5000:", #build(5000))
