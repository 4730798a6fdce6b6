// The whole suite: unit tests (node:test) then the differential conformance cases on both
// engines. Prints one closing line "N passed, N failed" and exits non-zero on any failure.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
// every *.test.js under dist/test except the conformance runner's own folder
function testFiles(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...testFiles(p));
    else if (e.name.endsWith('.test.js')) out.push(p);
  }
  return out;
}
const files = testFiles(path.join(root, 'dist/test'));
let passed = 0;
let failed = 0;

const unit = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...files], { encoding: 'utf8', cwd: root });
process.stdout.write(unit.stdout);
process.stderr.write(unit.stderr);
const mp = /^ℹ pass (\d+)/m.exec(unit.stdout);
const mf = /^ℹ fail (\d+)/m.exec(unit.stdout);
passed += mp ? Number(mp[1]) : 0;
failed += mf ? Number(mf[1]) : unit.status === 0 ? 0 : 1;

// two case files at a time: timing-sensitive cases (light-thread ordering) stay stable on 2 cores
const extra = process.argv.slice(2);
if (!extra.some((a) => a.startsWith('--jobs'))) extra.push('--jobs', '2');
const conf = spawnSync(process.execPath, [path.join(root, 'test/conformance/run.mjs'), ...extra], { encoding: 'utf8', cwd: root });
process.stdout.write(conf.stdout);
process.stderr.write(conf.stderr);
const mo = /^overall: (\d+) passed, (\d+) failed/m.exec(conf.stdout);
if (mo) {
  passed += Number(mo[1]);
  failed += Number(mo[2]);
} else if (conf.status !== 0) failed += 1;

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
