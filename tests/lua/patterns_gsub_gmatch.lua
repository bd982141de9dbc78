-- string.gsub and string.gmatch
local function show(label, ...) print(label, select('#', ...), ...) end
show("gsub simple:", ("hello world"):gsub("o", "0"))
show("gsub limit:", ("hello world"):gsub("o", "0", 1))
show("gsub limit 0:", ("aaa"):gsub("a", "b", 0))
show("gsub pattern:", ("hello world"):gsub("%w+", "<%0>"))
show("gsub captures swap:", ("hello world"):gsub("(%w+) (%w+)", "%2 %1"))
show("gsub %% in repl:", ("50"):gsub("%d+", "%0%%"))
show("gsub table repl:", ("$name is $age"):gsub("%$(%w+)", {name = "Bob", age = 42}))
show("gsub table miss keeps:", ("$a $b"):gsub("%$(%w+)", {a = "A"}))
show("gsub table false keeps:", ("$a"):gsub("%$(%w+)", {a = false}))
show("gsub func repl:", ("1 2 3"):gsub("%d", function(d) return d * 2 end))
show("gsub func nil keeps:", ("a b c"):gsub("%a", function(c) if c == "b" then return "B" end end))
show("gsub func multi captures:", ("k1=v1, k2=v2"):gsub("(%w+)=(%w+)", function(k, v) return v .. "=" .. k end))
show("gsub position capture:", ("abc"):gsub("()", "%1"))
show("gsub empty pattern:", ("abc"):gsub("", "-"))
show("gsub anchored:", ("aaa"):gsub("^a", "b"))
show("gsub anchored star:", ("hello"):gsub("^h*", "X"))
show("gsub x*:", ("abc"):gsub("x*", "-"))
show("gsub whole-match %0 with captures:", ("ab"):gsub("(a)(b)", "[%0|%1|%2]"))
show("gsub number repl:", ("abc"):gsub("b", 5))
show("gsub trim:", ("   padded text   "):gsub("^%s*(.-)%s*$", "%1"))
show("gsub %b:", ("f(a,b) g(c)"):gsub("%b()", "()"))
show("gsub frontier words:", ("the cat sat on the mat"):gsub("%f[%a]%a", string.upper))
show("gsub special chars in repl:", ("a.b"):gsub("%.", "%%"))
show("gsub invalid repl:", pcall(string.gsub, "abc", "b", "%2"))
show("gsub invalid repl %x:", pcall(string.gsub, "abc", "b", "%x"))
show("gsub bad repl type:", pcall(string.gsub, "abc", "b", true))
show("gsub func returns table:", pcall(string.gsub, "abc", "b", function() return {} end))
show("gsub repl %1 without captures:", ("abc"):gsub("b", "[%1]"))
local words = {}
for w in ("The quick  brown fox"):gmatch("%a+") do words[#words + 1] = w end
print("gmatch words:", #words, table.concat(words, ","))
local kv = {}
for k, v in ("a=1, b=2, c=3"):gmatch("(%w+)=(%w+)") do kv[#kv + 1] = k .. ":" .. v end
print("gmatch pairs:", table.concat(kv, " "))
local pos = {}
for p in ("abcab"):gmatch("()b") do pos[#pos + 1] = p end
print("gmatch positions:", table.concat(pos, ","))
local empties = {}
for e in ("abc"):gmatch("x*") do empties[#empties + 1] = "[" .. e .. "]" end
print("gmatch empty matches:", #empties, table.concat(empties))
local nums = {}
for n in ("10 -3 4.5 1e3 x7"):gmatch("%-?%d+%.?%d*") do nums[#nums + 1] = tonumber(n) end
print("gmatch numbers:", table.concat(nums, " "))
local lines = {}
for line in ("one\ntwo\n\nfour"):gmatch("([^\n]*)\n?") do lines[#lines + 1] = "<" .. line .. ">" end
print("gmatch lines:", table.concat(lines))
local it = ("a1b2"):gmatch("%a(%d)")
print("gmatch manual:", it(), it(), it())
local anch = {}
for a in ("aaa"):gmatch("^a") do anch[#anch + 1] = a end
print("gmatch with ^:", #anch)
local init = {}
for w in string.gmatch("one two three", "%a+", 5) do init[#init + 1] = w end
print("gmatch init:", table.concat(init, ","))
-- gsub in a loop: word frequency
local text = "the fox and the dog and the cat"
local freq = {}
text:gsub("%a+", function(w) freq[w] = (freq[w] or 0) + 1 end)
local ks = {}
for k in pairs(freq) do ks[#ks + 1] = k end
table.sort(ks)
for _, k in ipairs(ks) do io.write(k, "=", freq[k], " ") end
print()
-- escaping magic characters
local function escape(s) return (s:gsub("[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0")) end
print("escape:", escape("1+1=2? (yes) [100%] a.b^c$"))
print("find escaped:", ("x (1+1) y"):find(escape("(1+1)")))
-- large gsub
local big = ("ab"):rep(50000)
local replaced, n = big:gsub("a", "xy")
print("large gsub:", #replaced, n)
