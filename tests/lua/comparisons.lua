-- Relational operators across subtypes and strings
local vals = {1, 1.0, 2, 2.5, -1, math.huge, -math.huge, math.maxinteger, math.mininteger, 2^53, 2^63}
for i = 1, #vals do
  local a = vals[i]
  local line = {}
  for j = 1, #vals do
    local b = vals[j]
    local r = (a < b and "<" or "") .. (a <= b and "l" or "") .. (a == b and "=" or "") .. (a > b and ">" or "")
    line[#line + 1] = r
  end
  print("cmp row " .. i .. ":", table.concat(line, " "))
end
print("maxint vs 2^63:", math.maxinteger < 2^63, math.maxinteger + 0.0 == 2^63, math.maxinteger == 2^63)
print("minint vs -2^63:", math.mininteger == -2^63, math.mininteger < -2^63)
print("int vs float near:", 9007199254740993 < 9007199254740992.0, 9007199254740993 > 9007199254740992.0)
local nan = 0/0
print("nan cmps:", nan < 1, nan > 1, nan <= nan, 1 < nan, nan == 1)
print("strings:", "a" < "b", "a" < "ab", "" < "a", "Z" < "a", "abc" <= "abc", "b" > "abc")
print("embedded zero:", "a\0b" < "a\0c", "a\0" > "a", #"a\0b")
print("high bytes:", "\200" > "a", "\xff" > "\x7f")
print("eq different types:", 1 == "1", nil == false, {} == {}, print == print)
local t = {}
print("eq same table:", t == t, t ~= t)
print("not eq:", 1 ~= 2, "a" ~= "a")
for _, pair in ipairs({{1, "x"}, {"x", 1}, {{}, 1}, {nil, 1}, {true, false}, {1, {}}}) do
  local ok, err = pcall(function(a, b) return a < b end, pair[1], pair[2])
  print("cmp error:", ok, err)
end
print("le error:", pcall(function(a, b) return a <= b end, {}, {}))
print("gt error:", pcall(function(a, b) return a > b end, 1, nil))
print("ge error:", pcall(function(a, b) return a >= b end, "x", 2))
