-- N-queens: count all solutions by backtracking with occupancy tables.
-- Usage: queens.lua [N]   (boards of size 1..N are solved)
local n = tonumber(arg and arg[1]) or 12
local function solve(size)
  local cols, diag1, diag2 = {}, {}, {}
  for i = 1, size do cols[i] = false end
  for i = 1, 2 * size do diag1[i] = false; diag2[i] = false end
  local count = 0
  local function place(row)
    if row > size then count = count + 1; return end
    for c = 1, size do
      local d1, d2 = row + c, row - c + size
      if not cols[c] and not diag1[d1] and not diag2[d2] then
        cols[c], diag1[d1], diag2[d2] = true, true, true
        place(row + 1)
        cols[c], diag1[d1], diag2[d2] = false, false, false
      end
    end
  end
  place(1)
  return count
end
local total = 0
local parts = {}
for size = 1, n do
  local c = solve(size)
  total = total + c
  parts[#parts + 1] = string.format("%d", c)
end
print(string.format("queens 1..%d: %s (total %d)", n, table.concat(parts, " "), total))
