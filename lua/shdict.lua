-- ngx.shared: one object per lua_shared_dict zone. Each object is { zone_handle } (a userdata)
-- with a shared metatable; the methods check their arguments the way lua-resty-core's FFI
-- wrappers (get/set family, incr, ttl, expire, flush_all, capacity, free_space) and
-- ngx_lua's C functions (lists, flush_expired, get_keys) do, then call the zone operations in
-- native/shdict.c directly through the FFI: no call crosses into JS.
local C = ...
local ffi = require "ffi"
local type, tostring, tonumber, error, select, rawget = type, tostring, tonumber, error, select, rawget
local setmetatable, getinfo, format = setmetatable, debug.getinfo, string.format
local ffi_string, ffi_new = ffi.string, ffi.new

ffi.cdef[[
typedef struct {
    double num;
    unsigned char *str;
    size_t len;
    int type, flags, stale, forcible;
} ngxlua_shd_res_t;
void *ngxlua_shd_zone(const char *name, size_t nl);
int ngxlua_shd_get(void *z, const char *k, size_t kl, int stale, ngxlua_shd_res_t *r, unsigned char *buf, size_t bufsz);
int ngxlua_shd_store(void *z, int op, int safe, const char *k, size_t kl, int vtype, const char *s, size_t sl, double num, int exptime_ms, int flags, ngxlua_shd_res_t *r);
int ngxlua_shd_incr(void *z, const char *k, size_t kl, double step, int has_init, double init, int init_ttl_ms, ngxlua_shd_res_t *r);
int ngxlua_shd_push(void *z, const char *k, size_t kl, int left, int vtype, const char *s, size_t sl, double num, ngxlua_shd_res_t *r);
int ngxlua_shd_pop(void *z, const char *k, size_t kl, int left, ngxlua_shd_res_t *r, unsigned char *buf, size_t bufsz);
int ngxlua_shd_llen(void *z, const char *k, size_t kl, ngxlua_shd_res_t *r);
int ngxlua_shd_ttl(void *z, const char *k, size_t kl, ngxlua_shd_res_t *r);
int ngxlua_shd_expire(void *z, const char *k, size_t kl, int ms);
void ngxlua_shd_flush_all(void *z);
int ngxlua_shd_flush_expired(void *z, int max);
int ngxlua_shd_keys(void *z, int max, unsigned char **out);
size_t ngxlua_shd_capacity(void *z);
size_t ngxlua_shd_free_space(void *z);
void free(void *p);
]]
local S = ffi.C

local OP_SET, OP_ADD, OP_REPLACE = 0, 1, 2
local T_NIL, T_BOOLEAN, T_NUMBER, T_STRING = 0, 1, 3, 4
local errs = {
    [-1] = "not found", [-2] = "exists", [-3] = "no memory", [-4] = "not a number",
    [-5] = "value is a list", [-6] = "value not a list",
    [-7] = "attempt to add or replace nil values", [-8] = "no memory",
}

-- one result struct and one copy-out buffer for every call: calls never overlap (a zone
-- operation does not yield) and the values are copied into Lua strings before the next one
local res = ffi_new("ngxlua_shd_res_t")
local BUFSZ = 4096
local buf = ffi_new("unsigned char[?]", BUFSZ)
local keysp = ffi_new("unsigned char *[1]")

-- the value in res as a Lua value (a string copied out of buf, or of memory C allocated)
local function res_value()
    local t = res.type
    if t == T_STRING then
        local p = res.str
        local s = ffi_string(p, res.len)
        if p ~= buf then S.free(p) end
        return s
    elseif t == T_NUMBER then
        return tonumber(res.num)
    elseif t == T_BOOLEAN then
        return res.num ~= 0
    end
    return nil
end

-- zone handle (userdata) -> zone (cdata pointer)
local ids = setmetatable({}, { __mode = "k" })

