-- Differential run of benchmarks/lua/fannkuch_redux.lua at a small size (7), so the
-- benchmark programs are checked against lua5.4 in all three JIT modes too.
arg = { [0] = "benchmarks/lua/fannkuch_redux.lua", "7" }
dofile("benchmarks/lua/fannkuch_redux.lua")
