// worker_processes 2 with a master: what an application observes of several workers. Each case
// repeats its request on new connections until both workers answered (the X-Worker header, the
// answering worker's id), and every answer must be the same.
import { lua } from '../lib.mjs';

const http = 'lua_shared_dict w 1m; ' +
  'init_by_lua_block { local d = ngx.shared.w d:incr("init_count", 1, 0) d:set("from_init", "seed") ' +
  'd:lpush("init_list", "x") seen_in_init = "loaded" ' +
  'd:set("init_view", ngx.worker.id() .. " " .. ngx.worker.count() .. " " .. require("ngx.process").type()) } ' +
  'init_worker_by_lua_block { local d = ngx.shared.w d:incr("init_worker_count", 1, 0) d:set("pid_" .. ngx.worker.id(), ngx.worker.pid()) ' +
  'assert(ngx.timer.at(0, function() d:incr("timer_count", 1, 0) end)) }';
const each = { header: 'x-worker', count: 2 };
const c = (name, code, body, extra = {}) => ({
  name, http, workers: 2, distinct: each,
  server: lua(`ngx.header["X-Worker"] = ngx.worker.id() ${code}`),
  body, ...extra,
});

export default [
  c('ngx.worker.count() is the worker_processes value', `ngx.say(ngx.worker.count())`, '2\n'),
  c('ngx.worker.id() is 0 or 1', `local id = ngx.worker.id() ngx.say(id == 0 or id == 1)`, 'true\n'),
  c('ngx.worker.pid() is the answering process, not the master', `ngx.say(ngx.worker.pid() ~= require("ngx.process").get_master_pid())`, 'true\n'),
  c('ngx.process.type() is "worker"', `ngx.say(require("ngx.process").type())`, 'worker\n'),
  c('init_by_lua\'s shared-dict writes happen once, for every worker',
    `local d = ngx.shared.w ngx.say(d:get("init_count"), " ", d:get("from_init"), " ", d:llen("init_list"))`, '1 seed 1\n'),
  c('init_by_lua runs as the master: worker id 0, the worker count, process type "master"',
    `ngx.say(ngx.shared.w:get("init_view"))`, '0 2 master\n'),
  c('init_by_lua\'s globals are in every worker', `ngx.say(seen_in_init)`, 'loaded\n'),
  c('init_worker_by_lua runs in each worker', `ngx.say(ngx.shared.w:get("init_worker_count"))`, '2\n'),
  c('timers run in each worker', `for i = 1, 50 do if ngx.shared.w:get("timer_count") == 2 then break end ngx.sleep(0.01) end ngx.say(ngx.shared.w:get("timer_count"))`, '2\n'),
  c('each worker reads what the other wrote', `local d = ngx.shared.w local a, b = d:get("pid_0"), d:get("pid_1") ` +
    `ngx.say(type(a), " ", type(b), " ", a ~= b, " ", d:get("pid_" .. ngx.worker.id()) == ngx.worker.pid())`, 'number number true true\n'),
];
