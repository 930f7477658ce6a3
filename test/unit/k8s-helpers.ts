import { App, Cluster, HeatStack, type ClusterProps } from '../../src/index.js';

/** A root stack with one Cluster (site values filled so that nothing is required). */
export function cluster(props: ClusterProps = {}, stackName = 'test'): { app: App; stack: HeatStack; cluster: Cluster } {
  const app = new App();
  const stack = new HeatStack(app, stackName);
  const c = new Cluster(stack, 'Cluster', { name: 'k8s', image: 'ubuntu-24.04', externalNetwork: 'public', keyName: 'me', ...props });
  return { app, stack, cluster: c };
}

/** The HOT documents of every template below a stack, by file name (no checker, no secrets). */
export function templates(stack: HeatStack): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  const visit = (s: HeatStack) => {
    out.set(s.fileName, s.toTemplate());
    for (const n of s.nestedStacks()) visit(n);
  };
  visit(stack);
  return out;
}
