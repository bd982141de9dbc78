-- emits: kind \t subject \t pattern \t arg \t expected
local function show(ok, ...)
  if not ok then return "ERR " .. tostring((...)) end
  local n = select('#', ...)
  local o = {}
  for i = 1, n do
    local v = select(i, ...)
    if math.type(v) == "integer" then o[#o+1] = "#" .. v
    elseif v == nil then o[#o+1] = "nil"
    else o[#o+1] = "<" .. tostring(v) .. ">" end
  end
  return table.concat(o, " ")
end
local function gm(s, p, init)
  local o = {}
  local f = string.gmatch(s, p, init)
  for i = 1, 50 do
    local r = table.pack(f())
    if r[1] == nil then break end
    o[#o+1] = show(true, table.unpack(r, 1, r.n))
  end
  return table.concat(o, " | ")
end
local function emit(kind, s, p, arg, res) print(kind .. "\t" .. s .. "\t" .. p .. "\t" .. arg .. "\t" .. res) end
local function all(s, p)
  emit("find", s, p, "1", show(pcall(string.find, s, p)))
  emit("match", s, p, "1", show(pcall(string.match, s, p)))
  emit("gmatch", s, p, "1", (show(pcall(gm, s, p)):gsub("^ERR [^:]*:%d+: ", "ERR ")))
  emit("gsub", s, p, "[%0]", show(pcall(string.gsub, s, p, "[%0]")))
  emit("gsub", s, p, "%1-", show(pcall(string.gsub, s, p, "%1-")))
end
local fixed = {
 {"hello world", "o"}, {"hello world", "l+"}, {"hello world", "(l)(l)"}, {"hello world", "()ll()"},
 {"hello world", "^h"}, {"hello world", "^e"}, {"hello world", "d$"}, {"hello world", "o$"},
 {"hello world", "%w+"}, {"hello world", "%a*"}, {"hello world", "%s"}, {"hello world", "[aeiou]"},
 {"hello world", "[^aeiou ]+"}, {"hello world", "[a-f]"}, {"hello world", ".-o"}, {"hello world", ".*o"},
 {"x = (a(b)c) + (d)", "%b()"}, {"THE (quick) fox", "%f[%a]%a+"}, {"THE (quick) fox", "%f[%A]"},
 {"abcabc", "(a)(b)(c)%3"}, {"abab", "(ab)%1"}, {"aaa", "a-b"}, {"aaab", "a-b"}, {"aaa", "a?a?a?a?"},
 {"  trim  ", "^%s*(.-)%s*$"}, {"key=val, k2=v2", "(%w+)=(%w+)"}, {"abc", ""}, {"", ""}, {"", "a*"},
 {"a.b", "%."}, {"a+b", "a+b"}, {"a+b", "a%+b"}, {"[]", "[]]"}, {"x]", "[]]"}, {"x^", "[x^]+"},
 {"a-b", "[a-]+"}, {"a-z", "[%a-]+"}, {"0x1F", "%x+"}, {"ABCdef", "%u+"}, {"ABCdef", "%l+"},
 {"a\1b", "%c"}, {"tab\vhere", "%C+"}, {"!@#abc", "%p+"}, {"abc", "%g+"}, {"aXb", "%Ub"},
 {"abc", "x%"}, {"abc", "a%"}, {"abc", "[a"}, {"abc", "%1"}, {"abc", "(a%1)"}, {"abc", "(a))"},
 {"abc", "(a"}, {"abc", "%f"}, {"abc", "%fa"}, {"abc", "%b"}, {"abc", "%bx"}, {"abc", "%0"},
 {"abc", "[]"}, {"abc", "[^]"}, {"abc", "[^]]"}, {"^a^a", "^a"}, {"abc", "^"}, {"abc", "$"},
 {"a$b", "$b"}, {"a$b", "a$"}, {"abc", "()"}, {"abc", "(()b())"}, {"aaa", "()a*()"},
 {"f(a,b)", "%((.-)%)"}, {"one two  three", "%S+"}, {"hello", "(h)(e)(l)(l)(o)"},
 {"abc", ".-"}, {"abc", "a*"}, {"baaac", "a+"}, {"baaac", "ba-c"}, {"x", "[%]]"}, {"%", "%%"},
 {"a]", "[%]]"}, {"ab", "[%a%d]+"}, {"a1-", "[%w-]+"}, {"z", "[a-]"}, {"-", "[a-]"},
 {"THE (quick) fox", "%f[%l]%a"}, {"aXXb", "%f[X]X+%f[^X]"}, {"abc", "%f[a]"}, {"abc", "%f[^a]"},
 {"x((y))", "%b()"}, {"((", "%b()"}, {"))", "%b)("}, {"aaa", "%baa"}, {"abc", "%bab"},
}
for _, c in ipairs(fixed) do all(c[1], c[2]) end
-- init handling
for _, init in ipairs{-100, -3, -1, 0, 1, 2, 3, 4, 5, 100} do
  emit("findi", "abcabc", "b", tostring(init), show(pcall(string.find, "abcabc", "b", init)))
  emit("findi", "abc", "", tostring(init), show(pcall(string.find, "abc", "", init)))
  emit("findp", "a.c.", ".", tostring(init), show(pcall(string.find, "a.c.", ".", init, true)))
  emit("findi", "abc", "^b", tostring(init), show(pcall(string.find, "abc", "^b", init)))
  emit("matchi", "abcabc", "(b)(c)", tostring(init), show(pcall(string.match, "abcabc", "(b)(c)", init)))
  emit("gmatchi", "abcabc", "b", tostring(init), show(pcall(gm, "abcabc", "b", init)))
  emit("gmatchi", "abc", "", tostring(init), (show(pcall(gm, "abc", "", init)):gsub("^ERR [^:]*:%d+: ", "ERR ")))
end
for _, n in ipairs{-1, 0, 1, 2, 10} do
  emit("gsubn", "hello world", "o", tostring(n), show(pcall(string.gsub, "hello world", "o", "0", n)))
  emit("gsubn", "abc", "", tostring(n), show(pcall(string.gsub, "abc", "", "-", n)))
end
for _, r in ipairs{"%%", "%0%0", "%1", "%2", "%x", "x%", "%9", "[%1|%2]"} do
  emit("gsubr", "hello world", "(o)", r, show(pcall(string.gsub, "hello world", "(o)", r)))
  emit("gsubr", "hello world", "o", r, show(pcall(string.gsub, "hello world", "o", r)))
  emit("gsubr", "hello world", "()o()", r, show(pcall(string.gsub, "hello world", "()o()", r)))
end
-- random patterns
math.randomseed(12345)
local palpha = {"a","b","c","(",")","%","[","]","^","$","*","+","-","?",".","%a","%d","%w","%s","%b()","%f[%w]","%1","%2","()","[^a]","[a-c]"}
local salpha = {"a","b","c","(",")","[","]"," ","1","-","x","%","^","$"}
for i = 1, 1500 do
  local p, s = {}, {}
  for j = 1, math.random(0, 7) do p[#p+1] = palpha[math.random(#palpha)] end
  for j = 1, math.random(0, 12) do s[#s+1] = salpha[math.random(#salpha)] end
  all(table.concat(s), table.concat(p))
end
