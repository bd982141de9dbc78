-- helper for load_dofile.lua: raises an error at line 3
local t = nil
return t.field
