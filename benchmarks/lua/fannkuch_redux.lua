-- Fannkuch-redux: pancake flips over all permutations of 1..N.  Usage: fannkuch_redux.lua [N]
local n = tonumber(arg and arg[1]) or 9
local function fannkuch(len)
  local perm, current, count = {}, {}, {}
  for i = 0, len - 1 do current[i] = i end
  local maxFlips, checksum, index = 0, 0, 0
  local r = len
  while true do
    while r > 1 do count[r - 1] = r; r = r - 1 end
    -- count the flips of this permutation
    local first = current[0]
    if first ~= 0 then
      for i = 0, len - 1 do perm[i] = current[i] end
      local flips = 0
      local k = first
      repeat
        local lo, hi = 0, k
        while lo < hi do
          perm[lo], perm[hi] = perm[hi], perm[lo]
          lo = lo + 1; hi = hi - 1
        end
        flips = flips + 1
        k = perm[0]
      until k == 0
      if flips > maxFlips then maxFlips = flips end
      if index % 2 == 0 then checksum = checksum + flips else checksum = checksum - flips end
    end
    -- advance to the next permutation (rotate prefixes, counting in a factorial base)
    while true do
      if r == len then return checksum, maxFlips end
      local head = current[0]
      for i = 0, r - 1 do current[i] = current[i + 1] end
      current[r] = head
      count[r] = count[r] - 1
      if count[r] > 0 then break end
      r = r + 1
    end
    index = index + 1
  end
end
local checksum, flips = fannkuch(n)
print(string.format("%d\nPfannkuchen(%d) = %d", checksum, n, flips))
