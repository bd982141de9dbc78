-- Upvalue and global reads inside hot loops (GetUpval, GetTabUp): open and
-- closed upvalues, an upvalue whose type changes between calls, globals.
local n = 0
local function f()
  local s = 0
  for i = 1, 1000 do s = s + n + i end   -- open upvalue n, global-free
  return s
end
print(f())
local t = {x = 1.5}
local function g()
  local s = 0.0
  for i = 1, 1000 do s = s + t.x + math.sqrt(i) end  -- upvalue table, global math
  return s
end
print(string.format("%.6f", g()))
local c = 0
local function h()
  for i = 1, 1000 do
    c = c + 1                   -- SetUpval: not recordable
  end
end
h() print(c)
local function k(v)
  local s = 0
  for i = 1, 1000 do s = s + (v or 0); if i == 600 then v = 2.5 end end
  return s
end
print(k(1))
local up = 1
local function m()
  local s = 0
  for i = 1, 1000 do s = s + up; if i == 500 then up = "x" end if type(up) == "string" then break end end
  return s
end
print(pcall(m))
local u = 1
local function sum()
  local s = 0
  for i = 1, 300 do s = s + u end
  return s
end
print(sum(), sum())
u = 2.5 print(sum())
u = "3" print(sum(), math.type(sum()))
u = nil print(pcall(sum))
G = 7
local function gsum()
  local s = 0
  for i = 1, 300 do s = s + G end
  return s
end
print(gsum()) G = 0.5 print(gsum()) G = nil print(pcall(gsum))
local function counter()
  local k = 0
  return function() local s = 0 for i = 1, 200 do s = s + k end k = k + 1 return s end
end
local c1, c2 = counter(), counter()
print(c1(), c1(), c2(), c1())
