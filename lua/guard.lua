-- Warns when request code creates a global variable: globals are shared by every request of
-- the worker. Installed after init_by_lua; the log call must stay on line 12, where users'
-- log filters expect "_G write guard:12: __newindex()".
local ngx_log, WARN, tostring = ngx.log, ngx.WARN, tostring
local get_phase, traceback, rawset = ngx.get_phase, debug.traceback, rawset
setmetatable(_G, { __newindex = function(t, k, v)
    rawset(t, k, v)
    local phase = get_phase()
    if phase == "init" or phase == "init_worker" then
        return
    end
    ngx_log(WARN, "writing a global Lua variable ('", tostring(k), "') which may lead to race conditions between concurrent requests, so prefer the use of 'local' variables", traceback('', 2))
end })
