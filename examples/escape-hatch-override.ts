/** An escape hatch: set a Heat property the constructs do not model (the API load balancer's description and a listener timeout). */
import { App, Cluster, HeatStack } from 'hotk8s';

export default function (): App {
  const app = new App();
  const stack = new HeatStack(app, 'escape-hatch-override');
  const cluster = new Cluster(stack, 'Cluster', { name: 'hatch' });
  cluster.loadBalancer!.resource.addPropertyOverride('description', 'Kubernetes API of the hatch cluster');
  cluster.network.router!.addPropertyOverride('admin_state_up', true);
  return app;
}
