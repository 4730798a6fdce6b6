-- ngx.re.{match,find,gmatch,sub,gsub}, the "ngx.re" module (split, opt), on PCRE through FFI
-- (native/regex.c): subjects go to PCRE as the Lua strings themselves, captures come back as
-- byte offsets. Also installs ngx.encode_args, ngx.decode_args and ngx.quote_sql_str from the
-- primitives (C) that src/api/args.ts registers. Run once at boot, after lua/ngx.lua.
local C = ...
local ngx = ngx
local ffi = require "ffi"
local bit = require "bit"
local type, tostring, error, setmetatable = type, tostring, error, setmetatable
local sub, byte, fmt, concat, floor = string.sub, string.byte, string.format, table.concat, math.floor
local bor, band = bit.bor, bit.band
local new_tab = require "table.new"
local strbuf = require "string.buffer"
local cast, const_char_p = ffi.cast, ffi.typeof("const char *")

ffi.cdef [[
typedef struct {
    void *code;
    void *extra;
    int ncaptures;
    int name_count;
    int name_entry_size;
    const unsigned char *name_table;
} ngxlua_regex_t;
ngxlua_regex_t *ngxlua_regex_compile(const char *pattern, int options, int jit, int dfa, char *err, size_t errlen);
void ngxlua_regex_free(ngxlua_regex_t *re);
int ngxlua_regex_exec(ngxlua_regex_t *re, const char *subj, int len, int start, int options, int dfa, int *ovector, int ovecsize);
void ngxlua_regex_set_match_limit(int n);
int ngxlua_regex_set_jit_stack_size(int size);
]]
local P = ffi.C
local regex_free = P.ngxlua_regex_free

local PCRE_CASELESS, PCRE_MULTILINE, PCRE_DOTALL, PCRE_EXTENDED = 0x1, 0x2, 0x4, 0x8
local PCRE_ANCHORED, PCRE_UTF8, PCRE_NO_UTF8_CHECK = 0x10, 0x800, 0x2000
local PCRE_DUPNAMES, PCRE_JAVASCRIPT_COMPAT = 0x80000, 0x2000000
local PCRE_ERROR_NOMATCH = -1

P.ngxlua_regex_set_match_limit(C.regex_match_limit())
local cache_max = C.regex_cache_max_entries()

local errbuf = ffi.new("char[128]")
local ovec_size = 0
local ovec

local function ovector(n)
    if n > ovec_size then
        ovec_size = n < 64 and 64 or n
        ovec = ffi.new("int[?]", ovec_size)
    end
    return ovec
end

---------------------------------------------------------------- options and compilation

-- opts string -> { pcre options, exec options, compile once, jit, dfa, dupnames }
local parsed_opts = {}

local function parse_opts(opts)
    local o = parsed_opts[opts]
    if o then return o end
    local copts, xopts, once, jit, dfa, dup = 0, 0, false, false, false, false
    for i = 1, #opts do
        local c = sub(opts, i, i)
        if c == "i" then copts = bor(copts, PCRE_CASELESS)
        elseif c == "m" then copts = bor(copts, PCRE_MULTILINE)
        elseif c == "s" then copts = bor(copts, PCRE_DOTALL)
        elseif c == "x" then copts = bor(copts, PCRE_EXTENDED)
        elseif c == "u" then copts = bor(copts, PCRE_UTF8)
        elseif c == "U" then copts = bor(copts, PCRE_UTF8) xopts = bor(xopts, PCRE_NO_UTF8_CHECK)
        elseif c == "a" then copts = bor(copts, PCRE_ANCHORED)
        elseif c == "D" then copts = bor(copts, PCRE_DUPNAMES) dup = true
        elseif c == "J" then copts = bor(copts, PCRE_JAVASCRIPT_COMPAT)
        elseif c == "o" then once = true
        elseif c == "j" then jit = true
        elseif c == "d" then dfa = true
        else
            -- positioned at the API function, as lua-resty-core's message is
            error(fmt('unknown flag "%s" (flags "%s")', c, opts), 3)
        end
    end
    o = { copts, xopts, once, jit, dfa, dup }
    parsed_opts[opts] = o
    return o
end

-- A compiled regex: the PCRE handle and what the API needs to read its matches.
--   [1] cdata, [2] captures (0 in DFA mode), [3] exec options, [4] dfa, [5] dupnames,
--   [6] names: { name, group, name, group, ... } in the name table's order
local cache, cache_keys, cache_n, cache_next = {}, {}, 0, 1

