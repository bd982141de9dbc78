-- Calls of math's float functions inside hot loops: recorded as pure calls
-- (guarded on the callee), including a callee that changes and an integer argument.
local sqrt, sin = math.sqrt, math.sin
local s = 0.0
for i = 1, 100000 do s = s + sqrt(i) + sin(i) end
print(string.format("%.6f", s))
local t = 0
for i = 1, 1000 do
  local f = (i < 500) and sqrt or math.cos
  t = t + f(i)
end
print(string.format("%.6f", t))
local u = 0
for i = 1, 1000 do
  local x = (i < 700) and i or 2.5
  local a, b = sqrt(x)
  u = u + a + (b == nil and 1 or 0)
end
print(string.format("%.6f", u))
