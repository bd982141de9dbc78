-- This whole file is a syntax error: nothing is printed, exit status 1
print("this line is never executed")
local function broken(a, b)
  if a > b then
    return a
  else
    return b
  -- missing 'end' for the if
end
print(broken(1, 2))
local x = = 5
