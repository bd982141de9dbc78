-- Havlak loop recognition on a generated control-flow graph (after Havlak 1997 and
-- the loop-tester benchmark): DFS numbering, union-find, back-edge classification and
-- a loop-structure forest.  Usage: havlak.lua [N]   (N = loop-finding passes)
local passes = tonumber(arg and arg[1]) or 20

-- control-flow graph --------------------------------------------------------
local function newBlock(name) return {name = name, inEdges = {}, outEdges = {}} end
local CFG = {}
CFG.__index = CFG
local function newCFG() return setmetatable({blocks = {}, numBlocks = 0, startNode = nil}, CFG) end
function CFG:createNode(name)
  local node = self.blocks[name]
  if node == nil then
    node = newBlock(name)
    self.blocks[name] = node
    self.numBlocks = self.numBlocks + 1
  end
  if self.numBlocks == 1 then self.startNode = node end
  return node
end
function CFG:addEdge(from, to)
  local a, b = self:createNode(from), self:createNode(to)
  a.outEdges[#a.outEdges + 1] = b
  b.inEdges[#b.inEdges + 1] = a
end

-- loop structure graph ------------------------------------------------------
local LSG = {}
LSG.__index = LSG
local function newLSG()
  local g = setmetatable({loops = {}, counter = 0}, LSG)
  g.root = g:createLoop(nil, true)
  g.root.isRoot = true
  g.root.nestingLevel = 0
  return g
end
function LSG:createLoop(header, reducible)
  local loop = {counter = self.counter, header = header, isReducible = reducible, isRoot = false,
    blocks = {}, children = {}, parent = nil, depthLevel = 0, nestingLevel = 0}
  self.counter = self.counter + 1
  self.loops[#self.loops + 1] = loop
  return loop
end
local function setParent(loop, parent)
  loop.parent = parent
  parent.children[#parent.children + 1] = loop
end
function LSG:calculateNestingLevel()
  for i = 1, #self.loops do
    local l = self.loops[i]
    if not l.isRoot and l.parent == nil then setParent(l, self.root) end
  end
  local maxDepth = 0
  -- iterative post-order walk computing depth (from the root) and nesting (height)
  local stack = {{self.root, 0, 0}}
  while #stack > 0 do
    local top = stack[#stack]
    local loop, depth, idx = top[1], top[2], top[3]
    loop.depthLevel = depth
    if depth > maxDepth then maxDepth = depth end
    if idx < #loop.children then
      top[3] = idx + 1
      stack[#stack + 1] = {loop.children[idx + 1], depth + 1, 0}
    else
      stack[#stack] = nil
      local parent = loop.parent
      if parent ~= nil and loop.nestingLevel + 1 > parent.nestingLevel then
        parent.nestingLevel = loop.nestingLevel + 1
      end
    end
  end
  return maxDepth
end

-- union-find nodes ------------------------------------------------------------
local function findSet(node)
  local path = {}
  local r = node
  while r.parent ~= r do
    if r.parent.parent ~= r.parent then path[#path + 1] = r end
    r = r.parent
  end
  for i = 1, #path do path[i].parent = r.parent end
  return r
end

-- Havlak's algorithm ----------------------------------------------------------
local BB_NONHEADER, BB_REDUCIBLE, BB_SELF, BB_IRREDUCIBLE, BB_DEAD = 1, 2, 3, 4, 5
local UNVISITED = -1
local MAXNONBACKPREDS = 32 * 1024

local function findLoops(cfg, lsg)
  if cfg.startNode == nil then return 0 end
  local size = cfg.numBlocks
  local nonBackPreds, backPreds, number, header, kind, last, nodes = {}, {}, {}, {}, {}, {}, {}
  for w = 0, size - 1 do
    nonBackPreds[w] = {}
    backPreds[w] = {}
    nodes[w] = {}
  end
  for _, bb in pairs(cfg.blocks) do number[bb] = UNVISITED end

  -- iterative depth-first numbering
  local stack = {{cfg.startNode, 0}}
  local current = 0
  number[cfg.startNode] = 0
  local n0 = nodes[0]
  n0.parent, n0.bb, n0.dfs, n0.loop = n0, cfg.startNode, 0, nil
  while #stack > 0 do
    local top = stack[#stack]
    local bb, idx = top[1], top[2]
    if idx < #bb.outEdges then
      top[2] = idx + 1
      local target = bb.outEdges[idx + 1]
      if number[target] == UNVISITED then
        current = current + 1
        number[target] = current
        local nd = nodes[current]
        nd.parent, nd.bb, nd.dfs, nd.loop = nd, target, current, nil
        stack[#stack + 1] = {target, 0}
      end
    else
      last[number[bb]] = current
      stack[#stack] = nil
    end
  end

  -- classify predecessors as back or non-back edges
  for w = 0, size - 1 do
    header[w] = 0
    kind[w] = BB_NONHEADER
    local nodeW = nodes[w].bb
    if nodeW == nil then
      kind[w] = BB_DEAD
    else
      for _, v in ipairs(nodeW.inEdges) do
        local vnum = number[v]
        if vnum ~= UNVISITED then
          if w <= vnum and vnum <= last[w] then
            backPreds[w][#backPreds[w] + 1] = vnum
          else
            nonBackPreds[w][vnum] = true
          end
        end
      end
    end
  end
  header[0] = 0

  -- process nodes in reverse DFS order, collapsing loop bodies with union-find
  for w = size - 1, 0, -1 do
    local nodeW = nodes[w].bb
    if nodeW ~= nil then
      local pool, inPool = {}, {}
      for _, v in ipairs(backPreds[w]) do
        if v ~= w then
          local s = findSet(nodes[v])
          if not inPool[s] then pool[#pool + 1] = s; inPool[s] = true end
        else
          kind[w] = BB_SELF
        end
      end
      local work = {}
      for i = 1, #pool do work[i] = pool[i] end
      if #pool ~= 0 then kind[w] = BB_REDUCIBLE end
      local head = 1
      while head <= #work do
        local x = work[head]
        head = head + 1
        local preds = nonBackPreds[x.dfs]
        local count = 0
        for _ in pairs(preds) do count = count + 1 end
        if count > MAXNONBACKPREDS then return 0 end
        -- visit predecessors in a deterministic order
        local sorted = {}
        for p in pairs(preds) do sorted[#sorted + 1] = p end
        table.sort(sorted)
        for _, p in ipairs(sorted) do
          local ydash = findSet(nodes[p])
          if not (w <= ydash.dfs and ydash.dfs <= last[w]) then
            kind[w] = BB_IRREDUCIBLE
            nonBackPreds[w][ydash.dfs] = true
          elseif ydash.dfs ~= w and not inPool[ydash] then
            work[#work + 1] = ydash
            pool[#pool + 1] = ydash
            inPool[ydash] = true
          end
        end
      end
      if #pool > 0 or kind[w] == BB_SELF then
        local loop = lsg:createLoop(nodeW, kind[w] ~= BB_IRREDUCIBLE)
        nodes[w].loop = loop
        for _, node in ipairs(pool) do
          header[node.dfs] = w
          node.parent = nodes[w]
          if node.loop ~= nil then
            setParent(node.loop, loop)
          else
            loop.blocks[#loop.blocks + 1] = node.bb
          end
        end
      end
    end
  end
  return #lsg.loops - 1
end

-- graph builders (the loop-tester shapes) --------------------------------------
local cfg = newCFG()
local function connect(a, b) cfg:addEdge(a, b) end
local function diamond(start)
  connect(start, start + 1)
  connect(start, start + 2)
  connect(start + 1, start + 3)
  connect(start + 2, start + 3)
  return start + 3
end
local function straight(start, n)
  for i = 0, n - 1 do connect(start + i, start + i + 1) end
  return start + n
end
local function baseLoop(from)
  local header = straight(from, 1)
  local diamond1 = diamond(header)
  local d11 = straight(diamond1, 1)
  local diamond2 = diamond(d11)
  local footer = straight(diamond2, 1)
  connect(diamond2, d11)
  connect(diamond1, header)
  connect(footer, from)
  return straight(footer, 1)
end

cfg:createNode(0)
baseLoop(0)
cfg:createNode(1)
connect(0, 2)
local n = 2
for _ = 1, 10 do
  cfg:createNode(n + 1)
  connect(2, n + 1)
  n = n + 1
  for _ = 1, 10 do
    local top = n
    n = straight(n, 1)
    for _ = 1, 5 do n = baseLoop(n) end
    local bottom = straight(n, 1)
    connect(n, top)
    n = bottom
  end
  connect(n, 1)
end

local loops, depth, reducible = 0, 0, 0
for _ = 1, passes do
  local lsg = newLSG()
  loops = findLoops(cfg, lsg)
  depth = lsg:calculateNestingLevel()
  reducible = 0
  for _, l in ipairs(lsg.loops) do if l.isReducible and not l.isRoot then reducible = reducible + 1 end end
end
print(string.format("havlak: %d blocks, %d passes, %d loops (%d reducible), max depth %d", cfg.numBlocks, passes, loops, reducible, depth))
