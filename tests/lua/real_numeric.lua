-- Loop-heavy numeric program with data-dependent branches (exercises JIT side exits)
-- 1. Collatz lengths with branchy inner loop
local best, bestn = 0, 0
local total = 0
for n = 1, 30000 do
  local x, steps = n, 0
  while x ~= 1 do
    if x % 2 == 0 then x = x // 2 else x = 3 * x + 1 end
    steps = steps + 1
  end
  total = total + steps
  if steps > best then best, bestn = steps, n end
end
print("collatz:", bestn, best, total)
-- 2. integer/float mixing: type changes mid-loop
local acc = 0
for i = 1, 100000 do
  if i % 1000 == 0 then acc = acc + 0.5 elseif i % 3 == 0 then acc = acc + i else acc = acc - 1 end
end
print("mixed accumulator:", acc, math.type(acc))
local ia = 0
for i = 1, 50000 do
  ia = ia + i * i
  if i == 40000 then ia = ia / 2 end
end
print("int turns float:", ia, math.type(ia))
-- 3. integer overflow inside a hot loop
local h = 7
for i = 1, 200000 do h = h * 31 + i end
print("wrapping hash:", h)
-- 4. primes by trial division with early exits
local count, last = 0, 0
for n = 2, 60000 do
  local prime = true
  if n > 2 and n % 2 == 0 then prime = false
  else
    local d = 3
    while d * d <= n do
      if n % d == 0 then prime = false; break end
      d = d + 2
    end
  end
  if prime then count = count + 1; last = n end
end
print("primes below 60000:", count, last)
-- 5. float loop: numerical integration and series
local sum = 0.0
local steps = 200000
local dx = 1 / steps
for i = 0, steps - 1 do
  local x = (i + 0.5) * dx
  sum = sum + 4 / (1 + x * x)
end
print("pi by integration:", string.format("%.12f", sum * dx))
local leibniz = 0
for k = 0, 100000 do
  if k % 2 == 0 then leibniz = leibniz + 1 / (2 * k + 1) else leibniz = leibniz - 1 / (2 * k + 1) end
end
print("pi by leibniz:", string.format("%.10f", 4 * leibniz))
-- 6. nested loops with polymorphic values in a table
local vals = {1, 2.5, "3", 4, 5.0, "6.5"}
local s = 0
for rep = 1, 5000 do
  for i = 1, #vals do
    local v = vals[i]
    if type(v) == "string" then s = s + tonumber(v) elseif math.type(v) == "float" then s = s + v * 2 else s = s + v end
  end
end
print("polymorphic sum:", s)
-- 7. matrix multiplication
local N = 40
local A, B = {}, {}
for i = 1, N do
  A[i], B[i] = {}, {}
  for j = 1, N do A[i][j] = (i * j) % 7 - 3; B[i][j] = (i + j) % 5 - 2 end
end
local C = {}
for i = 1, N do
  local Ci, Ai = {}, A[i]
  for j = 1, N do
    local v = 0
    for k = 1, N do v = v + Ai[k] * B[k][j] end
    Ci[j] = v
  end
  C[i] = Ci
end
local trace, csum = 0, 0
for i = 1, N do trace = trace + C[i][i]; for j = 1, N do csum = csum + C[i][j] * ((i + j) % 3) end end
print("matmul:", trace, csum)
-- 8. a loop whose branch pattern changes halfway (trace invalidation)
local flips = 0
local state = 0
for i = 1, 100000 do
  if i < 50000 then
    if i % 7 == 0 then state = state + 1 end
  else
    if i % 5 == 0 then state = state - 2 else flips = flips + 1 end
  end
end
print("phase change:", state, flips)
-- 9. bitwise PRNG in a loop with rejection sampling
local seed = 12345
local function rnd()
  seed = seed ~ (seed << 13); seed = seed ~ (seed >> 7); seed = seed ~ (seed << 17)
  return seed
end
local hits, tries = 0, 0
while hits < 20000 do
  tries = tries + 1
  local v = rnd() & 0xFFFF
  if v < 40000 then hits = hits + 1 end
end
print("rejection sampling:", hits, tries)
-- 10. gcd and lcm via while loops
local function gcd(a, b) while b ~= 0 do a, b = b, a % b end return a end
local g = 0
local l = 1
for i = 1, 25 do l = l * i // gcd(l, i) end
for i = 1, 2000 do g = g + gcd(i * 7919, 104729 + i) end
print("gcd/lcm:", g, l)
