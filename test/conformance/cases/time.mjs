// ngx.now / time / today / localtime / utctime / http_time / cookie_time / parse_http_time
import { lua } from '../lib.mjs';

export default [
  {
    name: 'ngx.now and ngx.time hold still while Lua runs, move after a yield and on ngx.update_time',
    server: lua(`local a, ta = ngx.now(), ngx.time()
      local t = os.clock() while os.clock() - t < 0.005 do end
      local b, tb = ngx.now(), ngx.time()
      ngx.update_time()
      local u = ngx.now()
      local t2 = os.clock() while os.clock() - t2 < 0.002 do end
      local u2 = ngx.now()
      ngx.sleep(0.01)
      local c = ngx.now()
      ngx.say(a == b, " ", ta == tb, " ", u > b, " ", u2 == u, " ", c > u, " ", ngx.time() == math.floor(c))`),
    body: 'true true true true true true\n',
  },
  {
    name: 'ngx.now is a number with millisecond resolution',
    server: lua(`local n = ngx.now() ngx.say(type(n), " ", n > 1600000000, " ", n * 1000 == math.floor(n * 1000))`),
    body: 'number true true\n',
  },
  {
    name: 'ngx.time is an integer close to os.time',
    server: lua(`local t = ngx.time() ngx.say(type(t), " ", t == math.floor(t), " ", math.abs(t - os.time()) <= 2)`),
    body: 'number true true\n',
  },
  {
    name: 'ngx.today format',
    server: lua(`ngx.say(ngx.today())`),
    body: /^\d{4}-\d\d-\d\d\n$/,
  },
  {
    name: 'ngx.localtime and ngx.utctime format',
    server: lua(`ngx.say(ngx.localtime()) ngx.say(ngx.utctime())`),
    body: /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\n\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\n$/,
  },
  {
    name: 'http_time of a fixed time',
    server: lua(`ngx.say(ngx.http_time(0)) ngx.say(ngx.http_time(1290079655))`),
    body: 'Thu, 01 Jan 1970 00:00:00 GMT\nThu, 18 Nov 2010 11:27:35 GMT\n',
  },
  {
    name: 'cookie_time of a fixed time',
    server: lua(`ngx.say(ngx.cookie_time(1290079655))`),
    body: 'Thu, 18-Nov-10 11:27:35 GMT\n',
  },
  {
    name: 'cookie_time after 2050 keeps four digits',
    server: lua(`ngx.say(ngx.cookie_time(2600000000))`),
    body: 'Wed, 22-May-2052 14:13:20 GMT\n',
  },
  {
    name: 'parse_http_time round trip',
    server: lua(`ngx.say(ngx.parse_http_time("Thu, 18 Nov 2010 11:27:35 GMT"))`),
    body: '1290079655\n',
  },
  {
    name: 'parse_http_time of garbage is nil',
    server: lua(`ngx.say(ngx.parse_http_time("not a date"))`),
    body: 'nil\n',
  },
  {
    name: 'http_time of a float truncates',
    server: lua(`ngx.say(ngx.http_time(1.9))`),
    body: 'Thu, 01 Jan 1970 00:00:01 GMT\n',
  },
  {
    name: 'http_time with a bad argument',
    server: lua(`ngx.http_time("abc")`),
    status: 500,
    log: [/runtime error: content_by_lua\(nginx\.conf:\d+\):1: number argument only\n/],
  },
  {
    name: 'update_time and now stay monotonic',
    server: lua(`local a = ngx.now() ngx.update_time() local b = ngx.now() ngx.say(b >= a)`),
    body: 'true\n',
  },
  {
    name: 'ngx.now is cached within a handler',
    server: lua(`local a = ngx.now() for i = 1, 200000 do end local b = ngx.now() ngx.say(a == b)`),
    body: 'true\n',
  },
  {
    name: 'utctime matches http_time of ngx.time',
    server: lua(`local t = ngx.time() local u = ngx.utctime() local d = ngx.http_time(t) ngx.say(u:sub(12) == d:sub(18, 25))`),
    body: 'true\n',
  },
];
