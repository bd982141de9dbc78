-- Loops whose traces get peeled (a preamble, then a loop that reuses the
-- preamble's work on loop-invariant values): invariant table lookups and
-- pure calls, a loop that writes the table it reads (nothing may be
-- reused), invariants that change between entries of the same loop, and
-- guards that fail in the loop part (a type change midway).

-- invariant lookups through a table the loop only reads; the table changes
-- between entries, which the preamble re-reads each time
local cfg = {scale = 3, offset = 7}
local function weigh(n)
  local s = 0
  for i = 1, n do
    s = s + cfg.scale * i + cfg.offset
  end
  return s
end
local total = 0
for round = 1, 6 do
  total = total + weigh(300)
  cfg.scale = cfg.scale + round
  if round == 4 then cfg.offset = 0.5 end
end
print("lookups", total, cfg.scale, cfg.offset)

-- the loop stores into the table it reads: every read must see the store
local acc = {x = 1, n = 0}
for i = 1, 700 do
  acc.n = acc.n + acc.x
  acc.x = acc.x + i % 3
end
print("stores", acc.x, acc.n)

-- an invariant pure call (math.sqrt of a loop-invariant value) and an
-- invariant global
K = 49
local r = 0
for i = 1, 800 do
  r = r + math.sqrt(K) + i % 5
  if i == 500 then K = 64 end
end
print("sqrt", r, K)

-- an array scanned with an invariant bound read from a field; a float in
-- the middle makes the type guard fail in the loop part, a string later
-- makes the arithmetic guard fail
local data = {len = 900}
for i = 1, data.len do data[i] = i % 11 end
data[450] = 2.5
data[800] = "9"
local sum, count = 0, 0
for i = 1, data.len do
  local v = data[i]
  if type(v) == "number" then
    sum = sum + v * 2
  else
    sum = sum + tonumber(v)
  end
  count = count + 1
end
print("scan", sum, count)

-- nested loops: the inner loop's invariants come from the outer one
local grid = {}
for y = 1, 30 do
  local row = {}
  grid[y] = row
  for x = 1, 40 do row[x] = (x * y) % 7 end
end
local checksum = 0
for y = 1, 30 do
  local row = grid[y]
  local w = y % 4 + 1
  for x = 1, 40 do
    checksum = checksum + row[x] * w
  end
end
print("grid", checksum)
