-- ngx.socket.tcp / stream / connect and ngx.req.socket over the cosocket primitives (C).
-- A socket is a table whose [1] is a handle into the JS registry; every socket shares the one
-- metatable below, registered as __tcp_cosocket_mt like ngx_lua's.
local C = ...
local ngx = ngx
local setmetatable = setmetatable

local tcp_create = C.tcp_create

local methods = {
    connect = C.tcp_connect,
    sslhandshake = C.tcp_sslhandshake,
    receive = C.tcp_receive,
    receiveany = C.tcp_receiveany,
    send = C.tcp_send,
    close = C.tcp_close,
    settimeout = C.tcp_settimeout,
    settimeouts = C.tcp_settimeouts,
    setoption = C.tcp_setoption,
    setkeepalive = C.tcp_setkeepalive,
    getreusedtimes = C.tcp_getreusedtimes,
}

methods.receiveuntil = C.tcp_receiveuntil

local mt = { __index = methods, __gc = C.tcp_gc }
debug.getregistry().__tcp_cosocket_mt = mt

C.tcp_set_mt(mt)
-- a socket object is made in Lua where it may be (the phase read through FFI): the JS
-- primitive only for what it says no to (arguments, a phase that cannot yield), tail-called so
-- that its error is positioned at the caller
local get_phase, select, new_tab = ngx.get_phase, select, require "table.new"
local YIELDABLE = { rewrite = true, access = true, content = true, timer = true }
local function tcp(...)
    if select("#", ...) == 0 and YIELDABLE[get_phase()] then
        return setmetatable(new_tab(3, 1), mt)
    end
    return tcp_create(...)
end

-- ngx.socket.connect is a Lua chunk of its own named "=ngx.socket.connect", all on line 1, as
-- ngx_lua defines it: errors raised by ngx.socket.tcp() in it read "ngx.socket.connect:1: ...".
local connect = assert(load("local sock = ngx.socket.tcp()"
    .. " local ok, err = sock:connect(...)"
    .. " if ok then return sock else return nil, err end", "=ngx.socket.connect"))

ngx.socket = ngx.socket or {}
ngx.socket.tcp = tcp
ngx.socket.stream = tcp
ngx.socket.connect = connect

-- ngx.req.socket (a C function, so its errors point at the caller): the downstream connection.
-- The body socket only reads; the raw socket also sends. Neither has connect, close or
-- setkeepalive.
if C.req_socket then
    local body_methods = {
        receive = C.tcp_receive,
        receiveany = C.tcp_receiveany,
        receiveuntil = methods.receiveuntil,
        settimeout = C.tcp_settimeout,
        settimeouts = C.tcp_settimeouts,
    }
    local raw_methods = {
        send = C.tcp_send,
    }
    for k, v in pairs(body_methods) do raw_methods[k] = v end
    C.req_set_mts({ __index = body_methods }, { __index = raw_methods })
    ngx.req.socket = C.req_socket
end
