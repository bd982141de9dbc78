-- String literals: escapes, long strings, long comments, # length
print("simple escapes:", "a\tb", "quote\"s", 'single\'s', "back\\slash")
print("bell etc bytes:", ("\a\b\f\v\r"):byte(1, -1))
print("newline escape:", "line1\nline2")
print("decimal escapes:", "\65\066\0671", #"\0", #"a\0b\0")
print("hex escapes:", "\x41\x62\x7A", ("\xff\x00"):byte(1, 2))
print("utf8 escapes:", "\u{48}\u{49}", #"\u{7FF}", #"\u{FFFF}", #"\u{10FFFF}", ("\u{20AC}"):byte(1, -1))
print("z escape:", "abc\z
       def")
print("backslash newline:", "one\
two")
local long1 = [[
first line skipped newline
second]]
print("long string:", long1)
local long2 = [==[
contains ]] and [[ and ]=] inside]==]
print("leveled long string:", long2)
print("long string no escapes:", [[\n\t\65]])
print("empty long:", #[[]], #[[
]])
--[[ a long
comment ]] print("after long comment")
--[==[ another
]] still comment
]==] print("after leveled comment")
-- a line comment with [[ not long
print("line comment with brackets ok")
print("length:", #"", #"abc", #"\n", #[[abc]], #"\u{100}")
print("CRLF in long string:", #"a\r\nb")
print("escaped zero preserved in concat:", #("a\0" .. "\0b"))
print("string with all byte values:")
local parts = {}
for i = 0, 255 do parts[#parts + 1] = string.char(i) end
local all = table.concat(parts)
print("  length", #all, "sum", (function() local s = 0 for i = 1, #all do s = s + all:byte(i) end return s end)())
print("quoted:", string.format("%q", "tab\tnl\nzero\0quote\"bs\\end\r\1\0011"))
print("invalid escape:", load('return "\\q"'))
print("bad hex escape:", load('return "\\xZZ"'))
print("decimal escape too large:", load('return "\\256"'))
print("utf8 too large:", load('return "\\u{110000000}"'))
print("unfinished string:", load('return "abc'))
print("unfinished long string:", load('return [[abc'))
print("unfinished long comment:", load('--[[ abc'))
print("newline in string:", load('return "ab\ncd"'))
