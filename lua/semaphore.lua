-- require "ngx.semaphore": objects over the host's semaphore registry.
local C = ...
local setmetatable, type, error, getmetatable = setmetatable, type, error, getmetatable
local sema_new, sema_post, sema_wait, sema_count, sema_free = C.sema_new, C.sema_post, C.sema_wait, C.sema_count, C.sema_free

local _M = { version = "0.1.25" }
local mt = {}
mt.__index = mt

local function id_of(self)
    if type(self) ~= "table" or getmetatable(self) ~= mt then
        error("not a semaphore instance", 3)
    end
    return self[1]
end

function _M.new(n)
    n = tonumber(n) or 0
    if n < 0 then return nil, "no negative number" end
    local id = sema_new(n)
    return setmetatable({ id }, mt)
end

function mt.post(self, n) return sema_post(id_of(self), n) end
function mt.wait(self, seconds)
    if type(seconds) ~= "number" or seconds < 0 then
        error("bad 'seconds' argument", 2)
    end
    return sema_wait(id_of(self), seconds)
end
function mt.count(self) return sema_count(id_of(self)) end
mt.__gc = function(self) sema_free(self[1]) end

package.loaded["ngx.semaphore"] = _M
