-- Binary trees: allocate and walk many short-lived and one long-lived tree.
-- Usage: binary_trees.lua [MAXDEPTH]
local maxDepthArg = tonumber(arg and arg[1]) or 14
local function make(depth)
  if depth == 0 then return {} end
  depth = depth - 1
  return {make(depth), make(depth)}
end
local function check(tree)
  local left = tree[1]
  if left == nil then return 1 end
  return 1 + check(left) + check(tree[2])
end
local minDepth = 4
local maxDepth = math.max(minDepth + 2, maxDepthArg)
local stretch = maxDepth + 1
print(string.format("stretch tree of depth %d\t check: %d", stretch, check(make(stretch))))
local longLived = make(maxDepth)
for depth = minDepth, maxDepth, 2 do
  local iterations = 2 ^ (maxDepth - depth + minDepth)
  local total = 0
  for _ = 1, iterations do total = total + check(make(depth)) end
  print(string.format("%d\t trees of depth %d\t check: %d", iterations, depth, total))
end
print(string.format("long lived tree of depth %d\t check: %d", maxDepth, check(longLived)))
