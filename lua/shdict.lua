-- ngx.shared: one object per lua_shared_dict zone. Each object is { zone_handle } (a userdata)
-- with a shared metatable; the methods check their arguments the way lua-resty-core's FFI
-- wrappers (get/set family, incr, ttl, expire, flush_all, capacity, free_space) and
-- ngx_lua's C functions (lists, flush_expired, get_keys) do, then call the host store.
local C = ...
local type, tostring, tonumber, error, select, rawget = type, tostring, tonumber, error, select, rawget
local setmetatable, getinfo, format = setmetatable, debug.getinfo, string.format

local shd_get, shd_store, shd_incr = C.shd_get, C.shd_store, C.shd_incr
local shd_push, shd_pop, shd_llen = C.shd_push, C.shd_pop, C.shd_llen
local shd_ttl, shd_expire, shd_flush_all = C.shd_ttl, C.shd_expire, C.shd_flush_all
local shd_flush_expired, shd_get_keys = C.shd_flush_expired, C.shd_get_keys
local shd_capacity, shd_free_space = C.shd_capacity, C.shd_free_space

local OP_SET, OP_ADD, OP_REPLACE = 0, 1, 2

-- zone handle (userdata) -> zone id
local ids = setmetatable({}, { __mode = "k" })

-- the zone id of a dict object; the error blames the method's caller (level 3 from here)
local function zone_of(self)
    if type(self) ~= "table" then
        error('bad "zone" argument', 3)
    end
    local id = ids[rawget(self, 1)]
    if not id then
        error('bad "zone" argument', 3)
    end
    return id
end

-- nil when the key is unusable, with the error to return
local function check_key(key)
    if key == nil then
        return nil, "nil key"
    end
    if type(key) ~= "string" then
        key = tostring(key)
    end
    local n = #key
    if n == 0 then
        return nil, "empty key"
    end
    if n > 65535 then
        return nil, "key too long"
    end
    return key
end

-- luaL_argerror's message for argument n of the calling method
local function argerror(n, msg)
    local ar = getinfo(2, "n")
    if ar and ar.namewhat == "method" then
        n = n - 1
    end
    error(format("bad argument #%d to '%s' (%s)", n, ar and ar.name or "?", msg), 3)
end

-- the FFI's double -> int conversion check (flags)
local function check_int(v, argn, fname)
    if type(v) ~= "number" then
        error(format("bad argument #%d to '%s' (cannot convert '%s' to 'int')", argn, fname, type(v)))
    end
    return v
end

local function store(self, op, safe, key, value, exptime, flags)
    local id = zone_of(self)
    if not exptime then
        exptime = 0
    elseif exptime < 0 then
        error('bad "exptime" argument', 2)
    end
    if not flags then
        flags = 0
    end
    local k, err = check_key(key)
    if not k then
        return nil, err
    end
    local t = type(value)
    if t ~= "string" and t ~= "number" and t ~= "boolean" and value ~= nil then
        return nil, "bad value type"
    end
    check_int(flags, 10, "ngx_lua_ffi_shdict_store")
    return shd_store(id, k, value, op, safe, exptime, flags)
end

local dict = {}

function dict.set(self, key, value, exptime, flags)
    return store(self, OP_SET, false, key, value, exptime, flags)
end
function dict.safe_set(self, key, value, exptime, flags)
    return store(self, OP_SET, true, key, value, exptime, flags)
end
function dict.add(self, key, value, exptime, flags)
    return store(self, OP_ADD, false, key, value, exptime, flags)
end
function dict.safe_add(self, key, value, exptime, flags)
    return store(self, OP_ADD, true, key, value, exptime, flags)
end
function dict.replace(self, key, value, exptime, flags)
    return store(self, OP_REPLACE, false, key, value, exptime, flags)
end
function dict.delete(self, key)
    return store(self, OP_SET, false, key, nil)
end

function dict.get(self, key)
    local id = zone_of(self)
    local k, err = check_key(key)
    if not k then
        return nil, err
    end
    return shd_get(id, k, false)
end

function dict.get_stale(self, key)
    local id = zone_of(self)
    local k, err = check_key(key)
    if not k then
        return nil, err
    end
    return shd_get(id, k, true)
end

