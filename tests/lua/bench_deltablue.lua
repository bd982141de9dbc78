-- Differential run of benchmarks/lua/deltablue.lua at a small size (30), so the
-- benchmark programs are checked against lua5.4 in all three JIT modes too.
arg = { [0] = "benchmarks/lua/deltablue.lua", "30" }
dofile("benchmarks/lua/deltablue.lua")
