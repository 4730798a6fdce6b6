// Differential request-head fuzzing against the reference (test/fuzz/run.mjs): a fixed seeded
// corpus of mutated request heads goes to Debian's nginx + lua module and to ours, one
// connection each; whenever the reference answers within 2 s (a status, an HTTP/0.9 answer or
// a close), ours must answer in the same class (2xx/3xx/4xx/5xx/raw/closed/...).
// Skipped when the reference or its lua module is not installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The repository root (this file runs from dist/test/integration/). */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
// the fuzzer is plain .mjs under test/fuzz (not compiled): load it from the source tree
const FUZZ = pathToFileURL(path.join(ROOT, 'test/fuzz/run.mjs')).href;

const COUNT = 1500;
const SEED = 20240601;

test(`request-head fuzz: ${COUNT} requests (seed ${SEED}) answered in the reference's status class`, { timeout: 120000 }, async (t) => {
  const fuzz = await import(FUZZ);
  const missing: string | null = fuzz.referenceMissing();
  if (missing) {
    t.skip(`reference not available: ${missing}`);
    return;
  }
  const res = await fuzz.runFuzz({ count: COUNT, seed: SEED, concurrency: 24, timeoutMs: 2000 });
  assert.equal(res.results.length, COUNT);
  // the reference must have answered a good share, or the comparison says nothing
  const answeredByRef = res.results.filter((r: { ref: { cls: string } }) => fuzz.answered(r.ref.cls)).length;
  assert.ok(answeredByRef > COUNT * 0.7, `the reference answered only ${answeredByRef} of ${COUNT}`);
  const diffs: unknown[] = res.diffs;
  if (diffs.length) {
    const shown = diffs.slice(0, 25).map((d) => `  ${fuzz.describeDiff(d)}`).join('\n');
    const problems = res.problems.length ? `\nproblems:\n  ${res.problems.join('\n  ')}` : '';
    assert.fail(`${diffs.length} of ${answeredByRef} requests the reference answered get another class from ours ` +
      `(node test/fuzz/run.mjs --count ${COUNT} --seed ${SEED} for the full report):\n${shown}${problems}`);
  }
  // the fuzz leaves no memory behind: RSS 2 s after the last connection, against before the run
  const rss = res.rss.ours as { before: number | null; after: number | null };
  t.diagnostic(`ngxlua RSS before/after: ${rss.before} / ${rss.after} MB`);
  if (rss.before !== null && rss.after !== null) {
    assert.ok(rss.after <= rss.before * 1.2, `RSS ${rss.before} MB before the fuzz, ${rss.after} MB after it (over 20% more)`);
  }
});
