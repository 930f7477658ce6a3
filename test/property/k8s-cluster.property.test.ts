import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { App, Cluster, HeatStack, HotError, type ClusterProps } from '../../src/index.js';

const groupName = fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/);
const group = fc.record({ name: groupName, size: fc.integer({ min: 0, max: 5 }), extra: fc.integer({ min: 0, max: 10 }) });

const validProps = fc.record({
  etcd: fc.constantFrom(1, 3, 5),
  lb: fc.constantFrom<'amphora' | 'ovn' | 'none'>('amphora', 'ovn', 'none'),
  backend: fc.constantFrom<'vxlan' | 'host-gw' | 'udp'>('vxlan', 'host-gw', 'udp'),
  groups: fc.uniqueArray(group, { minLength: 1, maxLength: 3, selector: (g) => g.name }),
  nodeOctet: fc.integer({ min: 0, max: 200 }),
  podPrefix: fc.constantFrom(14, 16),
  subnetLength: fc.constantFrom(22, 24),
  masters: fc.constantFrom(1, 3, 5),
});

function build(p: fc.infer<typeof validProps>): { app: App; stack: HeatStack } {
  const app = new App();
  const stack = new HeatStack(app, 'prop');
  const props: ClusterProps = {
    name: 'prop',
    image: 'img',
    externalNetwork: 'public',
    keyName: 'k',
    etcd: { size: p.etcd },
    masters: { count: p.lb === 'none' ? 1 : p.masters },
    loadBalancer: p.lb === 'none' ? false : { provider: p.lb },
    flannel: { backend: p.backend, podCidr: `10.${p.podPrefix === 14 ? 64 : 244}.0.0/${p.podPrefix}`, subnetLength: p.subnetLength },
    nodeCidr: `172.16.${p.nodeOctet}.0/24`,
    workerGroups: p.groups.map((g) => ({ name: g.name, size: g.size, maxSize: g.size + g.extra + 1 })),
  };
  new Cluster(stack, 'Cluster', props);
  return { app, stack };
}

describe('random clusters', () => {
  it('every valid cluster synthesizes every template', () => {
    fc.assert(
      fc.property(validProps, (p) => {
        const { stack } = build(p);
        const visit = (s: HeatStack): void => {
          const doc = s.toTemplate();
          expect(Object.keys(doc.resources as object).length).toBeGreaterThan(0);
          for (const n of s.nestedStacks()) visit(n);
        };
        visit(stack);
      }),
      { numRuns: 25 },
    );
  });

  it('random invalid props give HotError, never a TypeError', () => {
    const junk = fc.oneof(fc.constant(undefined), fc.integer(), fc.string(), fc.constant(null), fc.constant(-1), fc.constant('10.0.0.1/8'));
    const invalid = fc.record(
      {
        name: junk,
        kubernetesVersion: junk,
        etcd: fc.record({ size: junk }),
        masters: fc.record({ count: junk }),
        flannel: fc.record({ podCidr: junk, subnetLength: junk, backend: junk }),
        serviceCidr: junk,
        nodeCidr: junk,
        workerGroups: fc.array(fc.record({ name: junk, size: junk, maxSize: junk }), { maxLength: 2 }),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(invalid, (props) => {
        try {
          const app = new App();
          const stack = new HeatStack(app, 'bad');
          new Cluster(stack, 'Cluster', { image: 'i', externalNetwork: 'p', keyName: 'k', ...(props as ClusterProps) });
          stack.toTemplate();
        } catch (e) {
          if (!(e instanceof HotError)) throw new Error(`not a HotError: ${(e as Error)?.name}: ${(e as Error)?.message}`);
        }
      }),
      { numRuns: 200 },
    );
  });
});
