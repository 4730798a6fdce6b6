-- Assembles the `ngx` table from the primitives the runtime passes in (C).
local C = ...
local rawset, setmetatable, type, tostring = rawset, setmetatable, type, tostring

-- what the reference's lua-resty-core loads at start: table.new and table.clear join the table
-- library, and ffi is loaded (thread.exdata needs it)
require "table.new"
require "table.clear"
require "ffi"

---------------------------------------------------------------- require
package.path = C.package_path() or package.path
package.cpath = C.package_cpath() or package.cpath
do
    -- lua_code_cache off reloads Lua modules read from files: note which ones the file loader
    -- found (the preloaded built-ins and C modules are never reloaded)
    local file_loader, note = package.loaders[2], C.note_file_module
    package.loaders[2] = function(name)
        local f, extra = file_loader(name)
        if type(f) == "function" then note(name) end
        return f, extra
    end
end

---------------------------------------------------------------- finalizers
do
    -- A finalizer (ffi.gc, an ffi.metatype's or a newproxy's __gc) that raises: on the reference
    -- the error surfaces in whatever Lua code the GC step ran in, and kills the VM when that code
    -- is a compiled trace (lua atpanic: Lua VM crashed). Here finalizers run protected: the
    -- error is logged with its traceback and the code that happened to collect goes on.
    local ffi = require "ffi"
    local xpcall, traceback, type, pairs, rawget, rawset = xpcall, debug.traceback, type, pairs, rawget, rawset
    local report = C.finalizer_error
    local function protect(f)
        return function(...)
            local ok, err = xpcall(f, traceback, ...)
            if not ok then report(err) end
        end
    end
    local ffi_gc, ffi_metatype, raw_newproxy = ffi.gc, ffi.metatype, newproxy
    ffi.gc = function(cd, f)
        if type(f) == "function" then f = protect(f) end
        return ffi_gc(cd, f)
    end
    ffi.metatype = function(ct, mt)
        if type(mt) == "table" and type(rawget(mt, "__gc")) == "function" then
            local copy = {}
            for k, v in pairs(mt) do copy[k] = v end
            copy.__gc = protect(mt.__gc)
            mt = copy
        end
        return ffi_metatype(ct, mt)
    end
    local guard_mt = { __newindex = function(t, k, v)
        if k == "__gc" and type(v) == "function" then v = protect(v) end
        rawset(t, k, v)
    end }
    newproxy = function(arg)
        local p = raw_newproxy(arg)
        if arg == true then setmetatable(getmetatable(p), guard_mt) end
        return p
    end
end

---------------------------------------------------------------- coroutines
do
    -- ngx_lua's coroutine table: its own create/resume/wrap/status/running (yield stays
    -- LuaJIT's), LuaJIT's originals kept as _create.._yield and lua-resty-core's as
    -- __create..__yield, no isyieldable
    local co = coroutine
    for _, name in ipairs({ "create", "resume", "status", "wrap", "yield" }) do
        local orig = co[name]
        co["_" .. name] = orig
        co["__" .. name] = function(...) return orig(...) end
    end
    co.create, co.resume, co.wrap = C.co_create, C.co_resume, C.co_wrap
    co.status, co.running = C.co_status, C.co_running
    co.isyieldable, co.close = nil, nil
end

---------------------------------------------------------------- ngx
local ngx = {}
_G.ngx = ngx
package.loaded.ngx = ngx

ngx.OK, ngx.ERROR, ngx.AGAIN, ngx.DONE, ngx.DECLINED = 0, -1, -2, -4, -5
ngx.null = C.null()

ngx.HTTP_GET, ngx.HTTP_HEAD, ngx.HTTP_PUT, ngx.HTTP_POST, ngx.HTTP_DELETE = 2, 4, 16, 8, 32
ngx.HTTP_OPTIONS, ngx.HTTP_MKCOL, ngx.HTTP_COPY, ngx.HTTP_MOVE = 512, 64, 128, 256
ngx.HTTP_PROPFIND, ngx.HTTP_PROPPATCH, ngx.HTTP_LOCK, ngx.HTTP_UNLOCK = 1024, 2048, 4096, 8192
ngx.HTTP_PATCH, ngx.HTTP_TRACE = 16384, 32768

