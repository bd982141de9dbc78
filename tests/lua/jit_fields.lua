-- Hot loops over the instructions the JIT records with residual helpers:
-- string/table keys (GetField, SetField, GetTable, SetTable), #, mixed
-- arithmetic and comparisons, equality on any type, `break` (Close).
-- Each loop also changes what the trace assumed midway (types,
-- metatables, keys) so that guards fail and the interpreter takes over.

-- fields of a plain table, a key removed midway, then a metatable with
-- __index and __newindex added midway
local obj = {x = 0, y = 1.5, name = "a", flag = true}
local s, cnt = 0, 0
for i = 1, 600 do
  obj.x = obj.x + i
  obj.y = obj.y * 0.5 + i
  if obj.name == "a" then cnt = cnt + 1 end
  if obj.flag then cnt = cnt + 2 end
  if i == 200 then obj.flag = nil end
  if i == 300 then obj.name = "b" end
  if i == 400 then
    setmetatable(obj, {__index = function(_, k) return k .. "!" end,
                       __newindex = function(t, k, v) rawset(t, k, v) end})
  end
  if i > 400 then
    local z = obj.zzz
    if z ~= "zzz!" then cnt = cnt + 1000 end
  end
  s = s + obj.x % 7
end
print("fields", s, cnt, obj.x, obj.y, obj.name, obj.flag)

-- a metatable without __index / __newindex: raw accesses
local Point = {}
Point.__index = nil
local p = setmetatable({px = 1, py = 2}, Point)
local acc = 0
for i = 1, 500 do
  p.px = p.px + 1
  acc = acc + p.px + (p.missing or 0)
  if i == 250 then Point.__index = {missing = 100} end
end
print("rawmeta", acc, p.px)

-- __newindex added to the metatable midway: stores must call it
local log = 0
local q = setmetatable({a = 1}, {})
for i = 1, 500 do
  q.a = i
  q.b = i
  if i == 300 then getmetatable(q).__newindex = function(t, k, v) log = log + 1; rawset(t, k, v) end end
  if i >= 300 then q.b = nil end
end
print("newindex", q.a, q.b, log)

-- string keys in variables, table keys, function keys
local keys = {"alpha", "beta", "gamma", "delta"}
local h = {alpha = 1, beta = 2, gamma = 3, delta = 4}
local tk, tv = {}, {}
local objs = {}
for i = 1, 8 do objs[i] = {} end
for i = 1, 8 do tk[objs[i]] = i end
local fk = {[print] = 1, [tostring] = 2}
local tot = 0
for i = 1, 800 do
  local k = keys[i % 4 + 1]
  h[k] = h[k] + i
  local o = objs[i % 8 + 1]
  tk[o] = tk[o] + 1
  tot = tot + tk[o] + (fk[print] or 0)
  if i == 500 then keys[2] = "epsilon"; h.epsilon = 0.5 end
  if i == 600 then tk[objs[3]] = 0.25 end
end
print("keys", h.alpha, h.beta, h.gamma, h.delta, h.epsilon, tot, tk[objs[3]], tk[objs[4]])

-- new keys inserted into the hash part (with and without room)
local grow = {}
for i = 1, 400 do
  grow["k" .. (i % 50)] = i
  grow[objs[i % 8 + 1]] = i
end
local n = 0
for k, v in pairs(grow) do n = n + v end
print("grow", n)

-- appends (array part within capacity, then beyond), # of tables and strings
local arr = {}
local str = "hello"
local lens = 0
for i = 1, 1000 do
  arr[#arr + 1] = i * 2
  lens = lens + #arr + #str
  if i == 700 then str = "a longer string" end
end
local withlen = setmetatable({1, 2, 3}, {})
local l2 = 0
for i = 1, 400 do
  l2 = l2 + #withlen
  if i == 200 then getmetatable(withlen).__len = function() return 100 end end
end
print("len", #arr, arr[1000], lens, l2)

-- equality: tables by reference, __eq added midway, nil/bool/strings,
-- integers against floats
local ta, tb, tc = {}, {}, {}
local eqs = 0
for i = 1, 600 do
  local x = (i % 3 == 0) and ta or tb
  if x == ta then eqs = eqs + 1 end
  if x ~= tc then eqs = eqs + 10 end
  if i == 400 then
    local mt = {__eq = function() return true end}
    setmetatable(tb, mt); setmetatable(tc, mt)
  end
  local v = (i % 4 == 0) and nil or (i % 4 == 1) and true or (i % 4 == 2) and "s" or 1.0
  if v == nil then eqs = eqs + 100 end
  if v == true then eqs = eqs + 1000 end
  if v == "s" then eqs = eqs + 10000 end
  if v == 1 then eqs = eqs + 100000 end
  if i == (i * 1.0) then eqs = eqs + 1000000 end
  if i + 0.5 == i then eqs = eqs + 1 end
end
print("eq", eqs)

-- string comparisons, then a number compared midway (error caught)
local words = {"apple", "banana", "cherry", "apple", "date", "", "b"}
local lt = 0
for i = 1, 700 do
  local a, b = words[i % 7 + 1], words[(i * 3) % 7 + 1]
  if a < b then lt = lt + 1 end
  if a <= b then lt = lt + 10 end
  if a > "b" then lt = lt + 100 end
end
print("strcmp", lt)
local ok, err = pcall(function()
  local c = 0
  for i = 1, 500 do
    local a = (i < 400) and "x" or 3
    if a < "y" then c = c + 1 end
  end
  return c
end)
print("strcmp-error", ok, err)

-- mixed integer/float modulo and floor division, and 16-bit xor by
-- arithmetic (floats after the first division)
local function xor16(a, b)
  local r, bit = 0, 1
  for _ = 1, 16 do
    local x, y = a % 2, b % 2
    if x ~= y then r = r + bit end
    a = (a - x) / 2; b = (b - y) / 2
    bit = bit * 2
  end
  return r
end
local xs = 0
for i = 1, 300 do xs = xs + xor16(i * 37, i * 11) end
local m = 0.0
for i = 1, 500 do
  m = m + i % 2.5 + 7.5 % i + i // 1.5 + 10.0 // i + (i * 0.5) % 3 + (-i) // 4.0
end
print("mixed", xs, m, 5 % -2.0, -5 // 0.0, 5 % math.huge)

-- break out of loops (Close with nothing to close), and with a closure
-- capturing a loop local (Close must close it)
local found = 0
for i = 1, 300 do
  for j = 1, 100 do
    if j * i > 150 then found = found + j; break end
  end
end
local fns = {}
for i = 1, 300 do
  local captured = i
  for j = 1, 10 do
    if j == 3 then fns[#fns + 1] = function() return captured + j end; break end
  end
end
local fsum = 0
for i = 1, #fns do fsum = fsum + fns[i]() end
print("break", found, fsum)
