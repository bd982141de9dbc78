math.randomseed(31337)
local fmt = "%a|%A|%b|%B|%c|%C|%d|%D|%e|%F|%g|%G|%h|%H|%I|%j|%m|%M|%p|%r|%R|%S|%T|%u|%U|%V|%w|%W|%x|%X|%y|%Y|%z|%Z|%%|%Ec|%Oy"
local ts = {0, -1, 1, 86399, 86400, 951782400, 951868800, 1e9|0, 1700000000, 2^31|0, -2^31|0, 253402300799, 253402300800, -62135596800, -62135596801, 2^55|0, -2^55|0}
for i = 1, 300 do ts[#ts+1] = math.random(-2^40|0, 2^40|0) end
for y = 1998, 2012 do for _, md in ipairs{{1,1},{1,3},{12,28},{12,31}} do ts[#ts+1] = os.time{year=y, month=md[1], day=md[2], hour=0} end end
for _, t in ipairs(ts) do
  print("date\t!" .. fmt .. "\t" .. t .. "\t" .. os.date("!" .. fmt, t))
  print("date\t" .. fmt .. "\t" .. t .. "\t" .. os.date(fmt, t))
  local tt = os.date("!*t", t)
  print("tab\t!*t\t" .. t .. "\t" .. string.format("%d %d %d %d %d %d %d %d %s", tt.year, tt.month, tt.day, tt.hour, tt.min, tt.sec, tt.yday, tt.wday, tt.isdst))
end
for _, f in ipairs{"%Q", "%", "%E", "%Ez", "%Ea abc", "abc%", "%5d", "%-d"} do
  local ok, e = pcall(os.date, f, 0)
  print("err\t" .. f .. "\t0\t" .. tostring(e))
end
for _, t in ipairs{2^60|0, -2^60|0, math.maxinteger, math.mininteger} do
  local ok, e = pcall(os.date, "%Y", t)
  print("err\t%Y\t" .. t .. "\t" .. tostring(e))
end
