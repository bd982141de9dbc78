-- table.sort: default order, comparators, strings, errors
local function cat(t) local r = {} for i, v in ipairs(t) do r[i] = tostring(v) end return table.concat(r, " ") end
local t = {5, 2, 8, 1, 9, 3, 7, 4, 6, 0}
table.sort(t)
print("ints:", cat(t))
table.sort(t, function(a, b) return a > b end)
print("desc:", cat(t))
local f = {3.5, -1, 2, 2.25, -7.5, 0, 1e10, -1e-3}
table.sort(f)
print("mixed numbers:", cat(f))
local s = {"pear", "apple", "fig", "banana", "Apple", "cherry", "", "apple pie"}
table.sort(s)
print("strings:", cat(s))
table.sort(s, function(a, b) return #a < #b or (#a == #b and a < b) end)
print("by length:", cat(s))
local recs = {{name = "bob", age = 30}, {name = "al", age = 25}, {name = "cy", age = 30}, {name = "di", age = 22}}
table.sort(recs, function(a, b) if a.age ~= b.age then return a.age < b.age end return a.name < b.name end)
local out = {}
for i, r in ipairs(recs) do out[i] = r.name .. ":" .. r.age end
print("records:", table.concat(out, " "))
-- larger deterministic data (LCG)
local seed = 12345
local function lcg() seed = (seed * 1103515245 + 12345) % 2147483648; return seed end
local big = {}
for i = 1, 2000 do big[i] = lcg() % 1000 end
table.sort(big)
local ok = true
for i = 2, #big do if big[i - 1] > big[i] then ok = false end end
print("big sorted:", ok, big[1], big[1000], big[2000])
local sum = 0
for i = 1, #big do sum = sum + big[i] * i end
print("weighted checksum:", sum)
local strs = {}
for i = 1, 500 do strs[i] = string.format("k%05d", lcg() % 100000) end
table.sort(strs, function(a, b) return a > b end)
print("strs desc first/last:", strs[1] >= strs[2], strs[499] >= strs[500])
-- already sorted, reverse sorted, all equal
local asc, desc, eq = {}, {}, {}
for i = 1, 300 do asc[i] = i; desc[i] = 301 - i; eq[i] = 7 end
table.sort(asc); table.sort(desc); table.sort(eq)
print("presorted:", asc[1], asc[300], desc[1], desc[300], eq[1], eq[300])
print("empty and single:", cat((function() local e = {} table.sort(e) return e end)()), cat((function() local e = {42} table.sort(e) return e end)()))
-- comparator with metamethod __lt
local mt = {__lt = function(a, b) return a.v < b.v end}
local objs = {}
for i, v in ipairs({4, 1, 3, 2}) do objs[i] = setmetatable({v = v}, mt) end
table.sort(objs)
out = {}
for i, o in ipairs(objs) do out[i] = o.v end
print("__lt sort:", table.concat(out, " "))
-- errors
print("mixed types:", pcall(table.sort, {1, "x", 2}))
print("bad comparator arg:", pcall(table.sort, {3, 2, 1}, 42))
local bad = {}
for i = 1, 100 do bad[i] = (i * 37) % 101 end
print("invalid order function:", pcall(table.sort, bad, function(a, b) return true end))
local bad2 = {}
for i = 1, 50 do bad2[i] = i % 5 end
print("invalid order (<=):", pcall(table.sort, bad2, function(a, b) return a <= b end))
print("error inside comparator:", pcall(table.sort, {1, 2, 3}, function(a, b) error("cmp failed") end))
print("sort non-table:", pcall(table.sort, "abc"))
