// ngx.socket.udp over AF_UNIX datagram sockets (setpeername("unix:/path")), through the optional
// unix-dgram addon. A datagram server bound in this test process receives what ngxlua sends.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runLua, cleanup } from './helpers.js';

interface DgramSock {
  on(ev: 'message', fn: (b: Buffer) => void): void;
  bind(p: string): void;
  close(): void;
}

let addon: { createSocket(type: string, fn?: (b: Buffer) => void): DgramSock } | null = null;
try {
  addon = createRequire(import.meta.url)('unix-dgram');
} catch {
  addon = null;
}

const dir = mkdtempSync(path.join(tmpdir(), 'ngxlua-udpunix-'));
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await cleanup();
});

test('send datagrams to a unix socket, and the errors for a missing path and a non-socket', { skip: addon ? false : 'the unix-dgram addon is not built' }, async () => {
  const sockPath = path.join(dir, 'dgram.sock');
  const got: Buffer[] = [];
  const srv = addon!.createSocket('unix_dgram', (b) => got.push(Buffer.from(b)));
  srv.bind(sockPath);
  try {
    const r = await runLua(`
      local u = ngx.socket.udp()
      ngx.say(u:setpeername("unix:${sockPath}"))
      local all = {}
      for i = 0, 255 do all[#all + 1] = string.char(i) end
      ngx.say(u:send(table.concat(all)))
      ngx.say(u:send({"a", {"b", 1}}))
      u:close()
      ngx.say(u:setpeername("unix:${dir}/missing.sock"))
      ngx.say(u:setpeername("unix:${path.join(dir, '..')}"))
    `);
    assert.equal(r.out, ['1', '1', '1', 'nilno such file or directory', 'nilconnection refused', ''].join('\n'));
    for (let i = 0; i < 50 && got.length < 2; i++) await new Promise((res) => setTimeout(res, 20));
    assert.equal(got.length, 2);
    assert.deepEqual([...got[0]], Array.from({ length: 256 }, (_, i) => i));
    assert.equal(got[1].toString(), 'ab1');
  } finally {
    srv.close();
  }
});
