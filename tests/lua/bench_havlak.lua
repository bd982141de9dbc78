-- Differential run of benchmarks/lua/havlak.lua at a small size (1), so the
-- benchmark programs are checked against lua5.4 in all three JIT modes too.
arg = { [0] = "benchmarks/lua/havlak.lua", "1" }
dofile("benchmarks/lua/havlak.lua")
