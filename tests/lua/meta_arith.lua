-- Arithmetic, bitwise, concat, unary and length metamethods
local V = {}
V.__index = V
local function vec(x, y) return setmetatable({x = x, y = y}, V) end
local function tv(v) if getmetatable(v) == V then return "(" .. v.x .. "," .. v.y .. ")" end return tostring(v) end
V.__add = function(a, b) return vec(a.x + b.x, a.y + b.y) end
V.__sub = function(a, b) return vec(a.x - b.x, a.y - b.y) end
V.__mul = function(a, b)
  if type(a) == "number" then return vec(a * b.x, a * b.y) end
  if type(b) == "number" then return vec(a.x * b, a.y * b) end
  return a.x * b.x + a.y * b.y
end
V.__div = function(a, b) return vec(a.x / b, a.y / b) end
V.__mod = function(a, b) return vec(a.x % b, a.y % b) end
V.__pow = function(a, b) return vec(a.x ^ b, a.y ^ b) end
V.__unm = function(a) return vec(-a.x, -a.y) end
V.__idiv = function(a, b) return vec(a.x // b, a.y // b) end
V.__band = function(a, b) return "band" end
V.__bor = function(a, b) return "bor" end
V.__bxor = function(a, b) return "bxor" end
V.__shl = function(a, b) return "shl:" .. tv(a) .. ":" .. tv(b) end
V.__shr = function(a, b) return "shr:" .. tv(a) .. ":" .. tv(b) end
V.__bnot = function(a) return "bnot" end
V.__concat = function(a, b) return "cat[" .. tv(a) .. "|" .. tv(b) .. "]" end
V.__len = function(a) return 2 end
V.__tostring = function(a) return "vec" .. tv(a) end
local p, q = vec(1, 2), vec(3, 4)
print("add:", tv(p + q))
print("sub:", tv(p - q))
print("mul dot:", p * q)
print("mul scalar left:", tv(2 * p), "right:", tv(p * 3))
print("div:", tv(q / 2))
print("mod:", tv(q % 3))
print("pow:", tv(p ^ 2))
print("unm:", tv(-p))
print("idiv:", tv(q // 2))
print("bitwise:", p & q, p | 1, 1 ~ p, ~p)
print("shifts:", p << 1, 1 >> p)
print("concat:", p .. "s", "s" .. p, 1 .. p, p .. q)
print("concat chain:", "a" .. p .. "b")
print("len:", #p)
print("tostring:", tostring(p), "print uses it:", p)
-- metamethod from right operand when left has none
local R = setmetatable({}, {__add = function(a, b) return "right add with " .. tostring(a) end})
print("right operand:", 5 + R, "x" .. "y")
-- __eq only for two tables
local E = {__eq = function(a, b) return a.id == b.id end}
local e1, e2, e3 = setmetatable({id = 1}, E), setmetatable({id = 1}, E), setmetatable({id = 2}, E)
print("__eq:", e1 == e2, e1 == e3, e1 ~= e2, e1 == 1, rawequal(e1, e2))
-- arithmetic error messages with and without metamethods
print("no __add:", pcall(function() local t = {} return t + 1 end))
print("no __concat:", pcall(function() local t = {} return "a" .. t end))
print("no __unm:", pcall(function() local t = {} return -t end))
print("no __len on number:", pcall(function() local n = 1 return #n end))
print("no __div upvalue:", pcall(function() return p / p end))
print("nil arith field:", pcall(function() return p.z + 1 end))
print("nil arith global:", pcall(function() return undefined_var * 2 end))
print("string arith bad:", pcall(function() local s = "x" return s + 1 end))
print("bool arith:", pcall(function() return true + 1 end))
print("concat nil local:", pcall(function() local n; return "a" .. n end))
print("concat boolean:", pcall(function() return "a" .. true end))
print("concat table field:", pcall(function() local t = {f = {}} return t.f .. "x" end))
-- __index + arithmetic on results
local counter = setmetatable({}, {__index = function() return 0 end})
counter.a = counter.a + 1
counter.a = counter.a + 1
print("default 0:", counter.a, counter.b)
-- __len on tables used by #
local L = setmetatable({1, 2, 3}, {__len = function(t) return rawlen(t) * 100 end})
print("__len:", #L, rawlen(L))
-- __concat with numbers
local C = setmetatable({}, {__concat = function(a, b)
  local function s(v) return type(v) == "table" and "C" or tostring(v) end
  return s(a) .. "+" .. s(b)
end})
print("__concat numbers:", C .. 1, 2.5 .. C, C .. C)
-- integer/float metamethod operand preserved
local I = setmetatable({}, {__add = function(a, b) return math.type(b) or math.type(a) end})
print("operand types:", I + 1, I + 1.0, 1 + I)
-- comparison metamethods (mixed): __lt/__le
local N = {}
N.__lt = function(a, b) return a.n < b.n end
N.__le = function(a, b) return a.n <= b.n end
local n1, n2 = setmetatable({n = 1}, N), setmetatable({n = 2}, N)
print("__lt/__le:", n1 < n2, n2 < n1, n1 <= n1, n2 > n1, n2 >= n1, n1 >= n2)
local onlylt = setmetatable({}, {__lt = function() return true end})
print("__lt mixed types:", pcall(function() return n1 < 1 end))
print("__lt result coerced:", setmetatable({}, {__lt = function() return 1 end}) < {})
