-- __call, __tostring, __name, __close, __eq/__lt/__le details, __index on functions via tables
local callable = setmetatable({count = 0}, {__call = function(self, a, b)
  self.count = self.count + 1
  return "called with " .. (type(a) == "table" and "<table>" or tostring(a)) .. "," .. tostring(b), self.count
end})
print("__call:", callable(1, 2))
print("__call again:", callable("x"))
print("__call via pcall:", pcall(callable, "p"))
local chain = setmetatable({}, {__call = function(self, ...) return select('#', ...), ... end})
print("__call varargs:", chain(nil, nil, 3))
-- __call used as a method
local obj = {m = callable}
print("__call as method:", obj:m())
-- __call in table.sort comparator and gsub replacement
local cmp = setmetatable({}, {__call = function(_, a, b) return a > b end})
local arr = {3, 1, 2}
table.sort(arr, function(a, b) return cmp(a, b) end)
print("__call comparator:", table.concat(arr, " "))
-- calling non-callables
print("call table without __call:", pcall(function() local t = {} t() end))
print("call nil field:", pcall(function() local t = {} t.missing() end))
print("call nil method:", pcall(function() local t = {} t:missing() end))
print("call global nil:", pcall(function() not_a_function() end))
print("call number upvalue:", pcall(function() local n = 5; return (function() return n() end)() end))
print("call string:", pcall(function() ("x")() end))
-- __tostring
local T = setmetatable({}, {__tostring = function() return "I am T" end})
print("__tostring:", tostring(T), T)
local bad = setmetatable({}, {__tostring = function() return 42 end})
print("__tostring non-string:", pcall(tostring, bad))
-- __name appears in tostring and error messages
local named = setmetatable({}, {__name = "MyType"})
print("__name tostring prefix:", (tostring(named):match("^MyType: ")))
print("__name in arith error:", pcall(function() return named + 1 end))
print("__name in bad argument:", pcall(string.rep, named, 1))
print("__name non-string ignored:", (tostring(setmetatable({}, {__name = 42})):match("^table: ")))
-- __close
do
  local events = {}
  local function closer(name) return setmetatable({}, {__close = function(_, err) events[#events + 1] = name .. (err and ("!" .. tostring(err)) or "") end}) end
  do
    local x <close> = closer("x")
    local y <close> = closer("y")
  end
  print("close order:", table.concat(events, " "))
  events = {}
  local ok, err = pcall(function()
    local z <close> = closer("z")
    error("boom", 0)
  end)
  print("close on error:", ok, err, table.concat(events, " "))
  events = {}
  local function early()
    local w <close> = closer("w")
    for i = 1, 3 do
      local v <close> = closer("v" .. i)
      if i == 2 then return "returned" end
    end
  end
  print("close on return:", early(), table.concat(events, " "))
  events = {}
  for i = 1, 2 do
    local b <close> = closer("b" .. i)
    if i == 1 then goto cont end
    events[#events + 1] = "body" .. i
    ::cont::
  end
  print("close with goto/loop:", table.concat(events, " "))
  print("close non-closable:", pcall(load("local x <close> = {}")))
end
-- __eq is not called for identical objects or different types
local eqcalls = 0
local EQ = {__eq = function() eqcalls = eqcalls + 1; return true end}
local e1, e2 = setmetatable({}, EQ), setmetatable({}, EQ)
local _ = (e1 == e1), (e1 == e2), (e1 == "x"), (e1 ~= e2)
print("__eq calls:", eqcalls)
-- __eq result converted to boolean
local EQ2 = {__eq = function() return "yes" end}
print("__eq coerced:", setmetatable({}, EQ2) == setmetatable({}, EQ2))
-- __lt with different metatables: first operand's metamethod wins, then second's
local LA = {__lt = function() return "A" end}
local LB = {__lt = function() return false end}
print("__lt picks first:", setmetatable({}, LA) < setmetatable({}, LB), setmetatable({}, LB) < setmetatable({}, LA))
print("__lt only on right:", {} < setmetatable({}, LA))
-- __unm / __len receive operand
local U = setmetatable({v = 3}, {__unm = function(a, b) return "neg" .. a.v .. tostring(b == a) end, __len = function(a) return a.v end})
print("__unm/__len:", -U, #U)
-- __index function receives original table
local orig
local I = setmetatable({}, {__index = function(t, k) return t == orig and k end})
orig = I
print("__index self:", I.hello)
