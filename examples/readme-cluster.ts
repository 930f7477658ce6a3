/**
 * The program shown in the README's "Using it" section (kept here so the tests synthesize, golden-test and
 * Heat-validate it): two worker groups, one tainted for GPUs, and a web application behind its own load balancer.
 */
import { App, Cluster, HeatStack } from 'hotk8s';

export default function () {
  const app = new App();
  const stack = new HeatStack(app, 'prod');
  const cluster = new Cluster(stack, 'Cluster', {
    name: 'prod',
    workerGroups: [{ name: 'general', size: 3, maxSize: 20, flavor: 'm1.large' }],
  });
  cluster.addWorkerGroup({ name: 'gpu', size: 1, minSize: 0, maxSize: 4, taints: [{ key: 'nvidia.com/gpu', effect: 'NoSchedule' }] });
  cluster.exposeNodePort('web', { port: 80, nodePort: 30080, protocol: 'HTTP' });
  return app;
}
