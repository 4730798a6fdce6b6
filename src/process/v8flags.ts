// V8 settings for a serving process. They can only be given when a process starts, so they go on
// the command line of the processes ngxlua starts itself (workers, the daemon), on the `ngxlua`
// command's shebang and in `npm start`; a process started as plain `node bin/ngxlua.js` runs
// with Node's defaults.
//
// The young generation: with Node's default 16 MB semi-space, objects of the requests in flight
// are still alive at most scavenges, get copied and promoted, and old-space collections follow.
// Measured with --trace-gc over 110k vars8 requests: 342 ms of scavenges and 11 mark-compacts
// (37 ms) at 16 MB, 37 ms and 1 (2.5 ms) at 32 MB, with a smaller RSS (98 MB against 109 MB).
//
// Scavenges on the main thread alone: a serving process keeps its core busy and the others are
// busy too (other workers, the clients, nginx's model of a worker per core), so the helper
// tasks of a parallel scavenge wait for a core while the main thread waits for them. Measured
// with --trace-gc on /static, 3 alternating runs of 4 s under wrk -c50 on 2 cores: mean pause
// 0.42-0.47 ms parallel, 0.25-0.34 ms without, and 69-79 ms against 34-52 ms of pauses in all.
export const SERVE_V8_FLAGS: readonly string[] = ['--max-semi-space-size=32', '--no-parallel-scavenge'];

/** What a V8 flag sets, whatever its spelling: `--max_semi_space_size=1` and `--no-x` name it too. */
function flagName(a: string): string {
  const eq = a.indexOf('=');
  return (eq < 0 ? a : a.slice(0, eq)).replace(/_/g, '-').replace(/^--no-/, '--');
}

/** execArgv for a process that serves: the given flags, plus ours where they set nothing. */
export function serveExecArgv(execArgv: readonly string[]): string[] {
  const out = [...execArgv];
  for (const f of SERVE_V8_FLAGS) {
    const name = flagName(f);
    if (!out.some((a) => flagName(a) === name)) out.push(f);
  }
  return out;
}
