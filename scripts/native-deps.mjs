// Run by `npm install` before the addon is built: the engine links the system's LuaJIT
// (Debian's libluajit2-5.1, the reference's own VM) and PCRE (libpcre3, the library the
// reference's ngx.re runs on), so their headers must be there. As root it
// installs what is missing through apt-get; otherwise it stops and names the packages.
import { existsSync } from 'node:fs';
import { execSync } from 'node:child_process';

const onPath = (cmd) => (process.env.PATH ?? '/usr/bin:/bin').split(':').some((d) => existsSync(`${d}/${cmd}`));
const needs = [
  // node-gyp's toolchain (the node machine image has it; a bare Debian may not)
  { pkg: 'g++', present: () => onPath('g++') },
  { pkg: 'make', present: () => onPath('make') },
  { pkg: 'python3', present: () => onPath('python3') },
  { pkg: 'libluajit2-5.1-dev', present: () => existsSync('/usr/include/luajit-2.1/lua.h') && existsSync('/usr/lib/x86_64-linux-gnu/libluajit-5.1.so') },
  { pkg: 'libpcre3-dev', present: () => existsSync('/usr/include/pcre.h') },
  { pkg: 'lua-cjson', present: () => existsSync('/usr/lib/x86_64-linux-gnu/lua/5.1/cjson.so') },
];
const missing = needs.filter((n) => !n.present()).map((n) => n.pkg);
if (missing.length === 0) process.exit(0);
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (!isRoot) {
  console.error(`ngxlua's engine needs these Debian packages: ${missing.join(' ')}\nInstall them as root: apt-get install -y ${missing.join(' ')}`);
  process.exit(1);
}
console.error(`# installing ${missing.join(' ')} ...`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
execSync('apt-get update -qq', { stdio: 'inherit', env });
execSync(`apt-get install -y -qq ${missing.join(' ')}`, { stdio: 'inherit', env });
