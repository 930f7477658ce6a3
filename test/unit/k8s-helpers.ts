import { expect } from 'vitest';
import { App, Cluster, HeatStack, HotError, type ClusterProps } from '../../src/index.js';

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

/**
 * Asserts that `f` throws our HotError for exactly this construct path, with a detail (rule and value received)
 * matching `detail`.
 */
export function failsWith(f: () => unknown, path: string, detail: RegExp): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a HotError').toBeInstanceOf(HotError);
  const h = err as HotError;
  expect(h.constructPath).toBe(path);
  expect(h.message.startsWith(`${path}: `), h.message).toBe(true);
  expect(h.detail).toMatch(detail);
}
