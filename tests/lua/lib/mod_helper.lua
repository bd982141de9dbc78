-- helper module for require_module.lua (not a standalone test program)
local M = {}
M.loads = (M.loads or 0) + 1
load_counter = (load_counter or 0) + 1
M.name = ...
M.file = select(2, ...)
function M.greet(who) return "hello, " .. who end
function M.add(a, b) return a + b end
return M
