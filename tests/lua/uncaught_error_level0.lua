-- Uncaught error with level 0 (no position) and a number message
print("about to fail")
local ok = pcall(error, "caught first")
print("first caught:", ok)
error("plain message without position", 0)