local function names_of(cre)
    local n = cre.name_count
    if n == 0 then return nil end
    local out, tbl, size = {}, cre.name_table, cre.name_entry_size
    for i = 0, n - 1 do
        local e = tbl + i * size
        out[#out + 1] = ffi.string(e + 2)
        out[#out + 1] = e[0] * 256 + e[1]
    end
    return out
end

-- compile(regex, opts) -> re, cached | nil, err; an unknown flag raises.
-- The cache is keyed by options, then pattern: no key string to build per call.
local function compile(regex, opts)
    local _ = #regex -- a regex that is no string fails here, naming the local as the reference does
    if opts == nil then opts = "" else local _ = #opts end -- likewise for opts
    local bucket = cache[opts]
    if bucket then
        local hit = bucket[regex]
        if hit then return hit, true end
    end
    local o = parse_opts(opts)
    local cre = P.ngxlua_regex_compile(regex, o[1], o[4] and 1 or 0, o[5] and 1 or 0, errbuf, 128)
    if cre == nil then return nil, ffi.string(errbuf) end
    -- ngx_lua says how PCRE's JIT took a j-flagged regex (the engine JIT-compiles it)
    if o[4] and C.debug_on() then C.log_debug("pcre JIT compiling result: 1") end
    local re = { cre, o[5] and 0 or cre.ncaptures, o[2], o[5], o[6], names_of(cre) }
    if o[3] and cache_max > 0 then
        -- bounded as lua_regex_cache_max_entries says: the oldest entry makes room
        ffi.gc(cre, regex_free)
        if cache_n >= cache_max then
            local old = cache_keys[cache_next]
            cache[old[1]][old[2]] = nil
            cache_keys[cache_next] = { opts, regex }
            cache_next = cache_next % cache_max + 1
        else
            cache_n = cache_n + 1
            cache_keys[cache_n] = { opts, regex }
        end
        if not bucket then bucket = {} cache[opts] = bucket end
        bucket[regex] = re
        return re, true
    end
    return re, false
end

-- a regex compiled for one call is freed when the call is done
local function done(re, cached)
    if not cached then regex_free(re[1]) end
end

-- exec(re, subj, start) -> rc (captures + 1, -1 no match, < -1 an error); offsets in ovec
local function exec(re, subj, start)
    local n = (re[2] + 1) * 3
    local ov = ovector(n)
    return P.ngxlua_regex_exec(re[1], subj, #subj, start, re[3], re[4] and 1 or 0, ov, re[4] and 2 or n)
end

local function exec_error(rc)
    return "pcre_exec() failed: " .. rc
end

-- the match table: [0] the whole match, [n] the captures (false when unset), names
local function captures(re, subj, rc, res)
    local ov = ovec
    local ncap = re[2]
    local names = re[6]
    local t = type(res) == "table" and res or new_tab(ncap, names and #names / 2 or 0)
    for i = 0, ncap do
        if i < rc and ov[2 * i] >= 0 then
            t[i] = sub(subj, ov[2 * i] + 1, ov[2 * i + 1])
        else
            t[i] = false
        end
    end
    if ncap == 0 or not names then return t end
    if not re[5] then
        for i = 1, #names, 2 do t[names[i]] = t[names[i + 1]] end
        return t
    end
    -- D: a name used by several groups gets the array of those that matched
    local arrays = {}
    for i = 1, #names, 2 do
        local name, v = names[i], t[names[i + 1]]
        local a = arrays[name]
        if not a then a = {} arrays[name] = a end
        if v then a[#a + 1] = v end
    end
    for name, a in pairs(arrays) do
        if #a > 0 then t[name] = a end
    end
    return t
end

-- ctx.pos (1-based) as a 0-based start
local function ctx_start(ctx)
    if type(ctx) ~= "table" then return 0 end
    local pos = ctx.pos
    if pos == nil then return 0 end
    if pos < 1 then return 0 end
    return floor(pos) - 1
end

local function as_subject(subj)
    if type(subj) ~= "string" then return tostring(subj) end
    return subj
end

---------------------------------------------------------------- the API

local re = ngx.re or {}
ngx.re = re

function re.match(subj, regex, opts, ctx, res)
    subj = as_subject(subj)
    local r, cached = compile(regex, opts)
    if not r then return nil, cached end
    local start = ctx_start(ctx)
    if start > #subj then done(r, cached) return nil end
    local rc = exec(r, subj, start)
    if rc < 0 then
        done(r, cached)
        if rc == PCRE_ERROR_NOMATCH then return nil end
        return nil, exec_error(rc)
    end
    if type(ctx) == "table" then ctx.pos = ovec[1] + 1 end
    local t = captures(r, subj, rc, res)
    done(r, cached)
    return t
end

function re.find(subj, regex, opts, ctx, nth)
    subj = as_subject(subj)
    local r, cached = compile(regex, opts)
    if not r then return nil, nil, cached end
    local start = ctx_start(ctx)
    nth = nth and floor(nth) or 0
    if start > #subj then done(r, cached) return nil end
    if nth > r[2] then done(r, cached) return nil, nil, "nth out of bound" end
    local rc = exec(r, subj, start)
    done(r, cached)
    if rc < 0 then
        if rc == PCRE_ERROR_NOMATCH then return nil end
        return nil, nil, exec_error(rc)
    end
    if type(ctx) == "table" then ctx.pos = ovec[1] + 1 end
    if nth < 0 then nth = 0 end
    local from = ovec[2 * nth]
    if nth >= rc or from < 0 then return nil, nil end
    return from + 1, ovec[2 * nth + 1]
end

function re.gmatch(subj, regex, opts)
    subj = as_subject(subj)
    local r, cached = compile(regex, opts)
    if not r then return nil, cached end
    if not cached then ffi.gc(r[1], regex_free) end
    local pos, finished = 0, false
    return function()
        if finished then return nil end
        if pos > #subj then finished = true return nil end
        local rc = exec(r, subj, pos)
        if rc < 0 then
            finished = true
            if rc == PCRE_ERROR_NOMATCH then return nil end
            return nil, exec_error(rc)
        end
        local from, to = ovec[0], ovec[1]
        -- after an empty match the next attempt starts one byte on
        pos = to > from and to or to + 1
        return captures(r, subj, rc)
    end
end

-- A replacement template: literal strings and capture numbers. $0..$n, ${n}, $$; anything else
-- after a $ is an error, logged, as ngx_lua's template compiler does.
local templates, ntemplates = {}, 0

local function template(s)
    local out, lit, i, n = {}, {}, 1, #s
    local function flush()
        if #lit > 0 then out[#out + 1] = concat(lit) lit = {} end
    end
    while i <= n do
        local c = byte(s, i)
        if c ~= 36 then
            local j = i
            while j <= n and byte(s, j) ~= 36 do j = j + 1 end
            lit[#lit + 1] = sub(s, i, j - 1)
            i = j
        else
            local d = byte(s, i + 1)
            if d == 36 then
                lit[#lit + 1] = "$"
                i = i + 2
            elseif d and d >= 48 and d <= 57 then
                local j = i + 1
                while j <= n and byte(s, j) >= 48 and byte(s, j) <= 57 do j = j + 1 end
                flush()
                out[#out + 1] = tonumber(sub(s, i + 1, j - 1))
                i = j
            elseif d == 123 then
                local j = i + 2
                local e = byte(s, j)
                if e and e >= 48 and e <= 57 then
                    while j <= n and byte(s, j) >= 48 and byte(s, j) <= 57 do j = j + 1 end
                    if byte(s, j) ~= 125 then
                        return nil, 'the closing bracket in "' .. sub(s, i + 2) .. '" variable is missing'
                    end
                    flush()
                    out[#out + 1] = tonumber(sub(s, i + 2, j - 1))
                    i = j + 1
                else
                    local k = j
                    while k <= n and sub(s, k, k):match("[%w_]") do k = k + 1 end
                    if k > j then
                        return nil, 'attempt to use named capturing variable "' .. sub(s, j, k - 1) .. '" (named captures not supported yet)'
                    end
                    return nil, 'lua script: invalid capturing variable name found in "' .. sub(s, i) .. '"'
                end
            elseif d and sub(s, i + 1, i + 1):match("[%a_]") then
                local k = i + 1
                while k <= n and sub(s, k, k):match("[%w_]") do k = k + 1 end
                return nil, 'attempt to use named capturing variable "' .. sub(s, i + 1, k - 1) .. '" (named captures not supported yet)'
            else
                return nil, 'lua script: invalid capturing variable name found in "' .. sub(s, i) .. '"'
            end
        end
    end
    flush()
    return out
end

local log_error = C.log_error
local shared_buf = strbuf.new()

local function substitute(subj, regex, replace, opts, global)
    subj = as_subject(subj)
    local r, cached = compile(regex, opts)
    if not r then return nil, nil, cached end
    local tpl
    if type(replace) ~= "function" then
        local t = type(replace)
        local s = t == "string" and replace or tostring(replace)
        local err
        tpl = templates[s]
        if not tpl then
            tpl, err = template(s)
            if tpl then
                -- parsed templates are kept (a few hundred at most: then start over)
                if ntemplates >= 256 then templates, ntemplates = {}, 0 end
                templates[s], ntemplates = tpl, ntemplates + 1
            end
        end
        if not tpl then
            done(r, cached)
            log_error(err)
            return nil, nil, "failed to compile the replacement template"
        end
    end
    local len = #subj
    -- the result is assembled straight from the subject's bytes; with a template no Lua code
    -- runs meanwhile, so one buffer serves every call
    local out = tpl and shared_buf or strbuf.new()
    local sp = cast(const_char_p, subj)
    local last, pos, count = 0, 0, 0
    while pos <= len do
        local rc = exec(r, subj, pos)
        if rc < 0 then
            if rc == PCRE_ERROR_NOMATCH then break end
            done(r, cached)
            out:reset()
            return nil, nil, exec_error(rc)
        end
        local from, to = ovec[0], ovec[1]
        out:putcdata(sp + last, from - last)
        if tpl then
            local ncap = r[2]
            for k = 1, #tpl do
                local item = tpl[k]
                if type(item) == "string" then
                    out:put(item)
                elseif item <= ncap and item < rc and ovec[2 * item] >= 0 then
                    out:putcdata(sp + ovec[2 * item], ovec[2 * item + 1] - ovec[2 * item])
                end
            end
        else
            local v = replace(captures(r, subj, rc))
            local t = type(v)
            out:put((t == "string" or t == "number") and v or tostring(v))
        end
        count = count + 1
        last = to
        if not global then break end
        pos = to > from and to or to + 1
    end
    done(r, cached)
    if count == 0 then
        out:reset()
        return subj, 0
    end
    out:putcdata(sp + last, len - last)
    local res = out:tostring()
    out:reset()
    return res, count
end

function re.sub(subj, regex, replace, opts)
    return substitute(subj, regex, replace, opts, false)
end

function re.gsub(subj, regex, replace, opts)
    return substitute(subj, regex, replace, opts, true)
end

-- lua-resty-core's "ngx.re" module (the reference leaves ngx.re.split unset)
local function split(subj, regex, opts, ctx, max, res)
    subj = as_subject(subj)
    local r, cached = compile(regex, opts)
    if res ~= nil and type(res) ~= "table" then
        if r then done(r, cached) end
        error("res is not a table", 2)
    end
    if not r then return nil, cached end
    max = type(max) == "number" and floor(max) or 0
    local limit = max > 0 and max or math.huge
    local start = ctx_start(ctx)
    local len = #subj
    local items, n = {}, 0
    local fields, matched, last = 0, false, start
    if start <= len then
        local pos = start
        while fields < limit - 1 and pos <= len do
            local rc = exec(r, subj, pos)
            if rc < 0 then
                if rc == PCRE_ERROR_NOMATCH then break end
                done(r, cached)
                return nil, exec_error(rc)
            end
            local from, to = ovec[0], ovec[1]
            if to == from and from == last then
                -- an empty separator right where the field starts does not end it
                pos = from + 1
            else
                n = n + 1
                items[n] = sub(subj, last + 1, from)
                fields = fields + 1
                if r[2] > 0 then
                    n = n + 1
                    items[n] = (rc > 1 and ovec[2] >= 0) and sub(subj, ovec[2] + 1, ovec[3]) or subj
                end
                matched = true
                last = to
                pos = to
            end
        end
        local rest = sub(subj, (last < len and last or len) + 1)
        if max > 0 or #rest > 0 then
            n = n + 1
            items[n] = rest
        end
    end
    done(r, cached)
    local t = res or items
    if res then for k = 1, n do t[k] = items[k] end end
    if max <= 0 then
        while n > 0 and items[n] == "" do
            t[n] = nil
            n = n - 1
        end
    end
    if res then t[n + 1] = nil end
    if matched and type(ctx) == "table" then ctx.pos = last end
    return t
end

local function opt(name, value)
    if name ~= "jit_stack_size" then error("unrecognized option name", 2) end
    if cache_n > 0 then
        error("changing jit stack size is not allowed when some regexs have already been compiled and cached", 2)
    end
    if type(value) ~= "number" then error("bad jit_stack_size value", 2) end
    P.ngxlua_regex_set_jit_stack_size(value)
end

package.loaded["ngx.re"] = { version = "0.1.25", split = split, opt = opt }

ngx.encode_args = C.encode_args
ngx.decode_args = C.decode_args
ngx.quote_sql_str = C.quote_sql_str
