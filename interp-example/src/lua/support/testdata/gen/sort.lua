-- kind \t keys \t result
math.randomseed(2024)
local function run(kind, keys, k)
  local t = {}
  for i, key in ipairs(keys) do t[i] = {key = key, id = i} end
  local calls = 0
  local cmp
  if kind == "lt" then cmp = function(a, b) return a.key < b.key end
  elseif kind == "le" then cmp = function(a, b) return a.key <= b.key end
  elseif kind == "gt" then cmp = function(a, b) return a.key > b.key end
  elseif kind == "true" then cmp = function(a, b) return true end
  elseif kind == "false" then cmp = function(a, b) return false end
  elseif kind == "mod" then cmp = function(a, b) return a.key % 3 < b.key % 5 end
  elseif kind == "count" then cmp = function(a, b) calls = calls + 1; return calls % 7 < 3 end
  elseif kind == "err" then cmp = function(a, b) calls = calls + 1; if calls == k then error("boom") end; return a.key < b.key end
  end
  local ok, e = pcall(table.sort, t, cmp)
  local ids = {}
  for i = 1, #t do ids[i] = t[i].id end
  local res = table.concat(ids, " ")
  if not ok then res = "ERR " .. tostring(e):gsub("^.-:%d+: ", "") .. " | " .. res end
  print(kind .. (k and (":" .. k) or "") .. "\t" .. table.concat(keys, " ") .. "\t" .. res)
end
local kinds = {"lt", "le", "gt", "true", "false", "mod", "count"}
for n = 0, 40 do
  for rep = 1, 3 do
    local keys = {}
    for i = 1, n do keys[i] = math.random(0, n // 2 + 1) end
    for _, kind in ipairs(kinds) do run(kind, keys) end
    if n > 2 then run("err", keys, math.random(1, n)) end
  end
end
for _, n in ipairs{50, 64, 99, 100, 101, 127, 128, 129} do
  for rep = 1, 4 do
    local keys = {}
    for i = 1, n do keys[i] = math.random(0, 20) end
    for _, kind in ipairs(kinds) do run(kind, keys) end
    run("err", keys, math.random(1, 3 * n))
  end
  local asc, desc, same = {}, {}, {}
  for i = 1, n do asc[i] = i; desc[i] = n - i; same[i] = 5 end
  for _, keys in ipairs{asc, desc, same} do
    for _, kind in ipairs(kinds) do run(kind, keys) end
  end
end
-- bigger, distinct keys only (pivot randomization cannot change the result)
for _, n in ipairs{200, 500, 1000} do
  local keys = {}
  for i = 1, n do keys[i] = i end
  for i = n, 2, -1 do local j = math.random(i); keys[i], keys[j] = keys[j], keys[i] end
  run("lt", keys); run("gt", keys)
end
