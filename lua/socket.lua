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
local tcp = tcp_create

local function connect(...)
    local sock = tcp()
    local ok, err = sock:connect(...)
    if ok then return sock end
    return nil, err
end

ngx.socket = ngx.socket or {}
ngx.socket.tcp = tcp
ngx.socket.stream = tcp
ngx.socket.connect = connect

-- ngx.req.socket: the downstream connection; no connect/close/setkeepalive methods
if C.req_socket then
    local req_methods = {
        receive = C.tcp_receive,
        receiveany = C.tcp_receiveany,
        receiveuntil = methods.receiveuntil,
        send = C.tcp_send,
        settimeout = C.tcp_settimeout,
        settimeouts = C.tcp_settimeouts,
        setoption = C.tcp_setoption,
    }
    local req_mt = { __index = req_methods }
    local req_socket = C.req_socket
    ngx.req.socket = function(...)
        local sock = setmetatable({}, req_mt)
        local ok, err = req_socket(sock, ...)
        if not ok then return nil, err end
        return sock
    end
end
