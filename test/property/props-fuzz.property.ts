/**
 * Generators shared by the props fuzz (test/property/props-fuzz.property.test.ts) and its real-Heat sample
 * (test/heat/props-fuzz.conformance.test.ts): valid Cluster prop sets, and junk made from a valid set by changing one
 * prop path (a value of another type, null, an unknown key, nested junk). The junk is defined here, by the test,
 * independently of the library's spec.
 */
import fc from 'fast-check';
import type { ClusterProps } from '../../src/index.js';

const name = fc.stringMatching(/^[a-z][a-z0-9]{0,6}$/);
const word = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]$/);
const ipv4 = fc
  .tuple(fc.integer({ min: 1, max: 223 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 254 }))
  .map(([a, b, c]) => `${a}.${b}.7.${c}`);
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const policy = fc.constantFrom<'anti-affinity' | 'soft-anti-affinity' | 'affinity' | 'soft-affinity' | false>(
  'anti-affinity',
  'soft-anti-affinity',
  'affinity',
  'soft-affinity',
  false,
);
const bootVolume = fc.record(
  { sizeGiB: fc.integer({ min: 10, max: 200 }), volumeType: opt(fc.constantFrom('ssd', 'standard')) },
  { requiredKeys: ['sizeGiB'] },
);

const workerGroup = fc
  .record({
    name,
    size: fc.integer({ min: 0, max: 3 }),
    extra: fc.integer({ min: 0, max: 5 }),
    flavor: opt(word),
    image: opt(word),
    availabilityZone: opt(fc.constantFrom('az1', 'az2', 'nova')),
    bootVolume: opt(bootVolume),
    labels: opt(fc.dictionary(fc.stringMatching(/^example\.org\/[a-z]{1,8}$/), fc.stringMatching(/^[a-z0-9]{0,8}$/), { maxKeys: 2 })),
    taints: opt(
      fc.array(
        fc.record(
          {
            key: fc.stringMatching(/^[a-z]{1,8}$/),
            value: opt(fc.stringMatching(/^[a-z0-9]{1,8}$/)),
            effect: fc.constantFrom<'NoSchedule' | 'PreferNoSchedule' | 'NoExecute'>('NoSchedule', 'PreferNoSchedule', 'NoExecute'),
          },
          { requiredKeys: ['key', 'effect'] },
        ),
        { maxLength: 2 },
      ),
    ),
    serverGroupPolicy: opt(policy),
  })
  .map(({ extra, size, ...g }) => clean({ ...g, size, minSize: 0, maxSize: size + extra + 1 }));

/** Valid Cluster props: every one must construct (and synthesize). */
export const validProps: fc.Arbitrary<ClusterProps> = fc
  .record({
    name,
    image: opt(word),
    keyName: opt(fc.oneof(word, fc.constant(false as const))),
    externalNetwork: opt(word),
    dnsNameservers: opt(fc.array(ipv4, { maxLength: 3 })),
    etcd: opt(
      fc.record({
        size: opt(fc.constantFrom(1, 3, 5)),
        flavor: opt(word),
        dataVolume: opt(
          fc.record(
            {
              sizeGiB: fc.integer({ min: 1, max: 100 }),
              volumeType: opt(word),
              deletionPolicy: opt(fc.constantFrom<'Snapshot' | 'Retain'>('Snapshot', 'Retain')),
            },
            { requiredKeys: ['sizeGiB'] },
          ),
        ),
        serverGroupPolicy: opt(policy),
      }),
    ),
    masters: opt(fc.record({ count: opt(fc.integer({ min: 1, max: 5 })), flavor: opt(word), bootVolume: opt(bootVolume) })),
    loadBalancer: opt(fc.record({ provider: opt(fc.constantFrom<'amphora' | 'ovn'>('amphora', 'ovn')), etcdListener: opt(fc.boolean()) })),
    apiAllowedCidrs: opt(fc.constantFrom(['0.0.0.0/0'], ['192.0.2.0/24', '198.51.100.0/25'])),
    sshAllowedCidrs: opt(fc.array(fc.constantFrom('192.0.2.0/24', '203.0.113.7/32'), { maxLength: 2 })),
    flannel: opt(
      fc.record({
        backend: opt(fc.constantFrom<'vxlan' | 'host-gw' | 'udp'>('vxlan', 'host-gw', 'udp')),
        subnetLength: opt(fc.constant(24)),
      }),
    ),
    workerGroups: opt(fc.uniqueArray(workerGroup, { minLength: 1, maxLength: 3, selector: (g) => g.name })),
    imageRegistry: opt(fc.constant('registry.example.org/k8s')),
    bootstrapBounds: opt(fc.record({ packagesSec: opt(fc.integer({ min: 300, max: 900 })) })),
    maxResourcesPerStack: fc.constant(5000),
  })
  .map((p) => clean(p) as ClusterProps);

