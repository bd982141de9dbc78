-- Usage: lua5.4 format_extra.lua > extra.tsv (needs the helpers esc/enc/case of
-- format.lua in scope; then keep every 6th "OK" line, as committed).
dofile("format_funcs.lua")
math.randomseed(4242)
local convs = {"d","x","X","o","e","E","f","g","G","a","A","s","q","c","i","u"}
local flagsets = {"", "-", "+", " ", "#", "0", "-0", "+0", " 0", "#0", "-+", "-#", "+ ", "-+ #0", "#-"}
for i = 1, 60000 do
  local conv = convs[math.random(#convs)]
  local w = math.random(0, 3) == 0 and "" or tostring(math.random(0, 40))
  local p = math.random(0, 2) == 0 and "" or ("." .. (math.random(0,3)==0 and "" or tostring(math.random(0, 40))))
  local spec = "%" .. flagsets[math.random(#flagsets)] .. w .. p .. conv
  local r = math.random(6)
  local v
  if r == 1 then v = math.random(math.mininteger, math.maxinteger)
  elseif r == 2 then v = math.random(-1000, 1000)
  elseif r <= 4 then v = string.unpack("<d", string.pack("<i8", math.random(math.mininteger, math.maxinteger)))
  elseif r == 5 then v = (math.random() - 0.5) * 10.0 ^ math.random(-30, 30)
  else v = math.random(-99999, 99999) / 8 end
  if conv == "c" then v = math.random(32, 126) end
  case(spec, v)
end
