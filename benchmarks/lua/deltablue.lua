-- DeltaBlue: incremental dataflow constraint solver (chain and projection tests).
-- Usage: deltablue.lua [N]   (N = chain length / number of projections; repeated 20 times)
local n = tonumber(arg and arg[1]) or 1000
local REPEAT = 20

-- strengths: smaller is stronger
local REQUIRED, STRONG_PREFERRED, PREFERRED, STRONG_DEFAULT, NORMAL, WEAK_DEFAULT, WEAKEST = 0, 1, 2, 3, 4, 5, 6
local function stronger(a, b) return a < b end
local function weaker(a, b) return a > b end
local function weakestOf(a, b) if weaker(a, b) then return a end return b end
local NONE, FORWARD, BACKWARD = 0, 1, 2

local planner -- the current planner, used by constraints while they are added

local function removeAll(list, elem)
  local j = 0
  local count = #list
  for i = 1, count do
    local v = list[i]
    if v ~= elem then j = j + 1; list[j] = v end
  end
  for i = count, j + 1, -1 do list[i] = nil end
end

-- a FIFO work list
local Queue = {}
Queue.__index = Queue
local function newQueue() return setmetatable({first = 1, last = 0}, Queue) end
function Queue:add(v) self.last = self.last + 1; self[self.last] = v end
function Queue:isEmpty() return self.first > self.last end
function Queue:removeFirst()
  local v = self[self.first]
  self[self.first] = nil
  self.first = self.first + 1
  return v
end

local Variable = {}
Variable.__index = Variable
local function newVariable(name, value)
  return setmetatable({name = name, value = value, constraints = {}, determinedBy = nil, mark = 0, walkStrength = WEAKEST, stay = true}, Variable)
