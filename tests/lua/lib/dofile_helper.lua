-- helper for load_dofile.lua (not a standalone test program)
dofile_helper_global = "set by dofile"
return "first", 2
