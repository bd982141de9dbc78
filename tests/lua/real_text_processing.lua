-- Text processing: word counts, templating, CSV parsing, line wrapping, simple markdown-to-text
local text = [[
The quick brown fox jumps over the lazy dog. The dog sleeps; the fox runs!
Numbers like 3.14, 42 and -7 appear here, as do e-mail addresses: a.b@example.com, x_y@test.org.
  Indented line with   irregular    spacing.
THE END? the end...
]]
-- word frequencies (case-insensitive), sorted by count desc then word
local freq = {}
for w in text:lower():gmatch("%a+") do freq[w] = (freq[w] or 0) + 1 end
local words = {}
for w, c in pairs(freq) do words[#words + 1] = {w, c} end
table.sort(words, function(a, b) if a[2] ~= b[2] then return a[2] > b[2] end return a[1] < b[1] end)
local top = {}
for i = 1, 8 do top[i] = words[i][1] .. "=" .. words[i][2] end
print("top words:", table.concat(top, " "))
print("distinct words:", #words)
-- numbers and emails
local nums = {}
for n in text:gmatch("%-?%d+%.?%d*") do nums[#nums + 1] = tonumber(n) end
print("numbers:", table.concat(nums, " "))
local emails = {}
for e in text:gmatch("[%w%._]+@[%w%.]+%a") do emails[#emails + 1] = e end
print("emails:", table.concat(emails, " "))
-- normalize whitespace per line
local n = 0
for line in text:gmatch("[^\n]+") do
  n = n + 1
  local norm = line:gsub("^%s+", ""):gsub("%s+$", ""):gsub("%s+", " ")
  print(string.format("line %d (%2d chars -> %2d): %s", n, #line, #norm, norm))
end
-- templating with gsub and a table/function
local tpl = "Dear ${name}, your order #${id} of ${qty} x ${item} costs $${total}. ${missing}"
local vars = {name = "Ada", id = 1234, qty = 3, item = "widget", total = string.format("%.2f", 3 * 9.99)}
local out = tpl:gsub("%${(%w+)}", function(k) local v = vars[k]; return v and tostring(v) or "<" .. k .. "?>" end)
print("template:", out)
-- CSV parsing with quoted fields
local function parse_csv_line(line)
  local res, pos = {}, 1
  while true do
    if line:sub(pos, pos) == '"' then
      local txt, i = "", pos + 1
      while true do
        local a, b = line:find('"', i, true)
        if not a then error("unterminated quote") end
        txt = txt .. line:sub(i, a - 1)
        if line:sub(b + 1, b + 1) == '"' then txt = txt .. '"'; i = b + 2 else pos = b + 1; break end
      end
      res[#res + 1] = txt
      if line:sub(pos, pos) == "," then pos = pos + 1 else break end
    else
      local a = line:find(",", pos, true)
      if a then res[#res + 1] = line:sub(pos, a - 1); pos = a + 1
      else res[#res + 1] = line:sub(pos); break end
    end
  end
  return res
end
local csv = 'name,age,quote\nAlice,30,"Hello, world"\nBob,25,"He said ""hi"""\n"Carol, Jr.",41,\n'
local total_age = 0
for line in csv:gmatch("[^\n]+") do
  local f = parse_csv_line(line)
  print("csv:", #f, table.concat(f, " | "))
  total_age = total_age + (tonumber(f[2]) or 0)
end
print("total age:", total_age)
-- word wrap at width 30
local function wrap(s, width)
  local lines, cur = {}, ""
  for word in s:gmatch("%S+") do
    if #cur + #word + (#cur > 0 and 1 or 0) > width then lines[#lines + 1] = cur; cur = word
    else cur = (#cur > 0) and (cur .. " " .. word) or word end
  end
  if #cur > 0 then lines[#lines + 1] = cur end
  return lines
end
for i, l in ipairs(wrap(text, 30)) do print(string.format("wrap %2d |%-30s|", i, l)) end
-- markdown-ish conversion
local md = "# Title\nSome *emphasis* and **strong** text with `code`.\n## Sub\n- item one\n- item two\n[link](http://x.y)"
local conv = md:gsub("%*%*(.-)%*%*", "%1"):gsub("%*(.-)%*", "_%1_"):gsub("`(.-)`", "'%1'")
conv = conv:gsub("%[(.-)%]%((.-)%)", "%1 <%2>"):gsub("\n%- ", "\n * "):gsub("^# (.-)\n", function(t) return t:upper() .. "\n" .. ("="):rep(#t) .. "\n" end)
conv = conv:gsub("\n## (.-)\n", function(t) return "\n" .. t .. "\n" .. ("-"):rep(#t) .. "\n" end)
print(conv)
-- character class statistics
local stats = {}
for _, cls in ipairs({"%a", "%d", "%s", "%p", "%u", "%l"}) do
  local _, c = text:gsub(cls, "")
  stats[#stats + 1] = cls .. "=" .. c
end
print("class counts:", table.concat(stats, " "))
-- string reversal of words and palindromes
local pals = {}
for w in ("level noon abc racecar xyzzy stats a"):gmatch("%a+") do
  if w == w:reverse() then pals[#pals + 1] = w end
end
print("palindromes:", table.concat(pals, ","))
-- caesar cipher round trip on a longer text
local function shift(s, k)
  return (s:gsub("%a", function(c)
    local base = c:find("%l") and 97 or 65
    return string.char((c:byte() - base + k) % 26 + base)
  end))
end
local enc = shift(text, 3)
print("cipher sample:", enc:sub(1, 40))
print("cipher round trip:", shift(enc, -3) == text)
