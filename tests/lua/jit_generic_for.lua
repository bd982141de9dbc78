-- Generic `for` loops in hot code: ipairs and pairs (next) over tables are
-- compiled; keys and values change type; tables change while traversed;
-- custom iterators and metatables are left to the interpreter.

local t = {}
for i = 1, 400 do t[i] = i * 3 end
local s = 0
for k = 1, 30 do
  for i, v in ipairs(t) do s = s + i * v end
end
print(s)

-- ipairs stops at the first nil; a hole appears midway
local holes = 0
for k = 1, 50 do
  if k == 25 then t[200] = nil end
  for i, v in ipairs(t) do holes = holes + 1 end
end
print(holes)

-- pairs over a hash part: string keys, then a mix of key and value types
local h = {}
for i = 1, 250 do h["key" .. i] = i end
local total, chars = 0, 0
for k = 1, 12 do
  for key, v in pairs(h) do total = total + v chars = chars + #key end
end
print(total, chars)

local mixed = {10, 20, 30, x = 1.5, y = "s", [7] = true, [2.5] = false}
local seen = {}
for k = 1, 300 do
  local n = 0
  for key, v in pairs(mixed) do
    n = n + 1
    seen[type(key) .. ":" .. type(v)] = (seen[type(key) .. ":" .. type(v)] or 0) + 1
  end
  if n ~= 7 then print("bad count", n) end
end
local names = {}
for name in pairs(seen) do names[#names + 1] = name end
table.sort(names)
for _, name in ipairs(names) do print(name, seen[name]) end

-- assigning existing fields while traversing is allowed
local w = {a = 1, b = 2, c = 3, d = 4}
for k = 1, 200 do
  for key, v in pairs(w) do w[key] = v + 1 end
end
print(w.a + w.b + w.c + w.d)

-- only the key: one loop variable
local cnt = 0
for k = 1, 300 do for key in pairs(w) do cnt = cnt + 1 end end
print(cnt)

-- a custom iterator (a Lua function) and an ipairs over a proxy
local function range(n)
  return function(_, i) if i < n then return i + 1 end end, nil, 0
end
local r = 0
for k = 1, 100 do for i in range(10) do r = r + i end end
print(r)
local proxy = setmetatable({}, {__index = function(_, i) if i <= 5 then return i * i end end})
local q = 0
for k = 1, 200 do for i, v in ipairs(proxy) do q = q + v end end
print(q)

-- next with a key that is not in the table raises
print(pcall(function()
  local z = {1, 2, 3}
  local n = 0
  for k = 1, 300 do
    for key, v in next, z, (k == 250 and "nope" or nil) do n = n + v end
  end
  return n
end))
