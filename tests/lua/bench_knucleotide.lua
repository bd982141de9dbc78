-- Differential run of benchmarks/lua/knucleotide.lua at a small size (20000), so the
-- benchmark programs are checked against lua5.4 in all three JIT modes too.
arg = { [0] = "benchmarks/lua/knucleotide.lua", "20000" }
dofile("benchmarks/lua/knucleotide.lua")