local codes = {
    CONTINUE = 100, SWITCHING_PROTOCOLS = 101, OK = 200, CREATED = 201, ACCEPTED = 202,
    NO_CONTENT = 204, PARTIAL_CONTENT = 206, SPECIAL_RESPONSE = 300, MOVED_PERMANENTLY = 301,
    MOVED_TEMPORARILY = 302, SEE_OTHER = 303, NOT_MODIFIED = 304, TEMPORARY_REDIRECT = 307,
    PERMANENT_REDIRECT = 308, BAD_REQUEST = 400, UNAUTHORIZED = 401, PAYMENT_REQUIRED = 402,
    FORBIDDEN = 403, NOT_FOUND = 404, NOT_ALLOWED = 405, NOT_ACCEPTABLE = 406,
    REQUEST_TIMEOUT = 408, CONFLICT = 409, GONE = 410, UPGRADE_REQUIRED = 426,
    TOO_MANY_REQUESTS = 429, CLOSE = 444, ILLEGAL = 451, INTERNAL_SERVER_ERROR = 500,
    NOT_IMPLEMENTED = 501, METHOD_NOT_IMPLEMENTED = 501, BAD_GATEWAY = 502,
    SERVICE_UNAVAILABLE = 503, GATEWAY_TIMEOUT = 504, VERSION_NOT_SUPPORTED = 505,
    INSUFFICIENT_STORAGE = 507,
}
for k, v in pairs(codes) do ngx["HTTP_" .. k] = v end

ngx.STDERR, ngx.EMERG, ngx.ALERT, ngx.CRIT, ngx.ERR = 0, 1, 2, 3, 4
ngx.WARN, ngx.NOTICE, ngx.INFO, ngx.DEBUG = 5, 6, 7, 8

ngx.say, ngx.print, ngx.flush, ngx.eof = C.say, C.print, C.flush, C.eof
ngx.send_headers, ngx.exit, ngx.sleep, ngx.log = C.send_headers, C.exit, C.sleep, C.log
ngx.redirect, ngx.exec, ngx.on_abort = C.redirect, C.exec, C.on_abort
_G.print = C.print_log
ngx.update_time, ngx.today = C.update_time, C.today
ngx.localtime, ngx.utctime, ngx.http_time = C.localtime, C.utctime, C.http_time
ngx.cookie_time, ngx.parse_http_time = C.cookie_time, C.parse_http_time
-- lua-resty-core's string functions take any value: nil and false as "", others as tostring()
local function anystr(s)
    if type(s) ~= "string" then
        if not s then return "" end
        return tostring(s)
    end
    return s
