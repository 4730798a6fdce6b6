// bench/idle.mjs's ngxlua: the server of the CLI, started through the embedding API in a process
// of its own, answering the parent's "mem" messages with its RSS and V8 heap figures.
import v8 from 'node:v8';
import { start } from '../dist/src/index.js';

const server = await start({ conf: process.argv[2] });
process.on('message', (m) => {
  if (m === 'mem') {
    global.gc?.();
    const u = process.memoryUsage();
    // the young generation's pages: it grows towards --max-semi-space-size under load whatever
    // the number of connections, so idle.mjs reports RSS with and without it
    const young = v8.getHeapSpaceStatistics().find((sp) => sp.space_name === 'new_space')?.physical_space_size ?? 0;
    process.send({ rss: u.rss, heapUsed: u.heapUsed, heapTotal: u.heapTotal, external: u.external, arrayBuffers: u.arrayBuffers, young });
  } else if (m === 'stop') {
    void server.stop().then(() => process.exit(0));
  }
});
process.send({ ready: server.addresses() });
