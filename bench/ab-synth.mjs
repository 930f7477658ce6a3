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
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [runsArg, groupsArg, ...builds] = process.argv.slice(2);
const runs = Number(runsArg);
const groups = Number(groupsArg);
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(groups) || groups < 1 || builds.length === 0) {
  console.error('usage: node bench/ab-synth.mjs RUNS GROUPS DIR[:CACHE] DIR[:CACHE] ...');
  process.exit(2);
}
if (!existsSync('/usr/bin/time')) {
  console.error("ab-synth: /usr/bin/time not found: install Debian's 'time' package");
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
    const started = process.hrtime.bigint();
    const r = spawnSync(
      '/usr/bin/time',
      ['-f', '%e %U %S %M', process.execPath, 'bench/cluster-program.mjs', join(t.own, 'out'), join(t.own, 'state')],
      {
        cwd: t.dir,
        encoding: 'utf8',
        env: {
          ...process.env,
          HOTK8S_COMPILE_CACHE: t.cache,
          BENCH_GROUPS: String(groups),
          BENCH_WORKERS: '1',
          BENCH_TIMINGS: timings,
        },
      },
    );
    const wall = Number(process.hrtime.bigint() - started) / 1e6;
    if (r.status !== 0) {
      console.error(`ab-synth: ${t.dir} failed:\n${r.stderr}`);
      process.exit(1);
    }
    const [, user, sys, maxKiB] = r.stderr.trim().split('\n').pop().split(' ').map(Number);
    if (round > 0) {
      t.samples.push({ wall, cpu: (user + sys) * 1000, rss: maxKiB / 1024, ...JSON.parse(readFileSync(timings, 'utf8')) });
    }
  }
}

const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor(s.length / 2)];
};
const keys = ['wall', 'cpu', 'rss', 'start', 'import', 'construct', 'validate', 'render', 'check', 'yaml', 'synth'];
console.log(['build', ...keys].join('\t'));
for (const t of targets) console.log([t.dir, ...keys.map((k) => median(t.samples.map((s) => s[k])).toFixed(1))].join('\t'));
