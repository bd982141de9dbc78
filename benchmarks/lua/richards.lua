-- Richards: simulation of an operating system task scheduler (idle task, worker,
-- two handlers, two devices exchanging packets).  Usage: richards.lua [ITERATIONS]
local iterations = tonumber(arg and arg[1]) or 200
local COUNT = 1000
local EXPECTED_QUEUE_COUNT, EXPECTED_HOLD_COUNT = 2322, 928
local ID_IDLE, ID_WORKER, ID_HANDLER_A, ID_HANDLER_B, ID_DEVICE_A, ID_DEVICE_B = 1, 2, 3, 4, 5, 6
local KIND_DEVICE, KIND_WORK = 0, 1
local DATA_SIZE = 4

-- 16-bit exclusive or without bitwise operators (the common subset of Lua 5.1 and 5.4)
local function xor16(a, b)
  local r, bit = 0, 1
  for _ = 1, 16 do
    local x, y = a % 2, b % 2
    if x ~= y then r = r + bit end
    a = (a - x) / 2; b = (b - y) / 2
    bit = bit * 2
  end
  return r
end

local Packet = {}
Packet.__index = Packet
function Packet.new(link, id, kind)
  local data = {}
  for i = 1, DATA_SIZE do data[i] = 0 end
  return setmetatable({link = link, id = id, kind = kind, a1 = 0, a2 = data}, Packet)
end
function Packet:addTo(queue)
  self.link = nil
  if queue == nil then return self end
  local last = queue
  local nxt = last.link
  while nxt ~= nil do last = nxt; nxt = last.link end
  last.link = self
  return queue
end

-- task control block; the state is three flags instead of a bit set
local Tcb = {}
Tcb.__index = Tcb
function Tcb.new(link, id, priority, queue, task)
  return setmetatable({link = link, id = id, priority = priority, queue = queue, task = task,
    held = false, suspended = true, runnable = queue ~= nil}, Tcb)
end
function Tcb:setRunning() self.held = false; self.suspended = false; self.runnable = false end
function Tcb:markAsNotHeld() self.held = false end
function Tcb:markAsHeld() self.held = true end
function Tcb:markAsSuspended() self.suspended = true end
function Tcb:markAsRunnable() self.runnable = true end
function Tcb:isHeldOrSuspended()
  return self.held or (self.suspended and not self.runnable)
end
function Tcb:run()
  local packet
  if self.suspended and self.runnable and not self.held then
    packet = self.queue
    self.queue = packet.link
    self.suspended = false
    self.runnable = self.queue ~= nil
  end
  return self.task:run(packet)
end
function Tcb:checkPriorityAdd(task, packet)
  if self.queue == nil then
    self.queue = packet
    self:markAsRunnable()
    if self.priority > task.priority then return self end
  else
    self.queue = packet:addTo(self.queue)
  end
  return task
end

local Scheduler = {}
Scheduler.__index = Scheduler
function Scheduler.new()
  return setmetatable({queueCount = 0, holdCount = 0, blocks = {}, list = nil, currentTcb = nil, currentId = nil}, Scheduler)
end
function Scheduler:addTask(id, priority, queue, task)
  self.currentTcb = Tcb.new(self.list, id, priority, queue, task)
  self.list = self.currentTcb
  self.blocks[id] = self.currentTcb
end
function Scheduler:addRunningTask(id, priority, queue, task)
  self:addTask(id, priority, queue, task)
  self.currentTcb:setRunning()
end
function Scheduler:schedule()
  local tcb = self.list
  while tcb ~= nil do
    if tcb:isHeldOrSuspended() then
      tcb = tcb.link
    else
      self.currentTcb = tcb
      self.currentId = tcb.id
      tcb = tcb:run()
    end
    self.currentTcb = tcb or self.currentTcb
  end
end
function Scheduler:release(id)
  local tcb = self.blocks[id]
  if tcb == nil then return nil end
  tcb:markAsNotHeld()
  if tcb.priority > self.currentTcb.priority then return tcb end
  return self.currentTcb
end
function Scheduler:holdCurrent()
  self.holdCount = self.holdCount + 1
  self.currentTcb:markAsHeld()
  return self.currentTcb.link
end
function Scheduler:suspendCurrent()
  self.currentTcb:markAsSuspended()
  return self.currentTcb
