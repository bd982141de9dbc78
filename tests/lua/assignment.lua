-- local / multiple assignment / evaluation order / swap
local a, b, c = 1, 2
print("locals:", a, b, c)
a, b = b, a
print("swap:", a, b)
local t = {1, 2, 3}
local i = 1
i, t[i] = i + 1, 20
print("index evaluated before assignment:", i, t[1], t[2])
local x, y, z = (function() return 1, 2, 3 end)()
print("multi from call:", x, y, z)
x, y, z = 0
print("fill nil:", x, y, z)
local u = {}
u.a, u.b, u.c = 1, 2, 3, 4
print("fields:", u.a, u.b, u.c)
-- globals
g1, g2 = "G1", "G2"
print("globals:", g1, g2)
g1 = nil
print("global cleared:", g1, rawget(_G, "g1"))
-- local shadowing in same scope
local s = 1
local s = s + 1
print("redeclare:", s)
-- attribs
local k <const> = 10
print("const local:", k * 2)
do
  local order = {}
  do
    local a1 <close> = setmetatable({}, {__close = function() order[#order + 1] = "a1" end})
    local a2 <close> = setmetatable({}, {__close = function(_, e) order[#order + 1] = "a2:" .. tostring(e) end})
    local nothing <close> = nil
    order[#order + 1] = "body"
  end
  print("close order:", table.concat(order, ","))
end
print("const assign error:", load("local c <const> = 1; c = 2"))
print("bad attrib:", load("local c <foo> = 1"))
-- nested table assignment chain
local n = {a = {b = {c = {}}}}
n.a.b.c.d = "deep"
print("deep assign:", n.a.b.c.d, n["a"]["b"]["c"]["d"])
-- assignment with function calls on both sides, order of calls
local log = {}
local function L(v) log[#log + 1] = tostring(v); return v end
local tgt = {}
tgt[L("k1")], tgt[L("k2")] = L(1), L(2)
print("call order:", table.concat(log, " "), tgt.k1, tgt.k2)
-- integer keys normalization
local m = {}
m[1.0] = "float one"; m[2] = "two"; m[2^53] = "big"
print("normalized keys:", m[1], m[2.0], m[2^53 // 1], math.type(next({[3.0] = true})))
-- assignment to nil/NaN keys
print("nil key:", pcall(function() local q = {}; q[nil] = 1 end))
print("nan key:", pcall(function() local q = {}; q[0/0] = 1 end))
print("read nil key:", ({})[nil])
-- compound-ish operations
local cnt = 0
for _ = 1, 10 do cnt = cnt + 1 end
local str = ""
for ch = 65, 70 do str = str .. string.char(ch) end
print("accumulate:", cnt, str)
