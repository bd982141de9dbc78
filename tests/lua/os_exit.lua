-- os.exit with a status code; buffered output must be flushed first
io.write("written with io.write, ")
print("then print")
io.stdout:write("stdout:write before exit\n")
os.exit(3)
print("never printed")