end
function Variable:addConstraint(c) self.constraints[#self.constraints + 1] = c end
function Variable:removeConstraint(c)
  removeAll(self.constraints, c)
  if self.determinedBy == c then self.determinedBy = nil end
end

-- abstract constraint
local Constraint = {}
Constraint.__index = Constraint
function Constraint:addConstraint()
  self:addToGraph()
  planner:incrementalAdd(self)
end
function Constraint:satisfy(mark)
  self:chooseMethod(mark)
  if not self:isSatisfied() then
    if self.strength == REQUIRED then error("could not satisfy a required constraint") end
    return nil
  end
  self:markInputs(mark)
  local out = self:output()
  local overridden = out.determinedBy
  if overridden ~= nil then overridden:markUnsatisfied() end
  out.determinedBy = self
  if not planner:addPropagate(self, mark) then error("cycle encountered") end
  out.mark = mark
  return overridden
end
function Constraint:destroyConstraint()
  if self:isSatisfied() then planner:incrementalRemove(self) end
  self:removeFromGraph()
end
function Constraint:isInput() return false end

-- unary constraints: stay and edit
local UnaryConstraint = setmetatable({}, {__index = Constraint})
UnaryConstraint.__index = UnaryConstraint
function UnaryConstraint.init(self, v, strength)
  self.strength = strength
  self.myOutput = v
  self.satisfied = false
  self:addConstraint()
  return self
end
function UnaryConstraint:addToGraph() self.myOutput:addConstraint(self); self.satisfied = false end
function UnaryConstraint:chooseMethod(mark)
  self.satisfied = self.myOutput.mark ~= mark and stronger(self.strength, self.myOutput.walkStrength)
end
function UnaryConstraint:isSatisfied() return self.satisfied end
function UnaryConstraint:markInputs(mark) end
function UnaryConstraint:output() return self.myOutput end
function UnaryConstraint:recalculate()
  local out = self.myOutput
  out.walkStrength = self.strength
  out.stay = not self:isInput()
  if out.stay then self:execute() end
end
function UnaryConstraint:markUnsatisfied() self.satisfied = false end
function UnaryConstraint:inputsKnown(mark) return true end
function UnaryConstraint:removeFromGraph()
  if self.myOutput ~= nil then self.myOutput:removeConstraint(self) end
  self.satisfied = false
end

local StayConstraint = setmetatable({}, {__index = UnaryConstraint})
StayConstraint.__index = StayConstraint
function StayConstraint:execute() end
local function newStay(v, strength) return UnaryConstraint.init(setmetatable({}, StayConstraint), v, strength) end

local EditConstraint = setmetatable({}, {__index = UnaryConstraint})
EditConstraint.__index = EditConstraint
function EditConstraint:isInput() return true end
function EditConstraint:execute() end
local function newEdit(v, strength) return UnaryConstraint.init(setmetatable({}, EditConstraint), v, strength) end

-- binary constraints: equality and scale
local BinaryConstraint = setmetatable({}, {__index = Constraint})
BinaryConstraint.__index = BinaryConstraint
function BinaryConstraint.init(self, v1, v2, strength)
  self.strength = strength
  self.v1, self.v2 = v1, v2
  self.direction = NONE
  self:addConstraint()
  return self
end
function BinaryConstraint:chooseMethod(mark)
  local v1, v2 = self.v1, self.v2
  if v1.mark == mark then
    if v2.mark ~= mark and stronger(self.strength, v2.walkStrength) then self.direction = FORWARD else self.direction = NONE end
    return
  end
  if v2.mark == mark then
    if v1.mark ~= mark and stronger(self.strength, v1.walkStrength) then self.direction = BACKWARD else self.direction = NONE end
    return
  end
  if weaker(v1.walkStrength, v2.walkStrength) then
    if stronger(self.strength, v1.walkStrength) then self.direction = BACKWARD else self.direction = NONE end
  else
    if stronger(self.strength, v2.walkStrength) then self.direction = FORWARD else self.direction = BACKWARD end
  end
end
function BinaryConstraint:addToGraph()
  self.v1:addConstraint(self)
  self.v2:addConstraint(self)
  self.direction = NONE
end
function BinaryConstraint:isSatisfied() return self.direction ~= NONE end
function BinaryConstraint:markInputs(mark) self:input().mark = mark end
function BinaryConstraint:input() if self.direction == FORWARD then return self.v1 end return self.v2 end
function BinaryConstraint:output() if self.direction == FORWARD then return self.v2 end return self.v1 end
function BinaryConstraint:recalculate()
  local ihn, out = self:input(), self:output()
  out.walkStrength = weakestOf(self.strength, ihn.walkStrength)
  out.stay = ihn.stay
  if out.stay then self:execute() end
end
function BinaryConstraint:markUnsatisfied() self.direction = NONE end
function BinaryConstraint:inputsKnown(mark)
  local i = self:input()
  return i.mark == mark or i.stay or i.determinedBy == nil
end
function BinaryConstraint:removeFromGraph()
  if self.v1 ~= nil then self.v1:removeConstraint(self) end
  if self.v2 ~= nil then self.v2:removeConstraint(self) end
  self.direction = NONE
end

local EqualityConstraint = setmetatable({}, {__index = BinaryConstraint})
EqualityConstraint.__index = EqualityConstraint
function EqualityConstraint:execute() self:output().value = self:input().value end
local function newEquality(v1, v2, strength) return BinaryConstraint.init(setmetatable({}, EqualityConstraint), v1, v2, strength) end

local ScaleConstraint = setmetatable({}, {__index = BinaryConstraint})
ScaleConstraint.__index = ScaleConstraint
function ScaleConstraint:addToGraph()
  BinaryConstraint.addToGraph(self)
  self.scale:addConstraint(self)
  self.offset:addConstraint(self)
end
function ScaleConstraint:removeFromGraph()
  BinaryConstraint.removeFromGraph(self)
  if self.scale ~= nil then self.scale:removeConstraint(self) end
  if self.offset ~= nil then self.offset:removeConstraint(self) end
end
function ScaleConstraint:markInputs(mark)
  BinaryConstraint.markInputs(self, mark)
  self.scale.mark = mark
  self.offset.mark = mark
end
function ScaleConstraint:execute()
  if self.direction == FORWARD then
    self.v2.value = self.v1.value * self.scale.value + self.offset.value
  else
    self.v1.value = (self.v2.value - self.offset.value) / self.scale.value
  end
end
function ScaleConstraint:recalculate()
  local ihn, out = self:input(), self:output()
  out.walkStrength = weakestOf(self.strength, ihn.walkStrength)
  out.stay = ihn.stay and self.scale.stay and self.offset.stay
  if out.stay then self:execute() end
end
local function newScale(src, scale, offset, dest, strength)
  local c = setmetatable({scale = scale, offset = offset}, ScaleConstraint)
  return BinaryConstraint.init(c, src, dest, strength)
end

-- plans
local Plan = {}
Plan.__index = Plan
function Plan:execute() for i = 1, #self do self[i]:execute() end end

local Planner = {}
Planner.__index = Planner
local function newPlanner() return setmetatable({currentMark = 0}, Planner) end
function Planner:newMark() self.currentMark = self.currentMark + 1; return self.currentMark end
function Planner:incrementalAdd(c)
  local mark = self:newMark()
  local overridden = c:satisfy(mark)
  while overridden ~= nil do overridden = overridden:satisfy(mark) end
end
function Planner:incrementalRemove(c)
  local out = c:output()
  c:markUnsatisfied()
  c:removeFromGraph()
  local unsatisfied = self:removePropagateFrom(out)
  for strength = REQUIRED, WEAKEST - 1 do
    for i = 1, #unsatisfied do
      local u = unsatisfied[i]
      if u.strength == strength then self:incrementalAdd(u) end
    end
  end
end
function Planner:makePlan(sources)
  local mark = self:newMark()
  local plan = setmetatable({}, Plan)
  local todo = sources
  while not todo:isEmpty() do
    local c = todo:removeFirst()
    local out = c:output()
    if out.mark ~= mark and c:inputsKnown(mark) then
      plan[#plan + 1] = c
      out.mark = mark
      self:addConstraintsConsumingTo(out, todo)
    end
  end
  return plan
end
function Planner:extractPlanFromConstraints(constraints)
  local sources = newQueue()
  for i = 1, #constraints do
    local c = constraints[i]
    if c:isInput() and c:isSatisfied() then sources:add(c) end
  end
  return self:makePlan(sources)
end
function Planner:addPropagate(c, mark)
  local todo = newQueue()
  todo:add(c)
  while not todo:isEmpty() do
    local d = todo:removeFirst()
    if d:output().mark == mark then
      self:incrementalRemove(c)
      return false
    end
    d:recalculate()
    self:addConstraintsConsumingTo(d:output(), todo)
  end
  return true
end
function Planner:removePropagateFrom(out)
  out.determinedBy = nil
  out.walkStrength = WEAKEST
  out.stay = true
  local unsatisfied = {}
  local todo = newQueue()
  todo:add(out)
  while not todo:isEmpty() do
    local v = todo:removeFirst()
    local cs = v.constraints
    for i = 1, #cs do
      local c = cs[i]
      if not c:isSatisfied() then unsatisfied[#unsatisfied + 1] = c end
    end
    local determining = v.determinedBy
    for i = 1, #cs do
      local nxt = cs[i]
      if nxt ~= determining and nxt:isSatisfied() then
        nxt:recalculate()
        todo:add(nxt:output())
      end
    end
  end
  return unsatisfied
end
function Planner:addConstraintsConsumingTo(v, coll)
  local determining = v.determinedBy
  local cs = v.constraints
  for i = 1, #cs do
    local c = cs[i]
    if c ~= determining and c:isSatisfied() then coll:add(c) end
  end
end

local checksum = 0
local function chainTest(len)
  planner = newPlanner()
  local prev, first, last
  for i = 0, len do
    local v = newVariable("v" .. i, 0)
    if prev ~= nil then newEquality(prev, v, REQUIRED) end
    if i == 0 then first = v end
    if i == len then last = v end
    prev = v
  end
  newStay(last, STRONG_DEFAULT)
  local edit = newEdit(first, PREFERRED)
  local plan = planner:extractPlanFromConstraints({edit})
  for i = 0, 99 do
    first.value = i
    plan:execute()
    if last.value ~= i then error("chain test failed") end
    checksum = checksum + last.value
  end
  edit:destroyConstraint()
end

local function change(v, newValue)
  local edit = newEdit(v, PREFERRED)
  local plan = planner:extractPlanFromConstraints({edit})
  for _ = 1, 10 do
    v.value = newValue
    plan:execute()
  end
  edit:destroyConstraint()
end

local function projectionTest(len)
  planner = newPlanner()
  local scale = newVariable("scale", 10)
  local offset = newVariable("offset", 1000)
  local src, dst
  local dests = {}
  for i = 0, len - 1 do
    src = newVariable("src" .. i, i)
    dst = newVariable("dst" .. i, i)
    dests[#dests + 1] = dst
    newStay(src, NORMAL)
    newScale(src, scale, offset, dst, REQUIRED)
  end
  change(src, 17)
  if dst.value ~= 1170 then error("projection 1 failed") end
  change(dst, 1050)
  if src.value ~= 5 then error("projection 2 failed") end
  change(scale, 5)
  for i = 0, len - 2 do
    if dests[i + 1].value ~= i * 5 + 1000 then error("projection 3 failed") end
  end
  change(offset, 2000)
  for i = 0, len - 2 do
    if dests[i + 1].value ~= i * 5 + 2000 then error("projection 4 failed") end
    checksum = checksum + dests[i + 1].value
  end
end

for _ = 1, REPEAT do
  chainTest(n)
  projectionTest(n)
end
print(string.format("deltablue: n=%d, %d rounds, checksum %d", n, REPEAT, checksum))