end
function Scheduler:queue(packet)
  local t = self.blocks[packet.id]
  if t == nil then return nil end
  self.queueCount = self.queueCount + 1
  packet.link = nil
  packet.id = self.currentId
  return t:checkPriorityAdd(self.currentTcb, packet)
end

local IdleTask = {}
IdleTask.__index = IdleTask
function IdleTask:run(packet)
  local s = self.scheduler
  self.count = self.count - 1
  if self.count == 0 then return s:holdCurrent() end
  if self.v1 % 2 == 0 then
    self.v1 = self.v1 / 2
    return s:release(ID_DEVICE_A)
  end
  self.v1 = xor16((self.v1 - 1) / 2, 0xD008)
  return s:release(ID_DEVICE_B)
end

local WorkerTask = {}
WorkerTask.__index = WorkerTask
function WorkerTask:run(packet)
  local s = self.scheduler
  if packet == nil then return s:suspendCurrent() end
  if self.v1 == ID_HANDLER_A then self.v1 = ID_HANDLER_B else self.v1 = ID_HANDLER_A end
  packet.id = self.v1
  packet.a1 = 0
  for i = 1, DATA_SIZE do
    self.v2 = self.v2 + 1
    if self.v2 > 26 then self.v2 = 1 end
    packet.a2[i] = self.v2
  end
  return s:queue(packet)
end

local HandlerTask = {}
HandlerTask.__index = HandlerTask
function HandlerTask:run(packet)
  local s = self.scheduler
  if packet ~= nil then
    if packet.kind == KIND_WORK then self.v1 = packet:addTo(self.v1) else self.v2 = packet:addTo(self.v2) end
  end
  local work = self.v1
  if work ~= nil then
    local count = work.a1
    if count < DATA_SIZE then
      local dev = self.v2
      if dev ~= nil then
        self.v2 = dev.link
        dev.a1 = work.a2[count + 1]
        work.a1 = count + 1
        return s:queue(dev)
      end
    else
      self.v1 = work.link
      return s:queue(work)
    end
  end
  return s:suspendCurrent()
end

local DeviceTask = {}
DeviceTask.__index = DeviceTask
function DeviceTask:run(packet)
  local s = self.scheduler
  if packet == nil then
    local v = self.v1
    if v == nil then return s:suspendCurrent() end
    self.v1 = nil
    return s:queue(v)
  end
  self.v1 = packet
  return s:holdCurrent()
end

local function runRichards()
  local s = Scheduler.new()
  s:addRunningTask(ID_IDLE, 0, nil, setmetatable({scheduler = s, v1 = 1, count = COUNT}, IdleTask))
  local queue = Packet.new(nil, ID_WORKER, KIND_WORK)
  queue = Packet.new(queue, ID_WORKER, KIND_WORK)
  s:addTask(ID_WORKER, 1000, queue, setmetatable({scheduler = s, v1 = ID_HANDLER_A, v2 = 0}, WorkerTask))
  queue = Packet.new(nil, ID_DEVICE_A, KIND_DEVICE)
  queue = Packet.new(queue, ID_DEVICE_A, KIND_DEVICE)
  queue = Packet.new(queue, ID_DEVICE_A, KIND_DEVICE)
  s:addTask(ID_HANDLER_A, 2000, queue, setmetatable({scheduler = s}, HandlerTask))
  queue = Packet.new(nil, ID_DEVICE_B, KIND_DEVICE)
  queue = Packet.new(queue, ID_DEVICE_B, KIND_DEVICE)
  queue = Packet.new(queue, ID_DEVICE_B, KIND_DEVICE)
  s:addTask(ID_HANDLER_B, 3000, queue, setmetatable({scheduler = s}, HandlerTask))
  s:addTask(ID_DEVICE_A, 4000, nil, setmetatable({scheduler = s}, DeviceTask))
  s:addTask(ID_DEVICE_B, 5000, nil, setmetatable({scheduler = s}, DeviceTask))
  s:schedule()
  return s.queueCount, s.holdCount
end

local qc, hc
local ok = 0
for _ = 1, iterations do
  qc, hc = runRichards()
  if qc == EXPECTED_QUEUE_COUNT and hc == EXPECTED_HOLD_COUNT then ok = ok + 1 end
end
print(string.format("richards: %d iterations, queue count %d, hold count %d, %d/%d runs as expected", iterations, qc, hc, ok, iterations))
