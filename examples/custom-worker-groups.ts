/** Custom worker groups: a general group and a tainted batch group, added with addWorkerGroup(). */
import { App, Cluster, HeatStack } from 'hotk8s';

export default function (): App {
  const app = new App();
  const stack = new HeatStack(app, 'custom-worker-groups');
  const cluster = new Cluster(stack, 'Cluster', { name: 'groups', workerGroups: [{ name: 'general', size: 2, flavor: 'm1.large' }] });
  cluster.addWorkerGroup({
    name: 'batch',
    size: 0,
    maxSize: 8,
    flavor: 'c1.xlarge',
    labels: { 'hotk8s.io/pool': 'batch' },
    taints: [{ key: 'hotk8s.io/batch', effect: 'NoSchedule' }],
  });
  return app;
}
