-- lua_max_running_time and lua_max_memory: tell the watchdog (native/limits.c) where the
-- machine code of each trace lies, so that a signal landing in a compiled loop can leave it by
-- the trace's exit 0, and so that the allocator knows when compiled code is asking. Exit 0 is
-- offered only when it restores no slot (its map holds just the base frame): such an exit is
-- valid from anywhere in the trace. Others (a side trace that starts with values of its
-- parent's registers, or inside an inlined call) have no exit offered.
local limits = package.loaded["ngxlua.limits"]
local jutil = require "jit.util"
local tracemc, tracesnap, traceexitstub = jutil.tracemc, jutil.tracesnap, jutil.traceexitstub

jit.attach(function(what, tr)
  if what == "stop" then
    local mcode, addr = tracemc(tr)
    if not mcode or not addr then return end
    local snap = tracesnap(tr, 0)
    local exitable = snap and snap[3] == nil
    limits.trace(addr, #mcode, exitable and traceexitstub(0) or nil)
  elseif what == "flush" then
    limits.flush()
  end
end, "trace")
