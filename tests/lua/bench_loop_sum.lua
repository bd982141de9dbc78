-- Differential run of benchmarks/lua/loop_sum.lua at a small size (300000), so the
-- benchmark programs are checked against lua5.4 in all three JIT modes too.
arg = { [0] = "benchmarks/lua/loop_sum.lua", "300000" }
dofile("benchmarks/lua/loop_sum.lua")
