-- Sieve of Eratosthenes, repeated.  Usage: sieve.lua [N]   (primes below N, 8 rounds)
local n = tonumber(arg and arg[1]) or 1000000
local rounds = 8
local count, last
for _ = 1, rounds do
  local composite = {}
  for i = 2, n do composite[i] = false end
  count, last = 0, 0
  for i = 2, n do
    if not composite[i] then
      count = count + 1
      last = i
      for j = i * i, n, i do composite[j] = true end
    end
  end
end
print(string.format("sieve: %d primes below %d, largest %d (%d rounds)", count, n, last, rounds))
