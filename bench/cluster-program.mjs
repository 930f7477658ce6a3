// The benchmark's compiled program: a plain JS program calling the built library (dist/), as a user's compiled
// app would. Shape from the environment: BENCH_GROUPS worker groups of BENCH_WORKERS workers, BENCH_ETCD members.
// Usage: node bench/cluster-program.mjs OUTDIR STATEDIR
// With BENCH_TIMINGS=FILE it also writes where the time went (milliseconds since the process started).
import { writeFileSync } from 'node:fs';

const started = performance.now(); // Node's own start-up, before this module ran
const { App, Cluster, HeatStack, synthesize } = await import('hotk8s');
const imported = performance.now();

const [outdir, stateDir] = process.argv.slice(2);
const groups = Number(process.env.BENCH_GROUPS ?? 1);
const workers = Number(process.env.BENCH_WORKERS ?? 3);
const etcd = Number(process.env.BENCH_ETCD ?? 3);

const app = new App();
const stack = new HeatStack(app, 'bench');
new Cluster(stack, 'Cluster', {
  name: 'bench',
  etcd: { size: etcd },
  // 200 workers need about 1300 Heat resources: the scenario stands for a cloud that raised max_resources_per_stack
  maxResourcesPerStack: Number(process.env.BENCH_MAX_RESOURCES ?? 1000),
  workerGroups: Array.from({ length: groups }, (_, i) => ({ name: `pool${i}`, size: workers, maxSize: workers })),
});
const constructed = performance.now();
const result = await synthesize(app, { outdir, stateDir });
const done = performance.now();
if (process.env.BENCH_TIMINGS) {
  writeFileSync(
    process.env.BENCH_TIMINGS,
    JSON.stringify({
      start: started,
      import: imported - started,
      construct: constructed - imported,
      ...result.timings,
      synth: done - constructed,
    }),
  );
}
