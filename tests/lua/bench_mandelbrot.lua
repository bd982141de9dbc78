-- Differential run of benchmarks/lua/mandelbrot.lua at a small size (80), so the
-- benchmark programs are checked against lua5.4 in all three JIT modes too.
arg = { [0] = "benchmarks/lua/mandelbrot.lua", "80" }
dofile("benchmarks/lua/mandelbrot.lua")