/** Drop keys whose value is undefined, deeply (what a user writes). */
function clean<T>(value: T): T {
  if (Array.isArray(value)) return value.map(clean) as T;
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = clean(v);
    return out as T;
  }
  return value;
}

export type PathPart = string | number;

/** Every prop path of a props object (objects, lists and leaves), the root excluded. */
export function propPaths(value: unknown, prefix: PathPart[] = []): PathPart[][] {
  const out: PathPart[][] = [];
  if (Array.isArray(value)) {
    value.forEach((v, i) => out.push([...prefix, i], ...propPaths(v, [...prefix, i])));
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) out.push([...prefix, k], ...propPaths(v, [...prefix, k]));
  }
  return out;
}

/** A path as the library's messages write it: `workerGroups[1].bootVolume.sizeGiB`. */
export function formatPath(path: readonly PathPart[]): string {
  return path
    .map((p, i) => {
      if (typeof p === 'number') return `[${p}]`;
      if (!/^[A-Za-z_$][\w$]*$/.test(p)) return `[${JSON.stringify(p)}]`;
      return i === 0 ? p : `.${p}`;
    })
    .join('');
}

function kindOf(v: unknown): 'string' | 'number' | 'boolean' | 'list' | 'object' {
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'object' && v !== null) return 'object';
  return typeof v as 'string' | 'number' | 'boolean';
}

/**
 * Values of another type than `valid`, never valid for that prop: a prop that takes a string, a number, a list or an
 * object never takes a value of another of those kinds. Booleans (etcdListener, `false` for keyName,
 * serverGroupPolicy) get numbers and lists only (`keyName` takes a string where others take `false`).
 */
export function junkFor(valid: unknown): fc.Arbitrary<unknown> {
  const nested = fc.object({ maxDepth: 2, maxKeys: 3 }).filter((o) => Object.keys(o).length > 0);
  const number = fc.oneof(fc.integer(), fc.double({ noNaN: true }));
  const string = fc.string({ maxLength: 8 });
  const list = fc.array(fc.anything({ maxDepth: 1 }), { maxLength: 3 });
  const object = fc.oneof(fc.constant({}), nested);
  switch (kindOf(valid)) {
    case 'string':
      return fc.oneof(number, list, object, fc.constant(true));
    case 'number':
      return fc.oneof(string, fc.boolean(), list, object);
    case 'boolean':
      return fc.oneof(number, list);
    case 'list':
      return fc.oneof(string, number, object, fc.boolean());
    case 'object':
      return fc.oneof(string, number, list);
  }
}

/** A copy of `props` with the value at `path` replaced (or, with `unknownKey`, a key added to the object there). */
export function withChange(props: unknown, path: readonly PathPart[], change: { value: unknown } | { unknownKey: string }): unknown {
  const copy = structuredClone(props) as Record<PathPart, unknown>;
  let at: Record<PathPart, unknown> = copy;
  const last = path.length === 0 ? undefined : path[path.length - 1]!;
  for (const p of path.slice(0, -1)) at = at[p] as Record<PathPart, unknown>;
  if ('value' in change) {
    at[last!] = change.value;
  } else {
    const target = (last === undefined ? copy : at[last]) as Record<string, unknown>;
    target[change.unknownKey] = 1;
  }
  return copy;
}

/** One junk case: the props, and the prop path the refusal must name. */
export interface JunkCase {
  readonly props: unknown;
  readonly path: string;
  readonly kind: 'wrong-type' | 'null' | 'unknown-key';
}

export const junkProps: fc.Arbitrary<JunkCase> = validProps.chain((valid) => {
  const paths = propPaths(valid);
  // labels are a map of any names: a new key there is a new label, not junk
  const objectPaths: PathPart[][] = [[], ...paths.filter((p) => kindOf(get(valid, p)) === 'object' && p[p.length - 1] !== 'labels')];
  return fc.oneof(
    fc.constantFrom(...paths).chain((p) =>
      junkFor(get(valid, p)).map((v): JunkCase => ({
        props: withChange(valid, p, { value: v }),
        path: formatPath(p),
        kind: 'wrong-type',
      })),
    ),
    fc.constantFrom(...paths).map((p): JunkCase => ({ props: withChange(valid, p, { value: null }), path: formatPath(p), kind: 'null' })),
    fc
      .tuple(
        fc.constantFrom(...objectPaths),
        fc.stringMatching(/^[a-z][a-zA-Z]{2,12}$/).map((k) => `zz${k}`),
      )
      .map(([p, k]): JunkCase => ({
        props: withChange(valid, p, { unknownKey: k }),
        path: formatPath([...p, k]),
        kind: 'unknown-key',
      })),
  );
});

function get(value: unknown, path: readonly PathPart[]): unknown {
  let at = value as Record<PathPart, unknown>;
  for (const p of path) at = at[p] as Record<PathPart, unknown>;
  return at;
}
