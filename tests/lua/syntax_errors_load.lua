-- Syntax errors reported by load(): message wording and line numbers
local cases = {
  {"unexpected symbol", "x = = 1"},
  {"missing end", "if x then y = 1"},
  {"missing end multi-line", "function f()\n  local a = 1\n  return a\n"},
  {"end expected to close while", "while true do\n  x = 1\n\n"},
  {"then expected", "if x y = 1 end"},
  {"do expected", "for i = 1, 2 x = 1 end"},
  {"= or in expected", "for i x do end"},
  {"unexpected eof in expr", "return 1 +"},
  {"unfinished string", "x = 'abc"},
  {"malformed number", "x = 3x"},
  {"malformed number 2", "x = 0x"},
  {"malformed number 3", "x = 1e+"},
  {"malformed number dots", "x = 1.2.3"},
  {"unexpected closing paren", "print(1))"},
  {"missing closing paren", "print(1"},
  {"missing closing bracket", "t = {1, 2"},
  {"bad assignment target", "1 = 2"},
  {"call as statement required", "x"},
  {"break outside loop", "break"},
  {"goto undefined label", "goto nowhere"},
  {"duplicate label", "::a:: ::a::"},
  {"goto into scope of local", "goto l1; local x = 1; ::l1:: print(x)"},
  {"eof expected", "return 1 end"},
  {"return not last", "return 1; x = 2"},
  {"invalid long string delimiter", "x = [=abc]=]"},
  {"vararg outside vararg function", "function f() return ... end"},
  {"unexpected symbol near char", "x = @"},
  {"name expected", "local function 1() end"},
  {"name expected after dot", "x = a."},
  {"label syntax", "::1::"},
  {"method call needs args", "a:b"},
  {"local attrib", "local x <const>"},
  {"long comment error line", "--[[\n\n\n]] x = = 2"},
  {"multi-line expr error line", "local a = 1 +\n 2 +\n\n * 3"},
  {"string with newline", "x = \"abc\ndef\""},
  {"too many nested", ("x = " .. ("("):rep(300) .. "1" .. (")"):rep(300)), "limit"},
  {"deep nested blocks", ("do "):rep(300) .. ("end "):rep(300), "limit"},
  {"binary garbage", "\1\2\3\255\254"},
  {"nul byte in source", "x = 1\0y = 2"},
  {"huge number literal ok", "return 1" .. ("0"):rep(400)},
  {"huge int literal becomes float", "return 99999999999999999999"},
  {"valid code", "local a, b = 1, 2; return a + b"},
}
for _, c in ipairs(cases) do
  local f, err = load(c[2], "=chunk")
  if c[3] == "limit" then
    -- implementation limit (lua5.4: LUAI_MAXCCALLS = 200): only check that it is rejected cleanly
    print(c[1] .. ":", "rejected", f == nil, type(err), (tostring(err):find("overflow", 1, true) ~= nil))
  elseif f then
    local ok, r = pcall(f)
    print(c[1] .. ":", "compiled", ok, r)
  else
    print(c[1] .. ":", err)
  end
end
-- chunk names
print("default chunkname:", select(2, load("x = = 1")))
print("long source chunkname:", select(2, load("local a = 1 -- a rather long first line of source code that gets truncated\nx = = 1")))
print("multi-line source chunkname:", select(2, load("\nx = = 1")))
print("@ chunkname:", select(2, load("x = = 1", "@file.lua")))
print("= chunkname:", select(2, load("x = = 1", "=(custom)")))
print("runtime error in loaded chunk:", pcall(load("local t = nil\nreturn t.x", "=loaded")))
print("load non-string non-function:", pcall(load, 42))
