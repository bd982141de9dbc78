-- Differential run of benchmarks/lua/spectral_norm.lua at a small size (40), so the
-- benchmark programs are checked against lua5.4 in all three JIT modes too.
arg = { [0] = "benchmarks/lua/spectral_norm.lua", "40" }
dofile("benchmarks/lua/spectral_norm.lua")
