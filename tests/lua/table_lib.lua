-- table.insert / remove / concat / move / pack / unpack
local function dump(t, n) local r = {} for i = 1, (n or #t) do r[i] = tostring(t[i]) end return "{" .. table.concat(r, ",") .. "}" end
local t = {}
table.insert(t, "a"); table.insert(t, "b"); table.insert(t, 1, "z"); table.insert(t, 2, "y"); table.insert(t, #t + 1, "end")
print("insert:", dump(t))
print("insert pos err:", pcall(table.insert, t, 10, "x"))
print("insert pos 0 err:", pcall(table.insert, t, 0, "x"))
print("insert arg count err:", pcall(table.insert, t, 1, 2, 3))
print("insert non-table:", pcall(table.insert, nil, 1))
print("remove last:", table.remove(t), dump(t))
print("remove first:", table.remove(t, 1), dump(t))
print("remove middle:", table.remove(t, 2), dump(t))
print("remove #t+1:", table.remove(t, #t + 1), dump(t))
print("remove empty:", table.remove({}), select('#', table.remove({})))
print("remove empty pos 0:", table.remove({}, 0))
print("remove out of range:", pcall(table.remove, {1, 2}, 5))
print("remove pos 0 nonempty:", pcall(table.remove, {1}, 0))
print("concat:", table.concat({1, 2, 3}), table.concat({1, 2, 3}, ", "), table.concat({"a", "b", "c"}, "-", 2), table.concat({"a", "b", "c"}, "-", 2, 3))
print("concat empty:", "[" .. table.concat({}) .. "]", "[" .. table.concat({1, 2}, ",", 3) .. "]")
print("concat numbers:", table.concat({1, 2.5, 3.0, -0.0}, " "))
print("concat invalid value:", pcall(table.concat, {1, {}, 3}))
print("concat nil hole:", pcall(table.concat, {1, nil, 3}, ",", 1, 3))
print("concat bool:", pcall(table.concat, {true}))
local src = {1, 2, 3, 4, 5}
print("move right:", dump(table.move(src, 1, 3, 3), 5))
src = {1, 2, 3, 4, 5}
print("move left:", dump(table.move(src, 2, 5, 1), 5))
local dst = table.move({1, 2, 3}, 1, 3, 2, {"x"})
print("move to other:", dump(dst, 4))
print("move empty range:", dump(table.move({1, 2}, 3, 2, 1), 2))
print("move returns dest:", table.move({}, 1, 0, 1, dst) == dst)
local p = table.pack(1, nil, 3)
print("pack:", p.n, p[1], p[2], p[3])
print("unpack:", table.unpack({1, 2, 3}, 2), table.unpack({1, 2, 3}, -1, 1))
-- stack and queue with insert/remove
local stack = {}
for i = 1, 5 do table.insert(stack, i * i) end
local popped = {}
while #stack > 0 do popped[#popped + 1] = table.remove(stack) end
print("stack order:", table.concat(popped, " "))
local queue = {}
for i = 1, 5 do table.insert(queue, i) end
local deq = {}
while #queue > 0 do deq[#deq + 1] = table.remove(queue, 1) end
print("queue order:", table.concat(deq, " "))
-- insert/remove honour metamethods (__index/__newindex/__len)
local log = {}
local proxy = setmetatable({}, {
  __len = function() return 2 end,
  __index = function(_, k) return "v" .. k end,
  __newindex = function(tt, k, v) log[#log + 1] = k .. "=" .. tostring(v); rawset(tt, k, v) end,
})
table.insert(proxy, "new")
print("insert with metamethods:", table.concat(log, " "))
print("concat with __index:", table.concat(setmetatable({}, {__len = function() return 3 end, __index = function(_, i) return i * 10 end}), ","))
print("unpack with __index:", table.unpack(setmetatable({}, {__index = function(_, i) return i end}), 1, 3))
print("length via __len in concat:", #setmetatable({}, {__len = function() return 42 end}))
