-- if/elseif/else, while, repeat-until (scope rule), break, nested loops, goto
local function classify(n)
  if n < 0 then return "negative"
  elseif n == 0 then return "zero"
  elseif n < 10 then return "small"
  else return "large" end
end
for _, v in ipairs({-5, 0, 3, 42}) do print("classify", v, classify(v)) end
local i = 0
while i < 5 do i = i + 1 end
print("while result", i)
local n = 0
while true do n = n + 1; if n >= 7 then break end end
print("while-break", n)
-- repeat-until: the condition sees locals declared in the body
local k = 0
repeat
  local done = k >= 3
  k = k + 1
until done
print("repeat scope", k)
local r = 0
repeat r = r + 1 until r == 10
print("repeat count", r)
-- repeat with closure capturing body local
local fns = {}
local j = 0
repeat
  j = j + 1
  local captured = j * 10
  fns[#fns + 1] = function() return captured end
until captured >= 30
print("repeat closures", fns[1](), fns[2](), fns[3]())
-- nested break only exits the inner loop
local pairs_found = {}
for a = 1, 4 do
  for b = 1, 4 do
    if b > a then break end
    if (a + b) % 3 == 0 then pairs_found[#pairs_found + 1] = a .. "+" .. b end
  end
end
print("nested break", table.concat(pairs_found, ","))
-- goto as continue
local odds = {}
for x = 1, 10 do
  if x % 2 == 0 then goto continue end
  odds[#odds + 1] = x
  ::continue::
end
print("goto continue", table.concat(odds, ","))
-- goto out of nested loops
local found
for a = 1, 10 do
  for b = 1, 10 do
    if a * b == 42 then found = a .. "*" .. b; goto done end
  end
end
::done::
print("goto nested exit", found)
-- backward goto making a loop
local cnt = 0
::top::
cnt = cnt + 1
if cnt < 5 then goto top end
print("backward goto", cnt)
-- goto with fresh locals each time around (closures see distinct variables)
local cl = {}
do
  local idx = 1
  ::again::
  local v = idx * idx
  cl[idx] = function() return v end
  idx = idx + 1
  if idx <= 3 then goto again end
end
print("goto fresh locals", cl[1](), cl[2](), cl[3]())
-- label at end of block, empty statements
do
  ;;; local z = 1 ;
  goto finish
  ::finish::
end
print("empty statements ok")
-- nested functions and if inside loops with many branches
local buckets = {0, 0, 0, 0}
for x = 1, 100 do
  if x % 15 == 0 then buckets[1] = buckets[1] + 1
  elseif x % 5 == 0 then buckets[2] = buckets[2] + 1
  elseif x % 3 == 0 then buckets[3] = buckets[3] + 1
  else buckets[4] = buckets[4] + 1 end
end
print("fizzbuzz buckets", table.concat(buckets, " "))
-- while with complex condition and short circuit
local a, b = 0, 10
while a < b and (a * b) ~= 24 do a = a + 1; b = b - 1 end
print("while and", a, b)
-- do blocks scoping
local shadow = "outer"
do local shadow = "inner"; print("inner shadow", shadow) end
print("outer shadow", shadow)
