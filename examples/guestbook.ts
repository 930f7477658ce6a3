/**
 * The seed's picture: a guestbook-style application reached at a public address on port 80 through a load balancer
 * declared in the stack, which spreads the traffic over NodePort 30080 on each of three workers. The application's
 * Service must be `type: NodePort` with `nodePort: 30080`; the outputs `app_guestbook_address` and `app_guestbook_url`
 * say where to reach it. Scaling the `web` group (parameter `workers_web_count`, 1-10) adds or removes pool members.
 */
import { App, Cluster, HeatStack } from 'hotk8s';

export default function (): App {
  const app = new App();
  const stack = new HeatStack(app, 'guestbook', { description: 'hotk8s: a cluster with a guestbook application exposed on port 80' });
  const cluster = new Cluster(stack, 'Cluster', {
    name: 'guestbook',
    workerGroups: [{ name: 'web', size: 3, minSize: 1, maxSize: 10 }],
  });
  cluster.exposeNodePort('guestbook', {
    port: 80,
    nodePort: 30080,
    protocol: 'HTTP',
    healthMonitor: { type: 'HTTP', urlPath: '/', expectedCodes: '200', delaySec: 5, timeoutSec: 3, maxRetries: 3 },
    floatingIp: true,
  });
  return app;
}