-- the zone of a dict object; the error blames the method's caller (level 3 from here)
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
    local vt, str, slen, num = T_NIL, nil, 0, 0
    if t == "string" then
        vt, str, slen = T_STRING, value, #value
    elseif t == "number" then
        vt, num = T_NUMBER, value
    elseif t == "boolean" then
        vt, num = T_BOOLEAN, value and 1 or 0
    end
    local rc = S.ngxlua_shd_store(id, op, safe and 1 or 0, k, #k, vt, str, slen, num, exptime * 1000, flags, res)
    if rc ~= 0 then
        return false, errs[rc], res.forcible ~= 0
    end
    return true, nil, res.forcible ~= 0
end

local function get(id, k, stale)
    local rc = S.ngxlua_shd_get(id, k, #k, stale and 1 or 0, res, buf, BUFSZ)
    if rc ~= 0 then
        return nil, errs[rc]
    end
    if res.type == T_NIL then
        return nil
    end
    local flags = res.flags
    local is_stale = res.stale ~= 0
    local v = res_value()
    if stale then
        return v, flags ~= 0 and flags or nil, is_stale
    end
    if flags ~= 0 then
        return v, flags
    end
    return v
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
    return get(id, k, false)
end

function dict.get_stale(self, key)
    local id = zone_of(self)
    local k, err = check_key(key)
    if not k then
        return nil, err
    end
    return get(id, k, true)
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
    local rc = S.ngxlua_shd_incr(id, k, #k, value, init and 1 or 0, init or 0, init_ttl * 1000, res)
    if rc ~= 0 then
        return nil, errs[rc]
    end
    if not init then
        return tonumber(res.num)
    end
    return tonumber(res.num), nil, res.forcible ~= 0
end

function dict.ttl(self, key)
    local id = zone_of(self)
    local k, err = check_key(key)
    if not k then
        return nil, err
    end
    local rc = S.ngxlua_shd_ttl(id, k, #k, res)
    if rc ~= 0 then
        return nil, errs[rc]
    end
    return tonumber(res.num) / 1000
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
    if S.ngxlua_shd_expire(id, k, #k, exptime * 1000) ~= 0 then
        return nil, "not found"
    end
    return true
end

function dict.flush_all(self)
    S.ngxlua_shd_flush_all(zone_of(self))
end

function dict.capacity(self)
    return tonumber(S.ngxlua_shd_capacity(zone_of(self)))
end

function dict.free_space(self)
    return tonumber(S.ngxlua_shd_free_space(zone_of(self)))
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

local function push(id, key, value, left)
    local rc
    if type(value) == "string" then
        rc = S.ngxlua_shd_push(id, key, #key, left, T_STRING, value, #value, 0, res)
    else
        rc = S.ngxlua_shd_push(id, key, #key, left, T_NUMBER, nil, 0, value, res)
    end
    if rc ~= 0 then
        return nil, errs[rc]
    end
    return tonumber(res.num)
end

local function pop(id, key, left)
    local rc = S.ngxlua_shd_pop(id, key, #key, left, res, buf, BUFSZ)
    if rc ~= 0 then
        return nil, errs[rc]
    end
    return res_value()
end

function dict.lpush(...)
    local id, key, argerr = list_args(3, ...)
    if argerr then argerror(2, argerr) end
    if not id then return nil, key end
    local value = select(3, ...)
    local t = type(value)
    if t ~= "string" and t ~= "number" then return nil, "bad value type" end
    return push(id, key, value, 1)
end

function dict.rpush(...)
    local id, key, argerr = list_args(3, ...)
    if argerr then argerror(2, argerr) end
    if not id then return nil, key end
    local value = select(3, ...)
    local t = type(value)
    if t ~= "string" and t ~= "number" then return nil, "bad value type" end
    return push(id, key, value, 0)
end

function dict.lpop(...)
    local id, key, argerr = list_args(2, ...)
    if argerr then argerror(2, argerr) end
    if not id then return nil, key end
    return pop(id, key, 1)
end

function dict.rpop(...)
    local id, key, argerr = list_args(2, ...)
    if argerr then argerror(2, argerr) end
    if not id then return nil, key end
    return pop(id, key, 0)
end

function dict.llen(...)
    local id, key, argerr = list_args(2, ...)
    if argerr then argerror(2, argerr) end
    if not id then return nil, key end
    local rc = S.ngxlua_shd_llen(id, key, #key, res)
    if rc ~= 0 then
        return nil, errs[rc]
    end
    return tonumber(res.num)
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
    return S.ngxlua_shd_flush_expired(id, max or 0)
end

function dict.get_keys(...)
    local id, max, argn = zone_and_max(...)
    if not id then argerror(argn, max) end
    local n = S.ngxlua_shd_keys(id, max or 1024, keysp)
    local p = keysp[0]
    local keys = {}
    local off = 0
    for i = 1, n do
        local len = p[off] + p[off + 1] * 256
        keys[i] = ffi_string(p + off + 2, len)
        off = off + 2 + len
    end
    S.free(p)
    return keys
end

local mt = { __index = dict }

local shared = {}
for _, name in ipairs(C.shd_zones()) do
    local handle = C.shd_udata()
    ids[handle] = S.ngxlua_shd_zone(name, #name)
    shared[name] = setmetatable({ handle }, mt)
end
rawset(ngx, "shared", shared)
