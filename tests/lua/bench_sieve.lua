-- Differential run of benchmarks/lua/sieve.lua at a small size (20000), so the
-- benchmark programs are checked against lua5.4 in all three JIT modes too.
arg = { [0] = "benchmarks/lua/sieve.lua", "20000" }
dofile("benchmarks/lua/sieve.lua")
