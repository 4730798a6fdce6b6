-- require "ngx.semaphore": the module lua-resty-core ships, over the host's semaphore registry.
-- Argument handling follows that module: errors at level 2, tonumber() on counts.
local C = ...
local setmetatable, type, error, tonumber = setmetatable, type, error, tonumber
local sema_new, sema_post, sema_wait, sema_count, sema_free = C.sema_new, C.sema_post, C.sema_wait, C.sema_count, C.sema_free

local _M = { version = "0.1.25" }
local mt = {}
mt.__index = mt

local function check(self)
    if type(self) ~= "table" or type(self.sem) ~= "number" then
        error("not a semaphore instance", 3)
    end
    return self.sem
end

function _M.new(n)
    n = tonumber(n) or 0
    if n < 0 then
        error("no negative number", 2)
    end
    return setmetatable({ sem = sema_new(n) }, mt)
end

local function pass(...) return ... end

function mt.wait(self, seconds)
    local id = check(self)
    local ms = tonumber(seconds) * 1000
    if ms < 0 then
        error("no negative number", 2)
    end
    -- not a tail call, so that an error's position names this file, as lua-resty-core's does
    return pass(sema_wait(id, ms))
end

function mt.post(self, n)
    local id = check(self)
    local num = n and tonumber(n) or 1
    if num < 1 then
        error("positive number required", 2)
    end
    sema_post(id, num)
    return true
end

function mt.count(self)
    return sema_count(check(self))
end

mt.__gc = function(self) sema_free(self.sem) end

package.loaded["ngx.semaphore"] = _M
