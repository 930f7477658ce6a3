/** A small development cluster: 1 etcd member, 1 master without a load balancer (floating IP on the master), 1 worker. */
import { App, Cluster, HeatStack } from '../src/index.js';

export default function (): App {
  const app = new App();
  const stack = new HeatStack(app, 'dev', {
    description: 'hotk8s: a development Kubernetes cluster (1 etcd, 1 master, no load balancer, 1 worker)',
  });
  new Cluster(stack, 'Cluster', {
    name: 'dev',
    etcd: { size: 1 },
    masters: { count: 1 },
    loadBalancer: false,
    workerGroups: [{ name: 'default', size: 1, maxSize: 5 }],
  });
  return app;
}
