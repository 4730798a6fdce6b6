// Micro-benchmark of the engine boundary (native/engine.c + src/lua/vm.ts): what one crossing
// costs, measured in this process. Reports; never asserts. Needs a build (npm run build).
//
//   node bench/boundary.mjs            # 5 rounds, medians
//   BOUNDARY_N=200000 node bench/boundary.mjs
//
// Each row is a loop of N operations timed as a whole, divided by N:
//   lua->js call       a Lua loop calling a JS function that returns nothing
//   lua->js str/str    the same with a string argument read in JS and a string result pushed
//   js->c call         JS calling one addon function (lua_gettop)
//   yield/resume       a coroutine calls a JS function that answers YIELD; JS resumes it with a value
//   ffi call           a Lua loop calling strlen through ffi.C (no JS involved), for scale
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { LuaVM, LUA_OK, YIELD } = await import(path.join(ROOT, 'dist/src/lua/vm.js'));

const N = Number(process.env.BOUNDARY_N ?? 1_000_000);
const ROUNDS = Number(process.env.BOUNDARY_ROUNDS ?? 5);

const vm = await LuaVM.create();
const L = vm.L;

function define(name, fn) {
  vm.pushFunction(L, fn);
  vm.setGlobal(L, name);
}
define('nop', () => 0);
define('echo', (L1) => {
  const s = vm.toStr(L1, 1);
  vm.pushStr(L1, s);
  return 1;
});
define('wait', () => YIELD);

function runLua(code) {
  if (vm.load(L, Buffer.from(code), '=bench') !== LUA_OK) throw new Error(vm.toStr(L, -1));
  if (vm.pcall(L, 0, 0) !== LUA_OK) throw new Error(vm.toStr(L, -1));
}

function time(fn) {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / N;
}

const cases = {
  'lua->js call': () => time(() => runLua(`for i = 1, ${N} do nop() end`)),
  'lua->js str/str': () => time(() => runLua(`local s = "a request header value" for i = 1, ${N} do s = echo(s) end`)),
  'js->c call': () => time(() => {
    for (let i = 0; i < N; i++) vm.top(L);
  }),
  'yield/resume': () => {
    const co = vm.newThread(L);
    const ref = vm.ref(L);
    if (vm.load(co, Buffer.from('local v repeat v = wait() until v == "stop"'), '=co') !== LUA_OK) throw new Error('load');
    vm.resume(co, 0);
    const ns = time(() => {
      for (let i = 0; i < N; i++) {
        vm.pushStr(co, 'go');
        vm.resume(co, 1);
      }
    });
    vm.pushStr(co, 'stop');
    vm.resume(co, 1);
    vm.unref(ref);
    return ns;
  },
  'ffi call': () => {
    runLua('ffi = require "ffi" ffi.cdef "size_t strlen(const char *);"');
    return time(() => runLua(`local C, n = ffi.C, 0 for i = 1, ${N} do n = n + tonumber(C.strlen("abc")) end`));
  },
};

const results = {};
for (const name of Object.keys(cases)) results[name] = [];
for (let r = 0; r < ROUNDS; r++) for (const [name, fn] of Object.entries(cases)) results[name].push(fn());

const median = (a) => [...a].sort((x, y) => x - y)[Math.floor((a.length - 1) / 2)];
console.log(`boundary: N=${N}, ${ROUNDS} rounds, median ns per operation (min-max)`);
for (const [name, v] of Object.entries(results)) {
  console.log(`  ${name.padEnd(16)} ${median(v).toFixed(1).padStart(7)} ns   (${Math.min(...v).toFixed(1)}-${Math.max(...v).toFixed(1)})`);
}
vm.close();
