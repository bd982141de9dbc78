-- Closures, shared upvalues, fresh locals per iteration, recursion
local function counter()
  local n = 0
  return function() n = n + 1; return n end, function() return n end
end
local inc, get = counter()
inc(); inc(); inc()
print("shared upvalue:", get())
local inc2, get2 = counter()
inc2()
print("independent counters:", get(), get2())
-- upvalue of an upvalue (3 levels)
local function outer()
  local x = 1
  return function()
    return function() x = x + 1; return x end
  end
end
local mid = outer()
local f1, f2 = mid(), mid()
print("nested upvalues shared:", f1(), f2(), f1())
-- closures in while loops get fresh locals
local fs = {}
local i = 1
while i <= 3 do
  local j = i
  fs[i] = function() j = j + 100; return j end
  i = i + 1
end
print("while fresh locals:", fs[1](), fs[2](), fs[3](), fs[1]())
-- loop var closures are distinct from each other but shared within iteration
local getters, setters = {}, {}
for k = 1, 3 do
  getters[k] = function() return k end
  setters[k] = function(v) k = v end
end
setters[2](99)
print("per-iteration shared:", getters[1](), getters[2](), getters[3]())
-- upvalue captured after loop ends keeps last value
local last
do
  local v = 0
  for q = 1, 5 do v = v + q end
  last = function() return v end
end
print("captured after loop:", last())
-- recursion through local function
local function fact(n) if n <= 1 then return 1 end return n * fact(n - 1) end
print("fact 20:", fact(20), "fact 21 wraps:", fact(21))
-- mutual recursion via upvalues
local isodd
local function iseven(n) if n == 0 then return true end return isodd(n - 1) end
function isodd(n) if n == 0 then return false end return iseven(n - 1) end
print("mutual recursion:", iseven(10), isodd(7), iseven(7))
-- closure modifying a parameter
local function adder(base)
  return function(d) base = base + d; return base end
end
local a = adder(10)
a(5)
print("param upvalue:", a(1))
-- functions as values, higher order
local function map(t, f) local r = {} for i, v in ipairs(t) do r[i] = f(v) end return r end
local function compose(f, g) return function(...) return f(g(...)) end end
local sq_then_neg = compose(function(x) return -x end, function(x) return x * x end)
print("map compose:", table.concat(map({1, 2, 3, 4}, sq_then_neg), " "))
-- memoization
local function memo(f)
  local cache = {}
  return function(n)
    local v = cache[n]
    if v == nil then v = f(n); cache[n] = v end
    return v
  end
end
local calls = 0
local slowsq = memo(function(n) calls = calls + 1; return n * n end)
for _ = 1, 5 do slowsq(7) end
print("memo:", slowsq(7), calls)
local fib
fib = memo(function(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end)
print("memo fib 80:", fib(80))
-- tail calls do not grow the stack
local function loop(n, acc) if n == 0 then return acc end return loop(n - 1, acc + 1) end
print("tail calls 1e6:", loop(1000000, 0))
-- methods and self
local obj = {n = 0}
function obj:add(k) self.n = self.n + k; return self end
function obj.static(x) return x * 2 end
obj:add(3):add(4)
print("method chain:", obj.n, obj.static(21))
-- deep nesting of function definitions in a table
local M = {sub = {}}
function M.sub.deep(x) return "deep" .. x end
function M.sub:meth(x) return self == M.sub, x end
print("dotted function names:", M.sub.deep(1), M.sub:meth(2))
-- closures counting via a shared upvalue inside a loop
local total = 0
local adders = {}
for k = 1, 10 do adders[k] = function() total = total + k end end
for k = 10, 1, -1 do adders[k]() end
print("shared total:", total)
