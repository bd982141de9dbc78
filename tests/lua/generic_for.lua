-- Generic for: ipairs, pairs (sorted), next, custom iterators, closing values
local t = {10, 20, 30, nil, 50}
local r = {}
for i, v in ipairs(t) do r[#r + 1] = i .. "=" .. v end
print("ipairs stops at nil:", table.concat(r, " "))
local h = {x = 1, y = 2, z = 3, [1] = "one", [2] = "two", [1.5] = "f"}
local keys = {}
for k in pairs(h) do keys[#keys + 1] = tostring(k) end
table.sort(keys)
print("pairs keys sorted:", table.concat(keys, " "))
local count = 0
for k, v in next, h do count = count + 1 end
print("next as iterator count:", count)
print("next empty:", next({}))
print("next on array:", next({"a"}))
print("pairs returns next:", pairs({}) == next)
-- stateful iterator via closure
local function range(n, step)
  local i = 0
  return function()
    i = i + (step or 1)
    if i <= n then return i end
  end
end
r = {}
for v in range(10, 3) do r[#r + 1] = v end
print("closure iterator:", table.concat(r, ","))
-- stateless iterator with explicit state and control
local function iter(state, ctrl)
  if ctrl < state then return ctrl + 1, (ctrl + 1) ^ 2 end
end
r = {}
for i, sq in iter, 4, 0 do r[#r + 1] = i .. ":" .. sq end
print("stateless iterator:", table.concat(r, " "))
-- ipairs respects __index
local proxy = setmetatable({}, {__index = function(_, i) if i <= 3 then return i * 100 end end})
r = {}
for i, v in ipairs(proxy) do r[#r + 1] = v end
print("ipairs __index:", table.concat(r, ","))
-- __pairs metamethod
local mp = setmetatable({}, {__pairs = function(tbl)
  local i = 0
  return function() i = i + 1; if i <= 2 then return "k" .. i, i end end, tbl, nil
end})
r = {}
for k, v in pairs(mp) do r[#r + 1] = k .. "=" .. v end
print("__pairs:", table.concat(r, " "))
-- multiple vars, extra vars are nil
for a, b, c in function(_, c) if not c then return 1, 2 end end do
  print("extra var nil:", a, b, c)
end
-- fresh per-iteration variables
local fs = {}
for k, v in ipairs({"a", "b", "c"}) do fs[k] = function() return k .. v end end
print("fresh iteration vars:", fs[1](), fs[2](), fs[3]())
-- modifying existing fields during traversal is allowed
local m = {a = 1, b = 2, c = 3}
for k in pairs(m) do m[k] = m[k] * 2 end
print("modify during pairs:", m.a, m.b, m.c)
-- clearing fields during traversal
for k in pairs(m) do m[k] = nil end
print("cleared:", next(m))
-- iterating a string with gmatch in generic for
r = {}
for w in ("one two three"):gmatch("%a+") do r[#r + 1] = w:upper() end
print("gmatch for:", table.concat(r, "|"))
-- to-be-closed 4th value
do
  local log = {}
  local closer = setmetatable({}, {__close = function() log[#log + 1] = "closed" end})
  for i in function(_, c) c = (c or 0) + 1; if c <= 2 then return c end end, nil, nil, closer do
    log[#log + 1] = "it" .. i
  end
  print("for closing value:", table.concat(log, ","))
end
print("call non-function:", pcall(function() for x in 42 do end end))
print("next invalid key:", pcall(next, {}, "nokey"))
