-- Varargs, select, table.pack/unpack, multiple results and adjustment rules
local function three() return 1, 2, 3 end
local function none() end
local function pr(label, ...) print(label, select('#', ...), ...) end
pr("all results:", three())
pr("truncated by parens:", (three()))
pr("not last in list:", three(), 10)
pr("last in list:", 10, three())
pr("none:", none())
pr("none in middle:", none(), 1)
pr("nil args counted:", nil, nil, nil)
local t = {three(), three()}
print("constructor adjust:", #t, table.concat(t, ","))
t = {three(), (three())}
print("constructor parens:", #t)
local a, b, c, d = three()
print("assign extra nil:", a, b, c, d)
local x, y = 1
print("assign missing:", x, y)
local p, q = three(), 20
print("assign non-last truncated:", p, q)
local function va(...)
  local n = select('#', ...)
  local first = ...
  local packed = table.pack(...)
  return n, first, packed.n, #{(...)}
end
print("va counts:", va(1, nil, 3, nil))
print("va empty:", va())
print("select 2:", select(2, "a", "b", "c"))
print("select -1:", select(-1, "a", "b", "c"))
print("select -3:", select(-3, "a", "b", "c"))
print("select beyond:", select(5, "a", "b"))
print("select err 0:", pcall(select, 0, "a"))
print("select err -5:", pcall(select, -5, "a"))
print("select err str:", pcall(select, "x"))
local pk = table.pack()
print("pack empty:", pk.n, pk[1])
pk = table.pack(nil, 2, nil)
print("pack nils:", pk.n, pk[1], pk[2], pk[3])
print("unpack:", table.unpack({1, 2, 3}))
print("unpack range:", table.unpack({1, 2, 3, 4, 5}, 2, 4))
print("unpack beyond:", table.unpack({1, 2}, 1, 4))
print("unpack empty range:", select('#', table.unpack({1, 2}, 3, 2)))
print("unpack neg:", table.unpack({[-1] = "m", [0] = "z", [1] = "o"}, -1, 1))
print("unpack with n:", table.unpack(pk, 1, pk.n))
print("unpack too many:", pcall(table.unpack, {}, 1, 1e8))
-- varargs passed through
local function pass(...) return ... end
print("pass through:", pass(1, nil, 3))
print("pass count:", select('#', pass(nil, nil)))
-- varargs in nested function (must be captured explicitly)
local function wrap(...)
  local args = {...}
  return function() return table.unpack(args) end
end
print("captured varargs:", wrap("a", "b")())
-- tail call results
local function tail(...) return select('#', ...), ... end
print("tail:", tail(1, 2))
-- method call with varargs
local obj = {name = "obj"}
function obj:m(...) return self.name, select('#', ...) end
print("method varargs:", obj:m(1, 2, 3))
-- string functions returning multiple values
print("find multi:", ("hello world"):find("(o)(r)"))
print("byte multi:", ("abc"):byte(1, -1))
-- varargs sum
local function sum(...)
  local s = 0
  for i = 1, select('#', ...) do s = s + (select(i, ...)) end
  return s
end
print("sum:", sum(1, 2, 3, 4, 5.5))
print("sum of unpack:", sum(table.unpack({1, 2, 3, 4, 5, 6, 7, 8, 9, 10})))
-- many args
local many = {}
for i = 1, 200 do many[i] = i end
print("many args count:", select('#', table.unpack(many)))
print("many args sum:", sum(table.unpack(many)))
-- return in the middle of expression list
local function mr() return 1, 2 end
local tt = {mr(), mr(), k = mr()}
print("keyed field adjust:", #tt, tt.k)
print("string.format multi:", string.format("%d %d %d", three()))
print("math.max multi:", math.max(three()))
