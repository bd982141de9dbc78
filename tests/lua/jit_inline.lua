-- Calls of Lua functions inside hot loops: the JIT records them inline.
-- Guards fail inside the callees (after their stores), errors are raised
-- from frames the JIT rebuilt, and some callees cannot be followed.

-- a small arithmetic function (as spectral-norm's)
local function a(i, j)
  local s = i + j
  return 1.0 / (s * (s + 1) * 0.5 + i + 1)
end
local sum = 0.0
for i = 1, 2000 do sum = sum + a(i, i % 13) end
print(string.format("%.12f", sum))

-- stores, then a branch that flips midway
local t = {0, 0, 0}
local function acc(x)
  t[1] = t[1] + x
  if x > 700 then
    t[2] = t[2] + 1
    return 1
  end
  t[3] = t[3] + 2
  return 0
end
local n = 0
for i = 1, 1500 do n = n + acc(i) end
print(n, t[1], t[2], t[3])

-- two levels deep, missing arguments, several results, nil results
local function pair(p, q) return p, q end
local function wrap(x)
  local u, v = pair(x)
  local w, z = pair(x, x * 2)
  if v ~= nil then return -1 end
  return u + w + z
end
local s = 0
for i = 1, 1000 do s = s + wrap(i) end
print(s)

-- closures of one prototype with different upvalues
local function adder(k) return function(x) return x + k end end
local fs = {adder(1), adder(10), adder(100)}
local total = 0
for i = 1, 3000 do total = total + fs[i % 3 + 1](i) end
print(total)

-- an error raised inside an inlined call, after its stores
local log = {}
local function check(x)
  log[#log + 1] = x
  if x == 1234 then error("bad value " .. x) end
  return x
end
local function run()
  local r = 0
  for i = 1, 2000 do r = r + check(i) end
  return r
end
print(pcall(run))
print(#log, log[#log])

-- recursion (nested too deep to follow), a variadic callee, a native call
local function depth(k) if k == 0 then return 0 end return 1 + depth(k - 1) end
local function first(...) local x = ... return x end
local m = 0
for i = 1, 1000 do m = m + depth(i % 7) + first(i) + #tostring(i) end
print(m)

-- a callee with a loop of its own
local function tri(k) local r = 0 for j = 1, k do r = r + j end return r end
local q = 0
for i = 1, 600 do q = q + tri(i % 20) end
print(q)

-- methods
local Point = {}
Point.__index = Point
function Point.new(x, y) return setmetatable({x = x, y = y}, Point) end
function Point:norm1() return math.abs(self.x) + math.abs(self.y) end
function Point:move(dx) self.x = self.x + dx return self end
local p = Point.new(3, -4)
local d = 0
for i = 1, 1500 do d = d + p:move(1):norm1() end
print(d, p.x, p.y)
