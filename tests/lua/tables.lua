-- Tables: constructors, array/hash parts, # border, integer keys, nested
local t = {1, 2, 3, x = "x", ["y z"] = "yz", [10] = 10, [-1] = "neg", [0] = "zero"}
print("constructor:", t[1], t[3], t.x, t["y z"], t[10], t[-1], t[0], #t)
print("trailing separators:", #{1, 2, 3,}, #{1; 2; 3;}, #{})
print("len sequence:", #{1, 2, 3, 4, 5})
local a = {}
for i = 1, 100 do a[i] = i end
print("len after fill:", #a)
a[#a] = nil
print("len after pop:", #a)
for i = 1, 50 do a[#a] = nil end
print("len after 50 pops:", #a)
a[#a + 1] = "pushed"
print("len after push:", #a, a[#a])
local b = {}
b[1] = 1; b[2] = 2; b[3] = 3
print("incremental:", #b)
local h = {}
for i = 100, 1, -1 do h[i] = i end
print("reverse fill len:", #h)
local s = {n = 1}
print("no array part:", #s)
local mixed = {[1] = "a", [2] = "b", [3] = "c"}
print("explicit keys len:", #mixed)
-- float keys normalize
local f = {}
f[1] = "int"; f[1.0] = "float"
f[2^53] = "big"
print("float key normalization:", f[1], #f, f[2^53])
f[1.5] = "half"
print("non-integral float key:", f[1.5], f[1])
-- keys of various types
local key_t, key_f = {}, function() end
local k = {[true] = "T", [false] = "F", [key_t] = "table", [key_f] = "fn", ["1"] = "str1", [1] = "int1"}
print("key types:", k[true], k[false], k[key_t], k[key_f], k["1"], k[1])
-- nested tables and references
local m = {{1, 2}, {3, 4}}
local alias = m[1]
alias[1] = 100
print("shared reference:", m[1][1])
-- 2D grid
local grid = {}
for i = 1, 5 do grid[i] = {} for j = 1, 5 do grid[i][j] = i * j end end
local diag = 0
for i = 1, 5 do diag = diag + grid[i][i] end
print("grid diag:", diag, grid[3][4])
-- rawlen / rawequal / rawget / rawset
print("rawlen:", rawlen({1, 2, 3}), rawlen("abcd"))
print("rawlen err:", pcall(rawlen, 5))
print("rawequal:", rawequal(t, t), rawequal(t, {}), rawequal(1, 1.0), rawequal("a", "a"))
local r = {}
rawset(r, "k", "v")
print("rawset/rawget:", rawget(r, "k"), rawget(r, "missing"), rawset(r, 1, 2) == r)
print("rawset nil key:", pcall(rawset, {}, nil, 1))
-- next over array and hash, count entries
local cnt = 0
for _ in pairs(t) do cnt = cnt + 1 end
print("entry count:", cnt)
-- large tables, growth and shrink
local big = {}
for i = 1, 100000 do big[i] = i * 2 end
print("big len:", #big, big[100000])
local hbig = {}
for i = 1, 20000 do hbig["k" .. i] = i end
local hsum = 0
for _, v in pairs(hbig) do hsum = hsum + v end
print("hash sum:", hsum)
for i = 1, 20000, 2 do hbig["k" .. i] = nil end
local left = 0
for _ in pairs(hbig) do left = left + 1 end
print("after deletes:", left, hbig.k2, hbig.k1)
-- table as set
local set = {}
for _, w in ipairs({"a", "b", "a", "c", "b"}) do set[w] = true end
local members = {}
for w in pairs(set) do members[#members + 1] = w end
table.sort(members)
print("set:", table.concat(members, ","))
-- sparse array border: exactly one border when only one exists
local sp = {}
sp[1] = 1; sp[2] = 2; sp[4] = 4
print("sparse get:", sp[3], sp[4])
-- index non-table errors
print("index number:", pcall(function() local n = 1; return n.x end))
print("index nil field:", pcall(function() return t.nothing.deeper end))
print("newindex nil:", pcall(function() local q; q.x = 1 end))
print("index boolean upvalue:", pcall(function() return key_t.a.b end))
print("length of number:", pcall(function() local n = 3; return #n end))
print("length of nil global:", pcall(function() return #undefined_global end))
