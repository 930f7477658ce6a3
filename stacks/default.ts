/**
 * The default HA cluster: 3 etcd members, 3 masters behind an Octavia API load balancer with a floating IP,
 * one worker group of 3 (scalable to 10 by a parameter), flannel vxlan. What `hotk8s synth` emits with no argument.
 */
import { App, Cluster, HeatStack } from '../src/index.js';

export default function (): App {
  const app = new App();
  const stack = new HeatStack(app, 'default', {
    description: 'hotk8s: a highly available Kubernetes cluster (3 etcd, 3 masters, API load balancer, 3 workers)',
  });
  new Cluster(stack, 'Cluster', { name: 'k8s' });
  return app;
}
