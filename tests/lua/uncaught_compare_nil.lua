-- Uncaught comparison error in a loop
local data = {5, 3, 8}
local limit
local count = 0
for i = 1, #data do
  count = count + 1
  print("item", i, data[i])
  if i == 3 then
    if data[i] < limit then print("below") end
  end
end
