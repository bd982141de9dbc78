-- Differential run of benchmarks/lua/richards.lua at a small size (5), so the
-- benchmark programs are checked against lua5.4 in all three JIT modes too.
arg = { [0] = "benchmarks/lua/richards.lua", "5" }
dofile("benchmarks/lua/richards.lua")
