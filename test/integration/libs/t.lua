-- Output helpers for the library integration tests' handlers (test/integration/libs).
local T = {}

local function quote(s)
    return '"' .. s:gsub('[%c"\\\128-\255]', function(c)
        return string.format("\\%03d", c:byte())
    end) .. '"'
end

local function dump(v, depth)
    depth = depth or 0
    local t = type(v)
    if t == "string" then
        if #v > 200 then
            return string.format("<%d bytes, md5 %s>", #v, ngx.md5(v))
        end
        return quote(v)
    elseif t == "table" then
        if depth > 6 then return "{...}" end
        local keys = {}
        for k in pairs(v) do keys[#keys + 1] = k end
        table.sort(keys, function(a, b)
            local ta, tb = type(a), type(b)
            if ta ~= tb then return ta < tb end
            return a < b
        end)
        local parts = {}
        for _, k in ipairs(keys) do
            local ks = type(k) == "number" and ("[" .. k .. "]") or tostring(k)
            parts[#parts + 1] = ks .. "=" .. dump(v[k], depth + 1)
        end
        return "{" .. table.concat(parts, ",") .. "}"
    elseif v == ngx.null then
        return "null"
    else
        return tostring(v)
    end
end
T.dump = dump

-- T.out("key", v1, v2, ...) prints "key: dump(v1), dump(v2), ..." (nil values included)
function T.out(k, ...)
    local n = select("#", ...)
    local parts = {}
    for i = 1, n do parts[i] = dump((select(i, ...))) end
    ngx.say(k, ": ", table.concat(parts, ", "))
end

-- 1 MiB of every byte value, in a deterministic order
function T.mib()
    local t = {}
    for i = 0, 255 do t[#t + 1] = string.char(i) end
    local block = table.concat(t)
    return string.rep(block, 4096)
end

return T
