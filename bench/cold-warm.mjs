// Cold against warm synth: builds and synthesizes the same cluster ROUNDS times in one process (BENCH_GROUPS worker
// groups of one worker each), printing each round's construct and synth milliseconds and the synth's phases. The
// first round pays for code the engine meets for the first time; the last shows the work itself.
// Usage: node bench/cold-warm.mjs [ROUNDS]   (dist/ built; writes into .cache/bench/cold-warm)
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { App, Cluster, HeatStack, synthesize } = await import('hotk8s');
const rounds = Number(process.argv[2] ?? 3);
const groups = Number(process.env.BENCH_GROUPS ?? 100);
const work = join(ROOT, '.cache', 'bench', 'cold-warm');
for (let round = 1; round <= rounds; round++) {
  const t0 = performance.now();
  const app = new App();
  const stack = new HeatStack(app, 'bench');
  new Cluster(stack, 'Cluster', {
    name: 'bench',
    etcd: { size: 3 },
    workerGroups: Array.from({ length: groups }, (_, i) => ({ name: `pool${i}`, size: 1, maxSize: 1 })),
  });
  const t1 = performance.now();
  const r = await synthesize(app, { outdir: join(work, 'out'), stateDir: join(work, 'state') });
  const t2 = performance.now();
  const phases = Object.entries(r.timings)
    .map(([k, v]) => `${k} ${Math.round(v)}`)
    .join(', ');
  console.log(`round ${round}: construct ${Math.round(t1 - t0)} ms, synth ${Math.round(t2 - t1)} ms (${phases})`);
}
