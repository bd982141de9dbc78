-- Differential run of benchmarks/lua/json.lua at a small size (40), so the
-- benchmark programs are checked against lua5.4 in all three JIT modes too.
arg = { [0] = "benchmarks/lua/json.lua", "40" }
dofile("benchmarks/lua/json.lua")
