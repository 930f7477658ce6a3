/** Flannel with the host-gw backend: plain routes between nodes, allowed_address_pairs for the pod CIDR on every port. */
import { App, Cluster, HeatStack } from 'hotk8s';

export default function (): App {
  const app = new App();
  const stack = new HeatStack(app, 'host-gw-flannel');
  new Cluster(stack, 'Cluster', { name: 'hostgw', flannel: { backend: 'host-gw', podCidr: '10.200.0.0/16' } });
  return app;
}