function dict.incr(self, key, value, init, init_ttl)
    local id = zone_of(self)
    local k, err = check_key(key)
    if not k then
        return nil, err
    end
    if type(value) ~= "number" then
        value = tonumber(value)
        if value == nil then
            error("cannot convert 'nil' to 'double'")
        end
    end
    if init then
        local t = type(init)
        if t ~= "number" then
            init = tonumber(init)
            if not init then
                error("bad init arg: number expected, got " .. t, 2)
            end
        end
    end
    if init_ttl ~= nil then
        local t = type(init_ttl)
        if t ~= "number" then
            init_ttl = tonumber(init_ttl)
            if not init_ttl then
                error("bad init_ttl arg: number expected, got " .. t, 2)
            end
        end
        if init_ttl < 0 then
            error('bad "init_ttl" argument', 2)
        end
        if not init then
            error('must provide "init" when providing "init_ttl"', 2)
        end
    else
        init_ttl = 0
    end
    return shd_incr(id, k, value, init or nil, init_ttl)
end

function dict.ttl(self, key)
    local id = zone_of(self)
    local k, err = check_key(key)
    if not k then
        return nil, err
    end
    return shd_ttl(id, k)
end

function dict.expire(self, key, exptime)
    local id = zone_of(self)
    if not exptime then
        error('bad "exptime" argument', 2)
    end
    local k, err = check_key(key)
    if not k then
        return nil, err
    end
    return shd_expire(id, k, exptime)
end

function dict.flush_all(self)
    shd_flush_all(zone_of(self))
end

function dict.capacity(self)
    return shd_capacity(zone_of(self))
end

function dict.free_space(self)
    return shd_free_space(zone_of(self))
end

-- the list functions are C functions in ngx_lua: exact argument counts, keys must be strings
-- or numbers (no tostring), and errors raised with luaL_error
local function list_args(nexp, ...)
    local n = select("#", ...)
    if n ~= nexp then
        error(format("expecting %d arguments, but only seen %d", nexp, n), 3)
    end
    local self, key = ...
    if type(self) ~= "table" then
        error('bad "zone" argument', 3)
    end
    local id = ids[rawget(self, 1)]
    if not id then
        error('bad "zone" argument', 3)
    end
    if key == nil then
        return nil, "nil key"
    end
    local t = type(key)
    if t == "number" then
        key = tostring(key)
    elseif t ~= "string" then
        return nil, nil, "string expected, got " .. t
    end
    local len = #key
    if len == 0 then
        return nil, "empty key"
    end
    if len > 65535 then
        return nil, "key too long"
    end
    return id, key
end

function dict.lpush(...)
    local id, key, argerr = list_args(3, ...)
    if argerr then argerror(2, argerr) end
    if not id then return nil, key end
    local value = select(3, ...)
    local t = type(value)
    if t ~= "string" and t ~= "number" then return nil, "bad value type" end
    return shd_push(id, key, value, true)
end

function dict.rpush(...)
    local id, key, argerr = list_args(3, ...)
    if argerr then argerror(2, argerr) end
    if not id then return nil, key end
    local value = select(3, ...)
    local t = type(value)
    if t ~= "string" and t ~= "number" then return nil, "bad value type" end
    return shd_push(id, key, value, false)
end

function dict.lpop(...)
    local id, key, argerr = list_args(2, ...)
    if argerr then argerror(2, argerr) end
    if not id then return nil, key end
    return shd_pop(id, key, true)
end

function dict.rpop(...)
    local id, key, argerr = list_args(2, ...)
    if argerr then argerror(2, argerr) end
    if not id then return nil, key end
    return shd_pop(id, key, false)
end

function dict.llen(...)
    local id, key, argerr = list_args(2, ...)
    if argerr then argerror(2, argerr) end
    if not id then return nil, key end
    return shd_llen(id, key)
end

-- flush_expired / get_keys: (self [, number])
local function zone_and_max(...)
    local n = select("#", ...)
    if n ~= 1 and n ~= 2 then
        error(format("expecting 1 or 2 argument(s), but saw %d", n), 3)
    end
    local self, max = ...
    if type(self) ~= "table" then
        return nil, "table expected, got " .. type(self), 1
    end
    local id = ids[rawget(self, 1)]
    if not id then
        error("bad user data for the ngx_shm_zone_t pointer", 3)
    end
    if n == 2 and max ~= nil then
        local m = tonumber(max)
        if not m then
            return nil, "number expected, got " .. type(max), 2
        end
        return id, m
    end
    return id
end

function dict.flush_expired(...)
    local id, max, argn = zone_and_max(...)
    if not id then argerror(argn, max) end
    return shd_flush_expired(id, max or 0)
end

function dict.get_keys(...)
    local id, max, argn = zone_and_max(...)
    if not id then argerror(argn, max) end
    return shd_get_keys(id, max or 1024)
end

local mt = { __index = dict }

local shared = {}
for name, id in pairs(C.shd_zones()) do
    local handle = C.shd_udata()
    ids[handle] = id
    shared[name] = setmetatable({ handle }, mt)
end
rawset(ngx, "shared", shared)
