-- io.* over the host file system (primitives in C), with Lua's file-handle methods.
local C = ...
local setmetatable, type, select, error = setmetatable, type, select, error
local open, close, read, write, seek = C.io_open, C.io_close, C.io_read, C.io_write, C.io_seek

local File = {}
local mt = { __index = File, __name = "FILE*" }
mt.__tostring = function(f)
    if f.closed then return "file (closed)" end
    return string.format("file (%p)", f)
end

local function wrap(id) return setmetatable({ id = id }, mt) end

local function check(f)
    if getmetatable(f) ~= mt then error("bad argument #1 (FILE* expected)", 3) end
    if f.closed then error("attempt to use a closed file", 3) end
    return f.id
end

function File.read(f, ...)
    local id = check(f)
    local n = select("#", ...)
    if n == 0 then return read(id, "l") end
    local out = {}
    for i = 1, n do
        local v = read(id, (select(i, ...)))
        out[i] = v
        if v == nil then return table.unpack(out, 1, i) end
    end
    return table.unpack(out, 1, n)
end

function File.write(f, ...)
    local id = check(f)
    local ok, err, code = write(id, ...)
    if not ok then return nil, err, code end
    return f
end

function File.lines(f, fmt)
    local id = check(f)
    return function() return read(id, fmt or "l") end
end

function File.close(f)
    local id = check(f)
    if id <= 2 then return nil, "cannot close standard file" end
    f.closed = true
    return close(id)
end

function File.seek(f, whence, off) return seek(check(f), whence or "cur", off or 0) end
function File.flush(f) check(f) return f end
function File.setvbuf(f) check(f) return true end

local stdin, stdout, stderr = wrap(0), wrap(1), wrap(2)
local output, input = stdout, stdin

io = {
    stdin = stdin, stdout = stdout, stderr = stderr,
    open = function(path, mode)
        local id, err, code = open(path, mode)
        if not id then return nil, err, code end
        return wrap(id)
    end,
    close = function(f) return (f or output):close() end,
    read = function(...) return input:read(...) end,
    write = function(...) return output:write(...) end,
    lines = function(path, fmt)
        if path == nil then return input:lines(fmt) end
        local id, err = open(path, "r")
        if not id then error(err, 2) end
        return function()
            local l = read(id, fmt or "l")
            if l == nil then close(id) end
            return l
        end
    end,
    type = function(f)
        if getmetatable(f) ~= mt then return nil end
        return f.closed and "closed file" or "file"
    end,
    output = function(f)
        if f then output = type(f) == "string" and assert(io.open(f, "w")) or f end
        return output
    end,
    input = function(f)
        if f then input = type(f) == "string" and assert(io.open(f, "r")) or f end
        return input
    end,
    popen = function() return nil, "io.popen is not supported" end,
    tmpfile = function() return io.open(os.tmpname(), "w+") end,
}
package.loaded.io = io

os.getenv, os.remove, os.rename, os.tmpname = C.os_getenv, C.os_remove, C.os_rename, C.os_tmpname
os.execute = function() return nil, "exit", 127 end
