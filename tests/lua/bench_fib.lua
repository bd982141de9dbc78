-- Differential run of benchmarks/lua/fib.lua at a small size (22), so the
-- benchmark programs are checked against lua5.4 in all three JIT modes too.
arg = { [0] = "benchmarks/lua/fib.lua", "22" }
dofile("benchmarks/lua/fib.lua")
