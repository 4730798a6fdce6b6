-- Installs ngx.re.{match,find,gmatch,sub,gsub}, the "ngx.re" module (split, opt),
-- ngx.encode_args, ngx.decode_args and ngx.quote_sql_str from the primitives (C) that
-- src/api/re.ts registers. Run once at boot, after lua/ngx.lua has created the global `ngx`.
local C = ...
local ngx = ngx
local type, tostring = type, tostring
local re_check, re_step, re_sub, re_split = C.re_check, C.re_gmatch_step, C.re_sub, C.re_split

local re = ngx.re or {}
ngx.re = re

re.match = C.re_match
re.find = C.re_find

function re.gmatch(subj, regex, opts)
    if type(subj) ~= "string" then subj = tostring(subj) end
    local ok, err = re_check(regex, opts)
    if not ok then return nil, err end
    local pos, done = 0, false
    return function()
        if done then return nil end
        local m, nxt = re_step(subj, regex, opts, pos)
        if not m then
            done = true
            return nil, nxt
        end
        pos = nxt
        return m
    end
end

function re.sub(subj, regex, repl, opts)
    return re_sub(subj, regex, repl, opts, false)
end

function re.gsub(subj, regex, repl, opts)
    return re_sub(subj, regex, repl, opts, true)
end

-- lua-resty-core's "ngx.re" module (the reference leaves ngx.re.split unset)
package.loaded["ngx.re"] = {
    version = "0.1.25",
    split = function(subj, regex, opts, ctx, max, res)
        return re_split(subj, regex, opts, ctx, max, res)
    end,
    opt = C.re_opt,
}

ngx.encode_args = C.encode_args
ngx.decode_args = C.decode_args
ngx.quote_sql_str = C.quote_sql_str
