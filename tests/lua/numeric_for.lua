-- Numeric for: integer and float loops, steps, edge cases, errors
local function collect(a, b, c)
  local t = {}
  if c then
    for i = a, b, c do t[#t + 1] = tostring(i) end
  else
    for i = a, b do t[#t + 1] = tostring(i) end
  end
  return table.concat(t, " ")
end
print("1..5:", collect(1, 5))
print("5..1:", collect(5, 1))
print("5..1,-1:", collect(5, 1, -1))
print("1..10,3:", collect(1, 10, 3))
print("10..1,-4:", collect(10, 1, -4))
print("1..1:", collect(1, 1))
print("float 1..2,0.25:", collect(1, 2, 0.25))
print("float 0..1,0.1:", collect(0, 1, 0.1))
print("float start 1.0..3:", collect(1.0, 3))
print("int start float limit 1..3.5:", collect(1, 3.5))
print("int start float limit 1..-0.5:", collect(1, -0.5))
print("neg float step 1..0,-0.5:", collect(1, 0, -0.5))
print("float limit huge small count:", collect(1, 3.7, 1))
print("limit near maxint:", collect(math.maxinteger - 2, math.maxinteger))
print("limit near minint:", collect(math.mininteger + 2, math.mininteger, -1))
print("huge step:", collect(1, math.maxinteger, math.maxinteger // 2))
print("neg huge step:", collect(-1, math.mininteger, math.mininteger))
print("limit inf int loop (3 iters):", (function()
  local c = 0
  for i = math.maxinteger - 2, math.huge do c = c + 1 end
  return c end)())
print("limit -inf:", collect(1, -math.huge))
print("float huge limit 2^63:", collect(math.maxinteger - 1, 2^63))
print("types int loop:", (function() for i = 1, 1 do return math.type(i) end end)())
print("types float loop:", (function() for i = 1.0, 1 do return math.type(i) end end)())
print("types float step:", (function() for i = 1, 1, 1.0 do return math.type(i) end end)())
-- modifying the control variable does not affect iteration
local seen = {}
for i = 1, 3 do
  local j = i
  i = i * 10
  seen[#seen + 1] = j .. "->" .. i
end
print("modify var:", table.concat(seen, " "))
-- bounds evaluated once
local calls = 0
local function lim() calls = calls + 1; return 4 end
for i = 1, lim() do end
print("limit evaluated once:", calls)
-- closures capture fresh variable each iteration
local fs = {}
for i = 1, 3 do fs[i] = function() return i end end
print("fresh var:", fs[1](), fs[2](), fs[3]())
-- many iterations accumulation (int and float)
local s = 0
for i = 1, 100000 do s = s + i end
print("sum 1..1e5:", s)
local fsum = 0
for x = 0, 1, 1/1024 do fsum = fsum + x end
print("float sum:", fsum)
-- errors
print("zero step:", pcall(function() for i = 1, 10, 0 do end end))
print("zero float step:", pcall(function() for i = 1, 10, 0.0 do end end))
print("string init:", pcall(function() for i = "a", 10 do end end))
print("string limit:", pcall(function() for i = 1, "x" do end end))
print("nil step:", pcall(function() for i = 1, 2, nil do end end))
print("table limit:", pcall(function() for i = 1, {} do end end))
-- nested loops with break and the outer loop continuing
local out = {}
for a = 1, 3 do
  for b = 10, 1, -1 do
    if b < 8 then break end
    out[#out + 1] = a * b
  end
end
print("nested:", table.concat(out, ","))
