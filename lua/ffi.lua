-- A small part of LuaJIT's FFI: byte arrays (`char[?]`, `uint8_t[?]`, ...) that Lua libraries use
-- as scratch buffers, with ffi.new, ffi.string, ffi.copy, ffi.fill, ffi.sizeof. C declarations
-- and calls into C are not available in the WASM VM: ffi.cdef accepts declarations, ffi.C errors
-- when a function is used.
local setmetatable, type, error, char, byte, concat = setmetatable, type, error, string.char, string.byte, table.concat
local floor = math.floor

local ffi = { os = "Linux", arch = "x64" }

local BYTE_TYPES = {
    ["char"] = true, ["unsigned char"] = true, ["uint8_t"] = true, ["int8_t"] = true,
    ["const char"] = true, ["const unsigned char"] = true,
}

local ctype_mt = { __name = "ctype" }
local function parse(decl)
    local base, n = decl:match("^%s*(.-)%s*%[%s*([%d?]*)%s*%]%s*$")
    if not base or not BYTE_TYPES[base] then
        error("ngxlua: ffi type '" .. tostring(decl) .. "' is not supported (only byte arrays)", 3)
    end
    return setmetatable({ signed = base == "char" or base == "int8_t" or base == "const char", n = tonumber(n) }, ctype_mt)
end

function ffi.typeof(decl)
    if getmetatable(decl) == ctype_mt then return decl end
    return parse(decl)
end

local buf_mt = {}
buf_mt.__index = function(t, i)
    if type(i) ~= "number" then return nil end
    return 0
end
buf_mt.__newindex = function(t, i, v)
    v = floor(v) & 0xff
    if t.__signed and v >= 128 then v = v - 256 end
    rawset(t, i, v)
end
buf_mt.__len = function(t) return t.__n end

function ffi.new(ct, n, ...)
    if type(ct) == "string" then ct = parse(ct) end
    local size = ct.n or n or 0
    return setmetatable({ __n = size, __signed = ct.signed }, buf_mt)
end

function ffi.sizeof(x, n)
    if getmetatable(x) == buf_mt then return x.__n end
    if type(x) == "string" then x = parse(x) end
    return x.n or n or 0
end

function ffi.string(buf, len)
    if type(buf) == "string" then
        return len and buf:sub(1, len) or buf
    end
    if getmetatable(buf) ~= buf_mt then error("bad argument #1 to 'string' (cannot convert to string)", 2) end
    len = len or buf.__n
    local parts, chunk = {}, {}
    for i = 0, len - 1 do
        chunk[#chunk + 1] = rawget(buf, i) or 0
        if #chunk == 4096 or i == len - 1 then
            for j = 1, #chunk do chunk[j] = chunk[j] & 0xff end
            parts[#parts + 1] = char(table.unpack(chunk))
            chunk = {}
        end
    end
    return concat(parts)
end

function ffi.copy(dst, src, len)
    if type(src) == "string" then
        len = len or #src
        for i = 1, len do dst[i - 1] = byte(src, i) or 0 end
    else
        for i = 0, len - 1 do dst[i] = rawget(src, i) or 0 end
    end
end

function ffi.fill(dst, len, c)
    c = c or 0
    for i = 0, len - 1 do dst[i] = c end
end

function ffi.cdef() end
function ffi.gc(x) return x end
function ffi.cast(_, x) return x end
function ffi.istype(ct, x) return getmetatable(x) == buf_mt end
ffi.C = setmetatable({}, { __index = function(_, name)
    error("ngxlua: ffi.C." .. tostring(name) .. " is not available (no C functions in the WASM VM)", 2)
end })

package.loaded.ffi = ffi
