-- The "ngxlua.js" module (our extension): js.call(name, ...) calls a function the host exposed;
-- js.db.query(...) is js.call("db.query", ...). An async function's call yields until it settles.
local C = ...
local call = C.js_call
local error, setmetatable, rawset = error, setmetatable, rawset

-- js_call answers (true, value) or (false, message, raise)
local function outcome(ok, v, raise)
    if ok then return v end
    if raise then error(v, 2) end
    return nil, v
end

local NAME = {}
local ns_mt = {}
ns_mt.__index = function(t, k)
    local p = setmetatable({ [NAME] = t[NAME] .. "." .. k }, ns_mt)
    rawset(t, k, p)
    return p
end
ns_mt.__call = function(t, ...)
    return outcome(call(t[NAME], ...))
end

local js = {}
function js.call(name, ...)
    return outcome(call(name, ...))
end
setmetatable(js, {
    __index = function(t, k)
        local p = setmetatable({ [NAME] = k }, ns_mt)
        rawset(t, k, p)
        return p
    end,
})

package.preload["ngxlua.js"] = function() return js end
