-- Uncaught error with a non-string error object (no __tostring)
print("raising a table")
error({code = 1})
