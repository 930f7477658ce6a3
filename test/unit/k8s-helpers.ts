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

type Doc = Record<string, unknown>;
type Res = { type: string; properties?: Record<string, unknown> };

/**
 * Resources Heat counts against max_resources_per_stack, computed from the rendered templates alone (independently
 * of src/k8s/private/capacity.ts): each resource counts 1; a ResourceGroup adds, per member at the count's maximum
 * (the number, or the range max of the count parameter), the member resource itself plus its template's resources.
 */
export function countAtMax(files: Map<string, Doc>, file: string): number {
  const doc = files.get(file)!;
  const params = (doc.parameters ?? {}) as Record<string, { constraints?: { range?: { max: number } }[] }>;
  let n = 0;
  for (const r of Object.values((doc.resources ?? {}) as Record<string, Res>)) {
    n += 1;
    if (r.type !== 'OS::Heat::ResourceGroup') continue;
    const count = r.properties!.count as number | { get_param: string };
    const max = typeof count === 'number' ? count : params[count.get_param]!.constraints!.find((c) => c.range)!.range!.max;
    const memberFile = (r.properties!.resource_def as { type: string }).type;
    n += max * (1 + countAtMax(files, memberFile));
  }
  return n;
}

/** {@link countAtMax} of a stack's whole tree. */
export const resourcesAtMax = (stack: HeatStack): number => countAtMax(templates(stack), stack.fileName);

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
