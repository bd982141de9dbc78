-- Table-heavy program: inventory, grouping, joins, a priority queue, memo tables, LRU
local seed = 42
local function rand(n) seed = (seed * 6364136223846793005 + 1442695040888963407); return ((seed >> 33) % n) + 1 end
local categories = {"tools", "food", "books", "toys", "garden"}
local items = {}
for i = 1, 2000 do
  items[i] = {id = i, cat = categories[rand(#categories)], price = rand(10000) / 100, qty = rand(50) - 1}
end
-- group by category
local groups = {}
for _, it in ipairs(items) do
  local g = groups[it.cat]
  if not g then g = {count = 0, value = 0, ids = {}}; groups[it.cat] = g end
  g.count = g.count + 1
  g.value = g.value + it.price * it.qty
  g.ids[#g.ids + 1] = it.id
end
local cats = {}
for c in pairs(groups) do cats[#cats + 1] = c end
table.sort(cats)
for _, c in ipairs(cats) do
  local g = groups[c]
  print(string.format("group %-7s count=%4d value=%12.2f first=%d last=%d", c, g.count, g.value, g.ids[1], g.ids[#g.ids]))
end
-- index and join
local byId = {}
for _, it in ipairs(items) do byId[it.id] = it end
local orders = {}
for i = 1, 500 do orders[i] = {item = rand(2000), n = rand(5)} end
local revenue = 0
for _, o in ipairs(orders) do revenue = revenue + byId[o.item].price * o.n end
print("revenue:", string.format("%.2f", revenue))
-- binary heap priority queue
local Heap = {}
Heap.__index = Heap
function Heap.new(cmp) return setmetatable({n = 0, cmp = cmp}, Heap) end
function Heap:push(v)
  self.n = self.n + 1
  local i = self.n
  self[i] = v
  while i > 1 do
    local p = i // 2
    if self.cmp(self[i], self[p]) then self[i], self[p] = self[p], self[i]; i = p else break end
  end
end
function Heap:pop()
  if self.n == 0 then return nil end
  local top = self[1]
  self[1] = self[self.n]; self[self.n] = nil; self.n = self.n - 1
  local i = 1
  while true do
    local l, r, m = 2 * i, 2 * i + 1, i
    if l <= self.n and self.cmp(self[l], self[m]) then m = l end
    if r <= self.n and self.cmp(self[r], self[m]) then m = r end
    if m == i then break end
    self[i], self[m] = self[m], self[i]
    i = m
  end
  return top
end
local heap = Heap.new(function(a, b) if a.price ~= b.price then return a.price > b.price end return a.id < b.id end)
for _, it in ipairs(items) do heap:push(it) end
local top5 = {}
for i = 1, 5 do local it = heap:pop(); top5[i] = it.id .. ":" .. string.format("%.2f", it.price) end
print("most expensive:", table.concat(top5, " "))
local popped = 5
while heap:pop() do popped = popped + 1 end
print("heap drained:", popped, heap.n)
-- LRU cache with doubly-linked list stored in tables
local function LRU(cap)
  local map, head, tail, size = {}, {}, {}, 0
  head.next, tail.prev = tail, head
  local function unlink(node) node.prev.next, node.next.prev = node.next, node.prev end
  local function front(node) node.next, node.prev = head.next, head; head.next.prev = node; head.next = node end
  local self = {hits = 0, misses = 0, evictions = 0}
  function self.get(k)
    local node = map[k]
    if not node then self.misses = self.misses + 1; return nil end
    self.hits = self.hits + 1
    unlink(node); front(node)
    return node.v
  end
  function self.put(k, v)
    local node = map[k]
    if node then node.v = v; unlink(node); front(node); return end
    if size == cap then
      local lru = tail.prev
      unlink(lru); map[lru.k] = nil; size = size - 1
      self.evictions = self.evictions + 1
    end
    node = {k = k, v = v}
    front(node); map[k] = node; size = size + 1
  end
  function self.keys() local r, n = {}, head.next; while n ~= tail do r[#r + 1] = n.k; n = n.next end return r end
  return self
end
local cache = LRU(50)
for i = 1, 5000 do
  local k = rand(120)
  if not cache.get(k) then cache.put(k, k * k) end
end
print("lru:", cache.hits, cache.misses, cache.evictions, #cache.keys())
-- sparse matrix as nested tables with string keys
local sparse = {}
for i = 1, 3000 do
  local r, c = rand(100), rand(100)
  local key = r .. "," .. c
  sparse[key] = (sparse[key] or 0) + 1
end
local nkeys, maxv, maxk = 0, 0, ""
for k, v in pairs(sparse) do nkeys = nkeys + 1; if v > maxv or (v == maxv and k < maxk) then maxv, maxk = v, k end end
print("sparse:", nkeys, maxv, maxk)
-- table.move / table.concat / table.unpack with large tables
local big = {}
for i = 1, 10000 do big[i] = i end
table.move(big, 1, 5000, 5001)
local s = 0
for i = 1, #big do s = s + big[i] end
print("after move:", #big, s, big[5001], big[10000])
local parts = {}
for i = 1, 1000 do parts[i] = i % 10 end
print("concat length:", #table.concat(parts), #table.concat(parts, ", "))
-- removing while iterating backward
local arr = {}
for i = 1, 100 do arr[i] = i end
for i = #arr, 1, -1 do if arr[i] % 3 ~= 0 then table.remove(arr, i) end end
print("filtered:", #arr, arr[1], arr[#arr])
-- nested tables as tree, depth-first traversal
local function build(d) if d == 0 then return {leaf = true} end return {build(d - 1), build(d - 1), depth = d} end
local function countLeaves(t) if t.leaf then return 1 end return countLeaves(t[1]) + countLeaves(t[2]) end
print("tree leaves:", countLeaves(build(12)))
