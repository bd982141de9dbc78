-- Differential run of benchmarks/lua/binary_trees.lua at a small size (10), so the
-- benchmark programs are checked against lua5.4 in all three JIT modes too.
arg = { [0] = "benchmarks/lua/binary_trees.lua", "10" }
dofile("benchmarks/lua/binary_trees.lua")
