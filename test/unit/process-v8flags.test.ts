// The V8 flags a serving process gets: ours, unless the command line sets the same thing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SERVE_V8_FLAGS, serveExecArgv } from '../../src/process/v8flags.js';

test('ours are added where nothing sets them', () => {
  assert.deepEqual(serveExecArgv([]), [...SERVE_V8_FLAGS]);
  assert.deepEqual(serveExecArgv(['--inspect']), ['--inspect', ...SERVE_V8_FLAGS]);
});

test('a flag given on the command line wins, whatever its spelling', () => {
  const out = serveExecArgv(['--max_semi_space_size=8', '--parallel-scavenge']);
  assert.deepEqual(out, ['--max_semi_space_size=8', '--parallel-scavenge']);
  assert.ok(serveExecArgv(['--no-parallel_scavenge']).filter((a) => a.includes('scavenge')).length === 1);
});
