-- Differential run of benchmarks/lua/nbody.lua at a small size (5000), so the
-- benchmark programs are checked against lua5.4 in all three JIT modes too.
arg = { [0] = "benchmarks/lua/nbody.lua", "5000" }
dofile("benchmarks/lua/nbody.lua")
