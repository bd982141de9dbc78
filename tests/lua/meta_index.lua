-- Metatables: setmetatable/getmetatable, __index, __newindex, __metatable, rawget/rawset
local base = {greet = function(self) return "hi from " .. self.name end, kind = "base"}
local obj = setmetatable({name = "obj"}, {__index = base})
print("__index table:", obj.kind, obj:greet(), rawget(obj, "kind"))
print("setmetatable returns table:", setmetatable(obj, getmetatable(obj)) == obj)
-- chain of __index tables
local a = {x = "from a"}
local b = setmetatable({y = "from b"}, {__index = a})
local c = setmetatable({z = "from c"}, {__index = b})
print("__index chain:", c.x, c.y, c.z, c.w)
-- __index function
local calls = 0
local lazy = setmetatable({}, {__index = function(t, k) calls = calls + 1; local v = k .. "!" ; rawset(t, k, v); return v end})
print("__index function:", lazy.foo, lazy.foo, lazy.bar, calls)
local defaults = setmetatable({}, {__index = function(_, k) return k * 2 end})
print("__index numeric keys:", defaults[21], defaults[1.5])
-- __newindex table
local store = {}
local proxy = setmetatable({}, {__newindex = store})
proxy.a = 1
print("__newindex table:", rawget(proxy, "a"), store.a)
-- __newindex function + existing key bypasses
local log = {}
local watched = setmetatable({existing = 1}, {__newindex = function(t, k, v) log[#log + 1] = k .. "=" .. tostring(v); rawset(t, k, v) end})
watched.new = 2
watched.existing = 3
watched.new = 4
print("__newindex function:", table.concat(log, " "), watched.existing, watched.new)
-- read-only table
local function readonly(t)
  return setmetatable({}, {__index = t, __newindex = function(_, k) error("attempt to modify read-only field " .. tostring(k), 2) end, __len = function() return #t end})
end
local ro = readonly({1, 2, 3})
print("readonly read:", ro[2], #ro)
print("readonly write:", pcall(function() ro[1] = 5 end))
-- __metatable protection
local prot = setmetatable({}, {__metatable = "locked"})
print("__metatable get:", getmetatable(prot))
print("__metatable set:", pcall(setmetatable, prot, {}))
print("getmetatable of string:", getmetatable("abc").__index == string)
print("getmetatable nil:", getmetatable(1), getmetatable(nil), getmetatable({}))
print("setmetatable nil removes:", getmetatable(setmetatable(setmetatable({}, {}), nil)))
print("setmetatable bad arg:", pcall(setmetatable, {}, 5))
print("setmetatable no arg2:", pcall(setmetatable, {}))
-- rawget/rawset bypass
local mt = {__index = function() return "meta" end, __newindex = function() error("no") end}
local r = setmetatable({}, mt)
rawset(r, "k", "raw")
print("raw bypass:", r.k, r.other, rawget(r, "other"))
-- __index on missing method with colon call
local cls = setmetatable({}, {__index = function(_, name) return function(self, ...) return name .. "(" .. select('#', ...) .. ")" end end})
print("dynamic methods:", cls:anything(1, 2), cls:other())
-- inheritance depth and shadowing
local A = {}; A.__index = A
function A.new(v) return setmetatable({v = v}, A) end
function A:get() return self.v end
function A:describe() return "A(" .. self:get() .. ")" end
local B = setmetatable({}, {__index = A}); B.__index = B
function B.new(v) return setmetatable(A.new(v), B) end
function B:get() return self.v * 10 end
print("override:", A.new(2):describe(), B.new(2):describe())
-- __index loop detection
local loop1 = {}
local loop2 = setmetatable({}, {__index = loop1})
setmetatable(loop1, {__index = loop2})
print("__index loop:", pcall(function() return loop1.x end))
-- __index on non-table values through debug-free means: strings
print("string __index:", ("abc").len == string.len, ("abc"):len())
-- __newindex chain to table with its own __newindex
local final = {}
local mid = setmetatable({}, {__newindex = final})
local top = setmetatable({}, {__newindex = mid})
top.q = 9
print("__newindex chain:", rawget(top, "q"), rawget(mid, "q"), final.q)
