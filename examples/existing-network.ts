/** Reusing an existing network and subnet; the API VIP is a free address outside the subnet's allocation pool. */
import { App, Cluster, HeatStack } from 'hotk8s';

export default function (): App {
  const app = new App();
  const stack = new HeatStack(app, 'existing-network');
  new Cluster(stack, 'Cluster', {
    name: 'shared',
    existingNetwork: { networkId: 'project-net', subnetId: 'project-subnet', subnetCidr: '192.168.10.0/24' },
    loadBalancer: { vipAddress: '192.168.10.5' },
  });
  return app;
}
