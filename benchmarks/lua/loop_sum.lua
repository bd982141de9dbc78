-- A plain numeric for loop with an accumulator.  Usage: loop_sum.lua [N]
local n = tonumber(arg and arg[1]) or 100000000
local sum = 0
for i = 1, n do
  sum = sum + i
end
local odd = 0
for i = 1, n, 2 do
  odd = odd + 1
end
print(string.format("sum(1..%d) = %d, odd count = %d", n, sum, odd))
