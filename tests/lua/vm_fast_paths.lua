-- Interpreter fast paths against the general semantics: metatables without
-- __newindex, __index chains of tables, cached metamethod absence after the
-- metatable changes, float/int modulo and floor division, constructor borders,
-- integer keys in the hash part.

-- stores through a metatable that has no __newindex are raw
local log = {}
local mt = {__newindex = function(t, k, v) log[#log + 1] = tostring(k); rawset(t, k, v) end}
local o = setmetatable({x = 1}, mt)
o.x = 2; o.y = 3; o.y = 4; o[1] = 5; o[1] = 6; o[2.0] = 7
print("newindex", o.x, o.y, o[1], o[2], table.concat(log, ","))
local plain = setmetatable({}, {__index = {a = 1}})
plain.a = 10; plain[1] = 1; plain[1] = 2
print("raw through metatable", plain.a, rawget(plain, "a"), plain[1])

-- __index chains of tables (class hierarchies), and chains ending in a function
local A = {foo = function() return "A.foo" end, shared = "A"}; A.__index = A
local B = setmetatable({bar = "B.bar"}, A); B.__index = B
local C = setmetatable({shared = "C"}, B); C.__index = C
local obj = setmetatable({}, C)
print("chain", obj.foo(), obj.bar, obj.shared, obj.missing)
local F = setmetatable({}, {__index = function(_, k) return k .. "!" end}); F.__index = F
local g = setmetatable({}, F)
print("chain to function", g.hello, g.world)
local Self = {}; Self.__index = Self; setmetatable(Self, Self)
print("loop", pcall(function() return setmetatable({}, Self).nope end))

-- the metatable changes after a lookup cached "no such metamethod"
local M = {}; M.__index = M
local h = setmetatable({}, M)
print("before", h.z); M.z = 7; print("after", h.z)
h.q = 1
M.__newindex = function(t, k, v) rawset(t, k, v * 10) end
h.q = 2; h.r = 3
print("newindex added", h.q, h.r)
local arr = setmetatable({1, 2, 3}, {__newindex = function() error("no", 0) end})
arr[2] = 20
print("array with __newindex", arr[2], pcall(function() arr[4] = 1 end))

-- modulo and floor division, integer/float mixes
for _, p in ipairs({{-4.0, 2}, {4.0, -2}, {5.5, 2}, {-5.5, 2}, {7, 3.0}, {-7, 3.0},
    {7.0, -3}, {1, math.huge}, {-1, math.huge}, {1, -math.huge}, {-0.0, 2},
    {2^60, 3.0}, {2^53 + 2, 3.0}}) do
  local a, b = p[1], p[2]
  print("mod", a, b, a % b, a // b)
end

-- constructors: borders with nil items
local function three() return 1, nil, 3 end
local function nils() return nil, nil end
local t1 = {three()}
local t2 = {1, 2, nil}
local t3 = {nils()}
local t4 = {nil, nil, 3}
local t5 = {1, 2, 3, three()}
local t6 = {n = 1, 5, 6}
print("borders", #t1, #t2, #t3, #t4, #t5, #t6, t5[4], t5[6], next(t3))

-- integer keys in the hash part
local hk = {}
for i = -3, 3 do hk[i] = i * i end
hk[0] = "zero"; hk[-3] = nil
local s = 0
for k, v in pairs(hk) do if type(v) == "number" then s = s + k * v end end
print("hash ints", hk[0], hk[-1], hk[-3], hk[3], #hk, s)
local from2 = {}
for i = 2, 100 do from2[i] = false end
from2[1] = true
local cnt = 0
for _, v in ipairs(from2) do if v == false then cnt = cnt + 1 end end
print("array from 2", #from2, cnt)
