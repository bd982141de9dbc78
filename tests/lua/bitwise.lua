-- Bitwise operators and their errors
local function show(label, v) print(label, v, math.type(v)) end
show("5&3", 5 & 3)
show("5|3", 5 | 3)
show("5~3", 5 ~ 3)
show("~5", ~5)
show("~0", ~0)
show("1<<4", 1 << 4)
show("256>>4", 256 >> 4)
show("-1>>1", -1 >> 1)
show("-1>>63", -1 >> 63)
show("1<<63", 1 << 63)
show("1<<64", 1 << 64)
show("1<<-1", 1 << -1)
show("2>>-1", 2 >> -1)
show("-1<<70", -1 << 70)
show("-1>>64", -1 >> 64)
show("3.0&1", 3.0 & 1)
show("2^53|0", 2^53 | 0)
show("0xff~0x0f", 0xff ~ 0x0f)
show("mininteger>>1", math.mininteger >> 1)
show("precedence 1|2&3", 1 | 2 & 3)
show("precedence 1<<2+1", 1 << 2 + 1)
show("precedence 5&3==1", (5 & 3 == 1) and "t" or "f")
show("precedence 1|6~3&5", 1 | 6 ~ 3 & 5)
show("precedence ~1+1", ~1 + 1)
show('"3"|0', pcall(function() return "3" | 0 end) and "3" | 0 or -999)
show('"0x10"&0xff', pcall(function() return "0x10" & 0xff end) and ("0x10" & 0xff) or -999)
local errs = {
  function() return 1.5 | 0 end,
  function() return 1 & 2^63 end,
  function() local s = "1.5"; return s | 0 end,
  function() local s = "abc"; return s | 0 end,
  function() return {} & 1 end,
  function() local t = {}; return ~t end,
  function() return nil >> 1 end,
  function() local x = 1.25; return x << 1 end,
  function() return math.huge | 0 end,
  function() local b = true; return 1 ~ b end,
}
for i, f in ipairs(errs) do
  local ok, err = pcall(f)
  print("bitwise error " .. i .. ":", ok, err)
end
-- a little bit-twiddling workload: popcount and bit reverse
local function popcount(x)
  local c = 0
  while x ~= 0 do x = x & (x - 1); c = c + 1 end
  return c
end
local total = 0
for i = 0, 1000 do total = total + popcount(i * 2654435761) end
print("popcount sum:", total)
local function rev32(x)
  local r = 0
  for i = 0, 31 do
    r = (r << 1) | ((x >> i) & 1)
  end
  return r
end
print("rev32:", rev32(1), rev32(0x12345678), string.format("%08x", rev32(0xf0f0f0f0)))
print("xorshift:")
local s = 88172645463325252
for i = 1, 5 do
  s = s ~ (s << 13); s = s ~ (s >> 7); s = s ~ (s << 17)
  print("  ", s)
end
