// Installs what the test suite needs when it is missing: the reference (Debian's nginx with
// lua-nginx-module) for the differential conformance cases; the servers and the unmodified Lua
// libraries the library integration tests use (redis-server, memcached, dnsmasq, Debian's
// lua-nginx-* packages, test/integration/libs); and wrk for bench/. As root it uses apt-get;
// otherwise it stops and names the packages.
import { existsSync } from 'node:fs';
import { execSync } from 'node:child_process';

const LUA = '/usr/share/lua/5.1/nginx';
const needs = [
  { pkg: 'nginx', present: () => existsSync('/usr/sbin/nginx') },
  { pkg: 'libnginx-mod-http-lua', present: () => existsSync('/usr/lib/nginx/modules/ngx_http_lua_module.so') },
  { pkg: 'redis-server', present: () => existsSync('/usr/bin/redis-server'), service: 'redis-server' },
  { pkg: 'memcached', present: () => existsSync('/usr/bin/memcached'), service: 'memcached' },
  { pkg: 'dnsmasq', present: () => existsSync('/usr/sbin/dnsmasq'), service: 'dnsmasq' },
  { pkg: 'lua-nginx-redis', present: () => existsSync(`${LUA}/redis.lua`) },
  { pkg: 'lua-nginx-memcached', present: () => existsSync(`${LUA}/memcached.lua`) },
  { pkg: 'lua-nginx-dns', present: () => existsSync(`${LUA}/dns/resolver.lua`) },
  { pkg: 'lua-nginx-websocket', present: () => existsSync(`${LUA}/websocket/server.lua`) },
  { pkg: 'lua-nginx-redis-connector', present: () => existsSync(`${LUA}/redis/connector.lua`) },
  { pkg: 'lua-cjson', present: () => existsSync('/usr/lib/x86_64-linux-gnu/lua/5.1/cjson.so') },
  { pkg: 'lua-resty-lrucache', present: () => existsSync('/usr/share/lua/5.1/resty/lrucache/pureffi.lua') },
  { pkg: 'lua-nginx-string', present: () => existsSync(`${LUA}/sha256.lua`) },
  { pkg: 'lua-nginx-cookie', present: () => existsSync(`${LUA}/cookie.lua`) },
  { pkg: 'libnginx-mod-http-echo', present: () => existsSync('/usr/lib/nginx/modules/ngx_http_echo_module.so') },
  { pkg: 'libnginx-mod-http-headers-more-filter', present: () => existsSync('/usr/lib/nginx/modules/ngx_http_headers_more_filter_module.so') },
  { pkg: 'wrk', present: () => existsSync('/usr/bin/wrk') },
  { pkg: 'openssl', present: () => existsSync('/usr/bin/openssl') },
];
const missingNeeds = needs.filter((n) => !n.present());
const missing = missingNeeds.map((n) => n.pkg);
if (missing.length === 0) process.exit(0);
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (!isRoot) {
  console.error(`The tests need these Debian packages: ${missing.join(' ')}\nInstall them as root: apt-get install -y ${missing.join(' ')}`);
  process.exit(1);
}
console.error(`# installing ${missing.join(' ')} ...`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
execSync('apt-get update -qq', { stdio: 'inherit', env });
execSync(`apt-get install -y -qq ${missing.join(' ')}`, { stdio: 'inherit', env });
// Debian starts the packaged nginx on port 80, and the daemons we just installed on their
// default ports; the tests start their own, on free loopback ports.
const stop = (cmd) => {
  try {
    execSync(cmd, { stdio: 'ignore' });
  } catch {
    /* not running */
  }
};
stop('systemctl stop nginx 2>/dev/null || service nginx stop 2>/dev/null || nginx -s stop 2>/dev/null');
for (const n of missingNeeds) {
  if (n.service) stop(`systemctl stop ${n.service} 2>/dev/null || service ${n.service} stop 2>/dev/null`);
}
