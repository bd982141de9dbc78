-- Uncaught runtime error: output before the error must be flushed, exit status 1
print("before the error")
io.write("partial line without newline ")
io.write("\n")
local function level3(t) return t.missing.field end
local function level2(t) return level3(t) + 1 end
local function level1() return level2({}) end
print("calling")
level1()
print("never printed")
