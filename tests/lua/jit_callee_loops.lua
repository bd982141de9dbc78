-- Loops inside functions called from hot loops: the JIT unrolls them into
-- the caller's trace (up to a limit), specialized on their trip counts.
-- Trip counts that change, breaks, returns from inside the loops, errors
-- raised inside them, and loops too long to unroll.

-- a fixed trip count (as nbody's five bodies)
local bodies = {}
for i = 1, 5 do bodies[i] = {x = i * 1.5, v = i * 0.25} end
local function step(dt)
  for i = 1, #bodies do
    local b = bodies[i]
    for j = i + 1, #bodies do
      local c = bodies[j]
      local d = b.x - c.x
      b.v = b.v - d * dt
      c.v = c.v + d * dt
    end
  end
  for i = 1, #bodies do
    local b = bodies[i]
    b.x = b.x + dt * b.v
  end
end
for _ = 1, 3000 do step(0.001) end
for i = 1, #bodies do
  print(string.format("%d %.9f %.9f", i, bodies[i].x, bodies[i].v))
end

-- a trip count that changes midway: the trace's guard on it fails
local function sum_to(n)
  local s = 0
  for k = 1, n do s = s + k end
  return s
end
local total = 0
for i = 1, 4000 do total = total + sum_to(i < 2500 and 3 or 5) end
print(total)

-- a while loop with a break and a return inside the callee
local function find(t, x)
  local i = 1
  while true do
    if t[i] == nil then break end
    if t[i] == x then return i end
    i = i + 1
  end
  return -1
end
local arr = {4, 8, 15, 16, 23, 42}
local hits = 0
for i = 1, 3000 do
  local r = find(arr, (i % 7 == 0) and 99 or arr[i % 6 + 1])
  hits = hits + r
end
print(hits)

-- a loop too long to unroll: the callee runs in the VM, the caller too
local function long(n)
  local s = 0
  for k = 1, n do s = s + k % 3 end
  return s
end
local acc = 0
for i = 1, 300 do acc = acc + long(100) end
print(acc)

-- an error raised inside a callee's loop, caught outside
local function checked(n)
  local s = 0
  for k = 1, 3 do
    if n == 1700 and k == 2 then error("bad element " .. n) end
    s = s + k * n
  end
  return s
end
local ok_sum, errors = 0, 0
for i = 1, 2500 do
  local ok, v = pcall(checked, i)
  if ok then ok_sum = ok_sum + v else errors = errors + 1; print(v) end
end
print(ok_sum, errors)

-- nested calls, each with a loop
local function inner(n)
  local p = 1
  for k = 1, n do p = p * 2 end
  return p
end
local function outer(n)
  local s = 0
  for k = 1, 2 do s = s + inner(n) end
  return s
end
local z = 0
for i = 1, 3000 do z = z + outer(i % 3) end
print(z)