end
local ffi = require "ffi"
local rshift, band = bit.rshift, bit.band
do
    -- escape_uri in Lua over the JS side's escape tables (src/util/uri.ts), through FFI; a
    -- "type" that is not one of the table numbers goes to the JS function, which says what is
    -- wrong with it.
    local ffi_string, ffi_cast = ffi.string, ffi.cast
    local js_escape, js_unescape = C.escape_uri, C.unescape_uri
    local tabs = C.escape_tables()
    local ntypes = #tabs / 256
    local esc = ffi.new("uint8_t[?]", #tabs)
    ffi.copy(esc, tabs, #tabs)
    local hexu = ffi.new("const unsigned char[17]", "0123456789ABCDEF")
    -- the output buffer is kept for the next call unless it had to grow past 64 KB
    local KEEP = 65536
    local out, cap = ffi.new("uint8_t[?]", 256), 256
    ngx.escape_uri = function(s, t)
        if t == nil then
            t = 2
        elseif type(t) ~= "number" or not (t >= 0 and t <= ntypes - 1) then
            return js_escape(anystr(s), t)
        else
            -- a C int on the reference: 1.5 is type 1
            t = t - t % 1
        end
        s = anystr(s)
        local n = #s
        local p = ffi_cast("const uint8_t *", s)
        local base = t * 256
        local extra = 0
        for i = 0, n - 1 do extra = extra + esc[base + p[i]] end
        if extra == 0 then return s end
        local need = n + 2 * extra
        local buf = out
        if need > cap then
            buf = ffi.new("uint8_t[?]", need)
            if need <= KEEP then out, cap = buf, need end
        end
        local j = 0
        for i = 0, n - 1 do
            local c = p[i]
            if esc[base + c] ~= 0 then
                buf[j] = 37
                buf[j + 1] = hexu[rshift(c, 4)]
                buf[j + 2] = hexu[band(c, 15)]
                j = j + 3
            else
                buf[j] = c
                j = j + 1
            end
        end
        return ffi_string(buf, need)
    end
    ngx.unescape_uri = function(s)
        return js_unescape(anystr(s))
    end
end
ngx.encode_base64, ngx.decode_base64 = C.encode_base64, C.decode_base64
ngx.md5, ngx.md5_bin, ngx.sha1_bin, ngx.hmac_sha1 = C.md5, C.md5_bin, C.sha1_bin, C.hmac_sha1
do
    -- md5 and sha1 through FFI into the OpenSSL that Node carries (it exports it for addons),
    -- under names of our own (asm), so that no program's cdef of MD5 or SHA1 can clash. Where
    -- the symbols are missing, the JS versions stay.
    local ok = pcall(ffi.cdef, [[
        unsigned char *ngxlua_md5(const unsigned char *d, size_t n, unsigned char *md) __asm__("MD5");
        unsigned char *ngxlua_sha1(const unsigned char *d, size_t n, unsigned char *md) __asm__("SHA1");
    ]])
    local md5, sha1
    if ok then
        ok = pcall(function() md5, sha1 = ffi.C.ngxlua_md5, ffi.C.ngxlua_sha1 end)
    end
    if ok then
        local ffi_string = ffi.string
        local digest = ffi.new("unsigned char[20]")
        local hex = ffi.new("unsigned char[32]")
        local hexdig = ffi.new("const unsigned char[17]", "0123456789abcdef")
        ngx.md5_bin = function(s)
            s = anystr(s)
            md5(s, #s, digest)
            return ffi_string(digest, 16)
        end
        ngx.md5 = function(s)
            s = anystr(s)
            md5(s, #s, digest)
            for i = 0, 15 do
                local b = digest[i]
                hex[2 * i] = hexdig[rshift(b, 4)]
                hex[2 * i + 1] = hexdig[band(b, 15)]
            end
            return ffi_string(hex, 32)
        end
        ngx.sha1_bin = function(s)
            s = anystr(s)
            sha1(s, #s, digest)
            return ffi_string(digest, 20)
        end
    end
end
ngx.crc32_short, ngx.crc32_long = C.crc32_short, C.crc32_long

ngx.req = {
    get_method = C.req_get_method, http_version = C.req_http_version,
    start_time = C.req_start_time, is_internal = C.req_is_internal, raw_header = C.req_raw_header,
    get_headers = C.req_get_headers, get_uri_args = C.req_get_uri_args,
    set_uri_args = C.req_set_uri_args, get_post_args = C.req_get_post_args,
    read_body = C.req_read_body, discard_body = C.req_discard_body,
    get_body_data = C.req_get_body_data, get_body_file = C.req_get_body_file,
    set_header = C.req_set_header, clear_header = C.req_clear_header,
    set_method = C.req_set_method, set_uri = C.req_set_uri,
    set_body_data = C.req_set_body_data, set_body_file = C.req_set_body_file,
    init_body = C.req_init_body, append_body = C.req_append_body, finish_body = C.req_finish_body,
}
package.loaded["ngx.req"] = { add_header = C.req_add_header, version = "0.1.25" }
ngx.req.get_query_args = ngx.req.get_uri_args

__ngx_req_headers_mt = {
    __index = function(t, k)
        if type(k) ~= "string" then return nil end
        return rawget(t, (k:lower():gsub("_", "-")))
    end,
}

ngx.resp = { get_headers = C.resp_get_headers }
ngx.location = { capture = C.capture, capture_multi = C.capture_multi }
ngx.thread = { spawn = C.thread_spawn, wait = C.thread_wait, kill = C.thread_kill }

ngx.timer = {
    at = C.timer_at, every = C.timer_every,
    running_count = C.timer_running_count, pending_count = C.timer_pending_count,
}

do
    -- a variable name is looked up in JS once and then read by the number it got there, as nginx
    -- indexes the variables of its conf: no name crosses, none is lowercased or searched again
    local var_get, var_id, var_get_id = C.var_get, C.var_id, C.var_get_id
    local ids, nids = {}, 0
    ngx.var = setmetatable({}, {
        __index = function(t, k)
            local id = ids[k]
            if id == nil then
                if type(k) ~= "string" or nids >= 4096 then return var_get(t, k) end
                id = var_id(k)
                ids[k] = id
                nids = nids + 1
            end
            return var_get_id(t, id)
        end,
        __newindex = C.var_set,
    })
end
ngx.header = setmetatable({}, { __index = C.header_get, __newindex = C.header_set })
ngx.arg = setmetatable({}, { __index = C.arg_get, __newindex = C.arg_set })

local worker_pid, worker_id, worker_count = C.worker_pid(), C.worker_id(), C.worker_count()
ngx.worker = {
    pid = function() return worker_pid end,
    id = function() return worker_id end,
    count = function() return worker_count end,
    exiting = C.worker_exiting,
}

local prefix = C.config_prefix()
ngx.config = {
    subsystem = "http",
    ngx_lua_version = 10023,
    nginx_version = 1022001,
    debug = true,
    prefix = function() return prefix end,
    nginx_configure = function() return "" end,
}

-- Values JS mirrors into memory Lua reads through FFI (src/core/fast.ts): the cached clock, the
-- running phase, the registry ref of ngx.ctx, the request's method, the status ngx.status reads
-- and ngx.headers_sent. A slot at its "unknown" value means: ask JS.
local fast = { C.fast_info() }
local F = ffi.cast("const double *", fast[1])
local phases, methods, nphases = {}, {}, fast[2]
for i = 1, nphases do phases[i - 1] = fast[2 + i] end
for i = 3 + nphases, #fast do methods[i - 3 - nphases] = fast[i] end
do
    local js_now, js_time, js_phase, floor = C.now, C.time, C.get_phase, math.floor
    ngx.now = function()
        local t = F[0]
        if t > 0 then return t end
        return js_now()
    end
    ngx.time = function()
        local t = F[0]
        if t > 0 then return floor(t) end
        return js_time()
    end
    ngx.get_phase = function()
        local p = F[1]
        if p >= 0 then return phases[p] end
        return js_phase()
    end
    local js_method = ngx.req.get_method
    ngx.req.get_method = function()
        local m = F[3]
        if m >= 0 then return methods[m] end
        return js_method()
    end
end

-- ngx.status, ngx.ctx, ngx.headers_sent, ngx.is_subrequest: the primitives are tail-called, so
-- that an error (ngx.status set in a timer) is positioned at the code that did it; ngx.ctx once
-- it exists is read from the registry, and ngx.status and ngx.headers_sent in a request from
-- the mirror, without leaving Lua
do
    local ngx_index, registry = C.ngx_index, debug.getregistry()
    setmetatable(ngx, {
        __index = function(t, k)
            if k == "ctx" then
                local ref = F[2]
                if ref ~= 0 then return registry[ref] end
            elseif k == "status" then
                local s = F[4]
                if s >= 0 then return s end
            elseif k == "headers_sent" then
                local h = F[5]
                if h >= 0 then return h == 1 end
            end
            return ngx_index(t, k)
        end,
        __newindex = C.ngx_newindex,
    })
end
