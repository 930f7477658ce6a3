// A/B of synth speed between builds: each build's bench/cluster-program.mjs run in turn (the order alternating each
// round), so that a shared machine's load falls on both alike. The figures in docs/bench-synth.md come from it.
//
// Usage: node bench/ab-synth.mjs RUNS GROUPS DIR[:CACHE] DIR[:CACHE] ...
//   DIR    a checkout with its own build (dist/) and node_modules (a worktree can link the main one's), e.g.
//          git worktree add /tmp/base <commit> && ln -s "$PWD/node_modules" /tmp/base/node_modules &&
//          (cd /tmp/base && npx tsc -p tsconfig.json && node scripts/bundle.mjs)
//   CACHE  the compile cache directory for that build (HOTK8S_COMPILE_CACHE); by default a fresh one per position
// GROUPS worker groups of one worker each; RUNS timed rounds after one untimed round (a fresh state directory, so
// that round issues the certificates and the timed ones do not, as for a user's first and later synths).
// Prints the median of each figure per build: wall and CPU time (ms), peak RSS (MiB) and the phases of BENCH_TIMINGS.
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, timeCommand, timeMissing } from './measure.mjs';

const [runsArg, groupsArg, ...builds] = process.argv.slice(2);
const runs = Number(runsArg);
const groups = Number(groupsArg);
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(groups) || groups < 1 || builds.length === 0) {
  console.error('usage: node bench/ab-synth.mjs RUNS GROUPS DIR[:CACHE] DIR[:CACHE] ...');
  process.exit(2);
}
if (timeMissing()) {
  console.error(`ab-synth: ${timeMissing()}`);
  process.exit(1);
}

const work = mkdtempSync(join(tmpdir(), 'hotk8s-ab-'));
const targets = builds.map((b, k) => {
  const [dir, cache] = b.split(':');
  const own = join(work, String(k));
  mkdirSync(own, { recursive: true });
  return { dir, cache: cache ?? join(own, 'cache'), own, samples: [] };
});

for (let round = 0; round <= runs; round++) {
  const order = round % 2 === 0 ? targets : [...targets].reverse();
  for (const t of order) {
    const timings = join(t.own, 'timings.json');
    const r = timeCommand(process.execPath, ['bench/cluster-program.mjs', join(t.own, 'out'), join(t.own, 'state')], {
      cwd: t.dir,
      env: { HOTK8S_COMPILE_CACHE: t.cache, BENCH_GROUPS: String(groups), BENCH_WORKERS: '1', BENCH_TIMINGS: timings },
      timeFile: join(t.own, 'time.txt'),
    });
    if (r.error) {
      console.error(`ab-synth: ${t.dir}: ${r.error}`);
      process.exit(1);
    }
    if (round > 0) {
      // wall: measured here to the microsecond (GNU time's own is in 10 ms steps)
      t.samples.push({ wall: r.elapsedMs, cpu: r.cpu * 1000, rss: r.rssKiB / 1024, ...JSON.parse(readFileSync(timings, 'utf8')) });
    }
  }
}

const keys = ['wall', 'cpu', 'rss', 'start', 'import', 'construct', 'validate', 'render', 'check', 'yaml', 'synth'];
console.log(['build', ...keys].join('\t'));
for (const t of targets) console.log([t.dir, ...keys.map((k) => median(t.samples.map((s) => s[k])).toFixed(1))].join('\t'));
