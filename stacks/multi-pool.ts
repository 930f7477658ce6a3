/** Three worker groups with different flavors, labels, taints and availability zones. */
import { App, Cluster, HeatStack } from '../src/index.js';

export default function (): App {
  const app = new App();
  const stack = new HeatStack(app, 'multi-pool', { description: 'hotk8s: an HA cluster with general, memory-heavy and GPU worker groups' });
  new Cluster(stack, 'Cluster', {
    name: 'multi',
    workerGroups: [
      { name: 'general', size: 3, maxSize: 20, flavor: 'm1.large', availabilityZone: 'az1' },
      { name: 'highmem', size: 2, maxSize: 10, flavor: 'r1.xlarge', availabilityZone: 'az2', labels: { 'hotk8s.io/pool': 'highmem' } },
      {
        name: 'gpu',
        size: 1,
        minSize: 0,
        maxSize: 4,
        flavor: 'g1.xlarge',
        availabilityZone: 'az3',
        labels: { 'hotk8s.io/pool': 'gpu', 'nvidia.com/gpu.present': 'true' },
        taints: [{ key: 'nvidia.com/gpu', value: 'present', effect: 'NoSchedule' }],
        bootVolume: { sizeGiB: 200 },
      },
    ],
  });
  return app;
}
