// The benchmark's TypeScript app, synthesized as a user runs it: `hotk8s synth bench/cluster-app.ts`.
// Shape from the environment: BENCH_GROUPS worker groups of BENCH_WORKERS workers, BENCH_ETCD etcd members.
import { App, Cluster, HeatStack } from 'hotk8s';

export default function (): App {
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
  return app;
}
