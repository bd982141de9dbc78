-- Uncaught error(): message with position, exit status 1
local results = {}
for i = 1, 5 do results[#results + 1] = i * i end
print("squares:", table.concat(results, " "))
local function check(v)
  if v > 10 then error("value too large: " .. v) end
  return v
end
for _, v in ipairs(results) do
  print("checked", check(v))
end
