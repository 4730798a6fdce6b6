-- LuaJIT's BitOp module ("bit"), on Lua 5.4's integer operators: every result is a signed
-- 32-bit number, as LuaJIT returns them.
local floor, tointeger, fmt = math.floor, math.tointeger, string.format

local function tobit(x)
    local i = tointeger(x)
    if not i then
        -- LuaJIT rounds non-integral numbers to the nearest integer (ties to even)
        local f = floor(x)
        local d = x - f
        i = tointeger(f)
        if d > 0.5 or (d == 0.5 and i % 2 == 1) then i = i + 1 end
    end
    i = i & 0xffffffff
    if i >= 0x80000000 then i = i - 0x100000000 end
    return i
end

local function u32(x) return tobit(x) & 0xffffffff end

local bit = {}
bit.tobit = tobit
function bit.bnot(x) return tobit(~u32(x)) end
function bit.band(x, ...)
    local r = u32(x)
    for i = 1, select("#", ...) do r = r & u32((select(i, ...))) end
    return tobit(r)
end
function bit.bor(x, ...)
    local r = u32(x)
    for i = 1, select("#", ...) do r = r | u32((select(i, ...))) end
    return tobit(r)
end
function bit.bxor(x, ...)
    local r = u32(x)
    for i = 1, select("#", ...) do r = r ~ u32((select(i, ...))) end
    return tobit(r)
end
function bit.lshift(x, n) return tobit(u32(x) << (u32(n) & 31)) end
function bit.rshift(x, n) return tobit(u32(x) >> (u32(n) & 31)) end
function bit.arshift(x, n)
    n = u32(n) & 31
    return tobit(tobit(x) >> n | ((tobit(x) < 0 and n > 0) and ~(0xffffffff >> n) or 0))
end
function bit.rol(x, n)
    x, n = u32(x), u32(n) & 31
    return tobit((x << n) | (x >> (32 - n)))
end
function bit.ror(x, n)
    x, n = u32(x), u32(n) & 31
    return tobit((x >> n) | (x << (32 - n)))
end
function bit.bswap(x)
    x = u32(x)
    return tobit(((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >> 8) & 0xff00) | (x >> 24))
end
function bit.tohex(x, n)
    n = n or 8
    local upper = n < 0
    if upper then n = -n end
    local s = fmt(upper and "%08X" or "%08x", u32(x))
    if n < 8 then s = s:sub(9 - n) end
    return s
end

package.loaded.bit = bit
_G.bit = bit
