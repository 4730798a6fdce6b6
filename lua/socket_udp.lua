-- ngx.socket.udp: installs the UDP cosocket from the primitives (C) that src/api/socket/udp.ts
-- registers. Run once at boot, after lua/ngx.lua (and lua/socket.lua) built the `ngx` table.
local C = ...
local ngx = ngx

local socket = rawget(ngx, "socket")
if socket == nil then
    socket = {}
    ngx.socket = socket
end

-- one metatable shared by every UDP socket object; __gc closes what the object still holds
local mt = {
    setpeername = C.udp_setpeername,
    send = C.udp_send,
    receive = C.udp_receive,
    settimeout = C.udp_settimeout,
    close = C.udp_close,
    __gc = C.udp_gc,
}
mt.__index = mt
C.udp_set_mt(mt)

socket.udp = C.udp
