// Installs what the test suite needs when it is missing: the reference (Debian's nginx with
// lua-nginx-module) for the differential conformance cases. As root it uses apt-get; otherwise
// it stops and names the packages.
import { existsSync } from 'node:fs';
import { execSync } from 'node:child_process';

const needs = [
  { pkg: 'nginx', present: () => existsSync('/usr/sbin/nginx') },
  { pkg: 'libnginx-mod-http-lua', present: () => existsSync('/usr/lib/nginx/modules/ngx_http_lua_module.so') },
];
const missing = needs.filter((n) => !n.present()).map((n) => n.pkg);
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
// Debian starts the packaged nginx on port 80; the tests start their own.
try {
  execSync('systemctl stop nginx 2>/dev/null || service nginx stop 2>/dev/null || nginx -s stop 2>/dev/null', { stdio: 'ignore' });
} catch {
  /* not running */
}
