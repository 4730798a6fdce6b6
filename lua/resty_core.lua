-- The lua-resty-core modules OpenResty code requires. Their features are built into ngxlua, so
-- `require "resty.core"` (and its parts) loads nothing more; the ngx.* modules of that package
-- that have no C-level twin here are provided from the primitives in C.
local C = ...
local type, error = type, error
local VERSION = "0.1.25"

local function module(t)
    t.version = t.version or VERSION
    return function() return t end
end

-- ngx_lua loads resty.core into every VM before any user code runs
package.loaded["resty.core"] = { version = VERSION }
for _, m in ipairs({ "base", "base64", "coroutine", "ctx", "exit", "hash", "misc", "ndk", "param",
                     "phase", "regex", "request", "response", "shdict", "socket", "time", "uri",
                     "utils", "var", "worker" }) do
    package.preload["resty.core." .. m] = module({})
end

package.preload["ngx.base64"] = module({
    encode_base64url = function(s)
        if type(s) ~= "string" then error("must provide a string", 2) end
        return C.encode_base64url(s)
    end,
    decode_base64url = function(s)
        if type(s) ~= "string" then return nil, "must provide a string" end
        return C.decode_base64url(s)
    end,
})

package.preload["ngx.process"] = module({
    type = C.process_type,
    get_master_pid = C.master_pid,
    enable_privileged_agent = function() return nil, "the privileged agent is not supported by ngxlua" end,
})

package.preload["ngx.resp"] = module({ add_header = C.resp_add_header })

package.preload["ngx.errlog"] = module({
    raw_log = C.raw_log,
    get_sys_filter_level = C.sys_filter_level,
    set_filter_level = function() return nil, "directive \"lua_capture_error_log\" is not set" end,
    get_logs = function() return nil, "directive \"lua_capture_error_log\" is not set" end,
})

-- ngx.balancer: the checks lua-resty-core makes before its FFI calls, in Lua; the rest in C
local function timeout(v, what)
    if not v then return 0 end
    if type(v) ~= "number" or v <= 0 then error("bad " .. what .. " timeout", 3) end
    return v * 1000
end

package.preload["ngx.balancer"] = module({
    set_current_peer = function(addr, port)
        if port ~= nil and type(port) ~= "number" then port = tonumber(port) end
        return C.balancer_set_current_peer(addr, port)
    end,
    set_more_tries = C.balancer_set_more_tries,
    get_last_failure = C.balancer_get_last_failure,
    set_timeouts = function(connect, send, read)
        local c, s, r = timeout(connect, "connect"), timeout(send, "send"), timeout(read, "read")
        local ok, err = C.balancer_set_timeouts(c, s, r)
        if ok then return true end
        return false, err
    end,
    recreate_request = C.balancer_recreate_request,
})
