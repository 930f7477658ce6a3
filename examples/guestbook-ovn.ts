/**
 * The guestbook on a cloud whose Octavia offers the ovn provider, with both ways of exposing applications: a load
 * balancer declared in the stack (TCP 80 to NodePort 30080 on the `web` group; ovn keeps client addresses, so the
 * NodePort is opened to the allowed client CIDRs on the web workers only) and the OpenStack cloud-controller-manager
 * for `Service type=LoadBalancer` (the operator gives the application credential at create time:
 * `--parameter os_application_credential_id=... --parameter os_application_credential_secret=...`).
 */
import { App, Cluster, HeatStack } from 'hotk8s';

export default function (): App {
  const app = new App();
  const stack = new HeatStack(app, 'guestbook-ovn', {
    description: 'hotk8s: guestbook behind ovn load balancers, and the cloud provider for Service type=LoadBalancer',
  });
  const cluster = new Cluster(stack, 'Cluster', {
    name: 'gbovn',
    loadBalancer: { provider: 'ovn' },
    workerGroups: [
      { name: 'web', size: 3, minSize: 1, maxSize: 10 },
      { name: 'batch', size: 2, labels: { 'node.kubernetes.io/pool': 'batch' } },
    ],
    cloudProvider: { authUrl: 'https://keystone.example.com:5000/v3', clientCidrs: ['203.0.113.0/24'] },
  });
  cluster.exposeNodePort('guestbook', {
    port: 80,
    nodePort: 30080,
    allowedCidrs: ['0.0.0.0/0'],
    workerGroups: cluster.workerGroups.filter((g) => g.name === 'web'),
  });
  return app;
}
