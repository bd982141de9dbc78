-- Differential run of benchmarks/lua/queens.lua at a small size (8), so the
-- benchmark programs are checked against lua5.4 in all three JIT modes too.
arg = { [0] = "benchmarks/lua/queens.lua", "8" }
dofile("benchmarks/lua/queens.lua")
