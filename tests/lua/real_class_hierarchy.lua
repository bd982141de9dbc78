-- A small class system with inheritance, super calls, __tostring, __eq, __lt, __index chains
local function class(parent)
  local c = {}
  c.__index = c
  if parent then setmetatable(c, {__index = parent}) end
  c.super = parent
  c.new = function(...)
    local o = setmetatable({}, c)
    if o.init then o:init(...) end
    return o
  end
  return c
end
local Shape = class()
function Shape:init(name) self.name = name; Shape.count = (Shape.count or 0) + 1 end
function Shape:area() return 0 end
function Shape:describe() return string.format("%s with area %.2f", self.name, self:area()) end
Shape.__tostring = function(s) return "Shape<" .. s.name .. ">" end
Shape.__lt = function(a, b) return a:area() < b:area() end
Shape.__eq = function(a, b) return a:area() == b:area() end
local Rect = class(Shape)
function Rect:init(w, h) Shape.init(self, "rect"); self.w, self.h = w, h end
function Rect:area() return self.w * self.h end
Rect.__tostring = function(s) return "Rect(" .. s.w .. "x" .. s.h .. ")" end
Rect.__lt, Rect.__eq = Shape.__lt, Shape.__eq
local Square = class(Rect)
function Square:init(s) Rect.init(self, s, s); self.name = "square" end
Square.__tostring = function(s) return "Square(" .. s.w .. ")" end
Square.__lt, Square.__eq = Shape.__lt, Shape.__eq
local Circle = class(Shape)
function Circle:init(r) self.super.init(self, "circle"); self.r = r end
function Circle:area() return math.pi * self.r ^ 2 end
Circle.__tostring = function(s) return "Circle(r=" .. s.r .. ")" end
Circle.__lt, Circle.__eq = Shape.__lt, Shape.__eq
local shapes = {Rect.new(3, 4), Square.new(3), Circle.new(1), Rect.new(2, 4.5), Circle.new(2), Square.new(1)}
for i, s in ipairs(shapes) do print(i, tostring(s), s:describe()) end
table.sort(shapes, function(a, b) if a == b then return tostring(a) < tostring(b) end return a < b end)
local names = {}
for i, s in ipairs(shapes) do names[i] = tostring(s) end
print("sorted by area:", table.concat(names, " "))
print("equal areas:", Rect.new(2, 4.5) == Square.new(3), Rect.new(1, 2) == Rect.new(2, 1), Rect.new(1, 2) == Square.new(1))
print("instance count:", Shape.count)
print("isinstance chain:", getmetatable(shapes[1]) ~= nil, Square.super == Rect, Rect.super == Shape)
local function isa(o, cls)
  local m = getmetatable(o)
  while m do if m == cls then return true end m = m.super end
  return false
end
local sq = Square.new(5)
print("isa:", isa(sq, Square), isa(sq, Rect), isa(sq, Shape), isa(sq, Circle))
print("method resolution:", sq:area(), sq:describe(), rawget(Square, "area") == nil)
-- accounts with private state via closures
local function Account(owner, balance)
  local self = {owner = owner}
  local history = {}
  function self.deposit(v) if v <= 0 then error("invalid amount", 2) end balance = balance + v; history[#history + 1] = "+" .. v end
  function self.withdraw(v) if v > balance then error({code = "INSUFFICIENT", need = v - balance}) end balance = balance - v; history[#history + 1] = "-" .. v end
  function self.balance() return balance end
  function self.history() return table.concat(history, ",") end
  return self
end
local acct = Account("ann", 100)
acct.deposit(50)
acct.withdraw(30)
local ok, err = pcall(acct.withdraw, 500)
print("account:", acct.balance(), acct.history(), ok, err.code, err.need)
print("deposit error:", pcall(acct.deposit, -5))
-- a stack class with __len and __index fallback for numeric access
local Stack = class()
function Stack:init() self.items = {} end
function Stack:push(...) for _, v in ipairs({...}) do self.items[#self.items + 1] = v end return self end
function Stack:pop() return table.remove(self.items) end
Stack.__len = function(s) return #s.items end
local st = Stack.new():push(1, 2, 3):push(4)
print("stack:", #st, st:pop(), st:pop(), #st)
-- an event system with __call handlers
local Emitter = class()
function Emitter:init() self.handlers = {} end
function Emitter:on(ev, fn) self.handlers[ev] = self.handlers[ev] or {}; table.insert(self.handlers[ev], fn) end
function Emitter:emit(ev, ...) local n = 0 for _, h in ipairs(self.handlers[ev] or {}) do h(...) n = n + 1 end return n end
local em = Emitter.new()
local received = {}
em:on("data", function(x) received[#received + 1] = "a" .. x end)
em:on("data", setmetatable({}, {__call = function(_, x) received[#received + 1] = "b" .. x end}))
print("emit:", em:emit("data", 1), em:emit("data", 2), em:emit("none"), table.concat(received, " "))
