-- `ngxlua run`: output goes to stdout, as with OpenResty's resty.
local C = ...
ngx.say = function(...) return C.write(...), C.write("\n") and nil end
ngx.say = function(...)
    C.write(...)
    return C.write("\n")
end
ngx.print = C.write
ngx.flush = C.flush
ngx.eof = C.flush
ngx.exit = C.exit
