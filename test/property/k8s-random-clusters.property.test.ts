/**
 * Random clusters, synthesized the whole way (validate, render, ajv schema check) with `app.synth({ write: false })`.
 * Valid ones must synthesize and keep the invariants of the issue; invalid ones must fail with HotError naming a
 * construct path, never with another error type. One state directory serves every run (the PKI is made once).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import yaml from 'js-yaml';
import { App, Cluster, HeatStack, HotError, HotValidationError, type ClusterProps, type WorkerGroupOptions } from '../../src/index.js';
import { memberTemplateSharing } from '../../src/k8s/private/member-sharing.js';

const stateDir = mkdtempSync(join(tmpdir(), 'hotk8s-prop-'));
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

const NUM_RUNS = 25;

// ------------------------------------------------------------------------------------------------ valid clusters

const workerGroup = fc.record({
  name: fc.stringMatching(/^[a-z][a-z0-9]{0,6}(-[a-z0-9]{1,4})?$/),
  size: fc.integer({ min: 0, max: 5 }),
  extra: fc.integer({ min: 0, max: 15 }),
  minSize: fc.integer({ min: 0, max: 2 }),
  availabilityZone: fc.option(fc.constantFrom('az1', 'az2'), { nil: undefined }),
  bootVolume: fc.option(fc.integer({ min: 10, max: 200 }), { nil: undefined }),
  serverGroupPolicy: fc.constantFrom<WorkerGroupOptions['serverGroupPolicy']>(undefined, 'anti-affinity', 'soft-anti-affinity', false),
  label: fc.option(fc.stringMatching(/^[a-z0-9]{1,10}$/), { nil: undefined }),
  taint: fc.boolean(),
});

const validCluster = fc.record({
  etcd: fc.constantFrom(1, 3, 5, 7),
  etcdVolume: fc.option(fc.constantFrom<'Snapshot' | 'Retain'>('Snapshot', 'Retain'), { nil: undefined }),
  masters: fc.integer({ min: 1, max: 5 }),
  /** Only used when masters is 1: no load balancer at all. */
  singleMasterWithoutLb: fc.boolean(),
  provider: fc.constantFrom<'amphora' | 'ovn'>('amphora', 'ovn'),
  etcdListener: fc.boolean(),
  backend: fc.constantFrom<'vxlan' | 'host-gw' | 'udp'>('vxlan', 'host-gw', 'udp'),
  groups: fc.uniqueArray(workerGroup, { minLength: 1, maxLength: 4, selector: (g) => g.name }),
  // node subnet in 172.16.0.0/12, pod CIDR in 10.128.0.0/9, service CIDR in 10.0.0.0/9: never overlapping
  nodeOctets: fc.tuple(fc.integer({ min: 16, max: 31 }), fc.integer({ min: 0, max: 63 })),
  nodePrefix: fc.integer({ min: 20, max: 24 }),
  podPrefix: fc.integer({ min: 12, max: 16 }),
  podSecondOctet: fc.integer({ min: 128, max: 255 }),
  perNodeBits: fc.integer({ min: 7, max: 10 }),
  servicePrefix: fc.integer({ min: 12, max: 20 }),
  serviceSecondOctet: fc.integer({ min: 0, max: 127 }),
  existingNetwork: fc.boolean(),
  sshCidrs: fc.array(fc.constantFrom('192.0.2.0/24', '198.51.100.0/25', '203.0.113.7/32'), { maxLength: 2 }),
});

type ValidInput = typeof validCluster extends fc.Arbitrary<infer T> ? T : never;

/** The network address of `second.x.y.z/prefix` inside 10.0.0.0/8 (`second` aligned down to the prefix). */
function block(first: number, second: number, third: number, prefix: number): string {
  const value = ((first << 24) | (second << 16) | (third << 8)) >>> 0;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const n = (value & mask) >>> 0;
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}/${prefix}`;
}

function validProps(p: ValidInput): ClusterProps {
  const noLb = p.masters === 1 && p.singleMasterWithoutLb;
  const nodeCidr = block(172, p.nodeOctets[0], p.nodeOctets[1] * 4, p.nodePrefix);
  const subnetCidr = nodeCidr;
  const vip = subnetCidr.replace(/\.\d+\/\d+$/, (m) => `.${Number(m.slice(1, m.indexOf('/'))) + 3}`);
  return {
    name: 'prop',
    image: 'ubuntu-24.04',
    externalNetwork: 'public',
    keyName: 'me',
    etcd: { size: p.etcd, dataVolume: p.etcdVolume ? { sizeGiB: 20, deletionPolicy: p.etcdVolume } : undefined },
    masters: { count: p.masters },
    loadBalancer: noLb ? false : { provider: p.provider, etcdListener: p.etcdListener, vipAddress: p.existingNetwork ? vip : undefined },
    flannel: { backend: p.backend, podCidr: block(10, p.podSecondOctet, 0, p.podPrefix), subnetLength: p.podPrefix + p.perNodeBits },
    serviceCidr: block(10, p.serviceSecondOctet, 0, p.servicePrefix),
    ...(p.existingNetwork ? { existingNetwork: { networkId: 'net', subnetId: 'subnet', subnetCidr } } : { nodeCidr }),
    sshAllowedCidrs: p.sshCidrs,
    workerGroups: p.groups.map((g) => ({
      name: g.name,
      size: Math.max(g.size, g.minSize),
      minSize: g.minSize,
      maxSize: Math.max(g.size, g.minSize) + g.extra + 1,
      availabilityZone: g.availabilityZone,
      bootVolume: g.bootVolume === undefined ? undefined : { sizeGiB: g.bootVolume },
      serverGroupPolicy: g.serverGroupPolicy,
      labels: g.label === undefined ? undefined : { 'hotk8s.io/pool': g.label },
      taints: g.taint ? [{ key: 'dedicated', value: g.name, effect: 'NoSchedule' as const }] : undefined,
    })),
  };
}

function newCluster(props: ClusterProps): App {
  const app = new App();
  const stack = new HeatStack(app, 'prop');
  new Cluster(stack, 'Cluster', props);
  return app;
}

type Res = { type: string; deletion_policy?: string; properties?: Record<string, unknown> };
type Doc = {
  resources?: Record<string, Res>;
  parameters?: Record<string, { type: string; constraints?: { range?: { min: number; max: number } }[] }>;
};

describe('random valid clusters', () => {
  it('synthesize through the ajv schema check and keep the invariants', async () => {
    await fc.assert(
      fc.asyncProperty(validCluster, async (p) => {
        const props = validProps(p);
        const result = await newCluster(props).synth({ write: false, stateDir });
        const docs = new Map<string, Doc>();
        for (const [file, text] of result.files)
          if (file.endsWith('.yaml') && !file.endsWith('.env.yaml')) docs.set(file, yaml.load(text) as Doc);
        const root = docs.get('prop.yaml')!;
        expect(root, 'root template').toBeDefined();

        let servers = 0;
        for (const [file, doc] of docs) {
          const res = Object.values(doc.resources ?? {});
          expect(JSON.stringify(doc), file).not.toContain('OS::Heat::None');
          const s = res.filter((r) => r.type === 'OS::Nova::Server');
          servers += s.length;
          for (const r of s) expect(r.properties!.user_data_format, file).toBe('RAW');
          // each node member template holds one server, its own handle and its own wait condition
          expect(res.filter((r) => r.type === 'OS::Heat::WaitCondition').length, file).toBe(s.length);
          for (const r of res.filter((x) => x.type === 'OS::Cinder::Volume'))
            expect(['Snapshot', 'Retain'], file).toContain(r.deletion_policy);
          for (const r of res.filter((x) => x.type === 'OS::Neutron::SecurityGroupRule')) {
            expect(
              r.properties!.remote_group ?? r.properties!.remote_ip_prefix,
              `${file}: a rule without a remote is open to the world`,
            ).toBeDefined();
            expect(r.properties!.remote_ip_prefix, file).not.toBe('0.0.0.0/0');
          }
        }
        // one node template per role/group, each with exactly one server; groups of one shape share theirs
        let shared = 0;
        for (const [file, users] of Object.entries(result.manifest.stacks[0]!.sharedFiles)) {
          const res = Object.values(docs.get(file)!.resources ?? {});
          if (res.some((r) => r.type === 'OS::Nova::Server')) shared += users.length - 1;
        }
        expect(servers).toBe(2 + p.groups.length - shared);

        // worker counts: number parameters with the range the program set
        for (const g of props.workerGroups!) {
          const param = root.parameters![`workers_${g.name.replace(/-/g, '_')}_count`]!;
          expect(param.type).toBe('number');
          expect(param.constraints!.find((c) => c.range)!.range).toEqual({ min: g.minSize, max: g.maxSize });
        }

        // host-gw: every Kubernetes node port carries the pod CIDR as an allowed address pair; etcd ports never do
        for (const [file, doc] of docs) {
          if (!file.endsWith('-ports-member.yaml')) continue;
          const port = Object.values(doc.resources!).find((r) => r.type === 'OS::Neutron::Port')!;
          const pairs = port.properties!.allowed_address_pairs;
          if (p.backend === 'host-gw' && !file.includes('-etcd-')) expect(pairs, file).toEqual([{ ip_address: props.flannel!.podCidr }]);
          else expect(pairs, file).toBeUndefined();
        }

        // a load balancer exactly when there is more than one master (or one was asked for)
        const lbs = Object.values(root.resources!).filter((r) => r.type === 'OS::Octavia::LoadBalancer');
        expect(lbs.length).toBe(props.loadBalancer === false ? 0 : 1);
        if (p.masters > 1) expect(lbs.length).toBe(1);
        // a created subnet keeps the VIP out of the allocation pool
        const subnet = Object.values(root.resources!).find((r) => r.type === 'OS::Neutron::Subnet');
        if (subnet && lbs.length === 1) {
          const vip = lbs[0]!.properties!.vip_address as string;
          const num = (a: string) => a.split('.').reduce((x, o) => x * 256 + Number(o), 0);
          const pool = (subnet.properties!.allocation_pools as { start: string; end: string }[])[0]!;
          expect(num(vip) < num(pool.start) || num(vip) > num(pool.end), `${vip} outside ${pool.start}-${pool.end}`).toBe(true);
        }
      }),
      { numRuns: NUM_RUNS },
    );
  }, 120_000);

  it('write the same files whether worker groups of one shape share member templates or build their own', async () => {
    const copy = fc.constantFrom(true, true, true, false);
    const copies = fc.tuple(copy, copy, copy);
    let sharedSomewhere = 0;
    try {
      await fc.assert(
        fc.asyncProperty(validCluster, fc.array(copies, { minLength: 4, maxLength: 4 }), async (p, alike) => {
          // groups take some or all of the first group's shape (boot volume, zone, server group policy): those taking
          // all of it share, those taking part of it must not
          const first = p.groups[0]!;
          const groups = p.groups.map((g, i) => {
            const [boot, zone, policy] = i > 0 ? alike[i]! : [false, false, false];
            return {
              ...g,
              ...(boot ? { bootVolume: first.bootVolume } : {}),
              ...(zone ? { availabilityZone: first.availabilityZone } : {}),
              ...(policy ? { serverGroupPolicy: first.serverGroupPolicy } : {}),
            };
          });
          const props = validProps({ ...p, groups });
          memberTemplateSharing.enabled = false;
          const own = await newCluster(props).synth({ write: false, stateDir });
          memberTemplateSharing.enabled = true;
          const app = newCluster(props);
          const shared = await app.synth({ write: false, stateDir });
          expect([...shared.files.keys()].sort()).toEqual([...own.files.keys()].sort());
          for (const [file, text] of own.files) expect(shared.files.get(file), file).toBe(text);
          const cluster = app.node.findAll().find((c): c is Cluster => c instanceof Cluster)!;
          if (cluster.workerGroups.some((g) => g.nodes.nodes.sharesTemplateOf !== undefined)) sharedSomewhere++;
        }),
        { numRuns: NUM_RUNS },
      );
    } finally {
      memberTemplateSharing.enabled = true;
    }
    // groups of the first group's shape share in most runs (12-17 of 25 in four runs): sharing was exercised
    expect(sharedSomewhere).toBeGreaterThanOrEqual(2);
  }, 120_000);
});

// ------------------------------------------------------------------------------------------------ invalid clusters

/** Each mutation makes any valid cluster invalid. */
const mutation = fc.oneof(
  fc
    .constantFrom(2, 4, 6, 8)
    .map((size) => ({ what: `even etcd size ${size}`, apply: (p: ClusterProps): ClusterProps => ({ ...p, etcd: { ...p.etcd, size } }) })),
  fc.integer({ min: 2, max: 5 }).map((count) => ({
    what: `${count} masters without a load balancer`,
    apply: (p: ClusterProps): ClusterProps => ({ ...p, masters: { count }, loadBalancer: false }),
  })),
  fc.constantFrom('latest', '1', 'V1.32', '1.32.x', '2.0', '1.32.5.1', '', '1.32-rc1').map((v) => ({
    what: `kubernetesVersion ${JSON.stringify(v)}`,
    apply: (p: ClusterProps): ClusterProps => ({ ...p, kubernetesVersion: v }),
  })),
  fc
    .constantFrom('Prop', 'my_cluster', '-x', 'x-', 'a'.repeat(41), 'dots.not.ok')
    .map((name) => ({ what: `cluster name ${JSON.stringify(name)}`, apply: (p: ClusterProps): ClusterProps => ({ ...p, name }) })),
  fc.constantFrom('GPU', 'a_b', '', 'x'.repeat(21), '1-', 'a.b').map((name) => ({
    what: `worker group name ${JSON.stringify(name)}`,
    apply: (p: ClusterProps): ClusterProps => ({ ...p, workerGroups: [...(p.workerGroups ?? []), { name }] }),
  })),
  fc.constant({
    what: 'duplicate worker group names',
    apply: (p: ClusterProps): ClusterProps => ({ ...p, workerGroups: [...p.workerGroups!, { name: p.workerGroups![0]!.name }] }),
  }),
  fc.constant({
    what: 'pod CIDR equal to the service CIDR',
    apply: (p: ClusterProps): ClusterProps => ({ ...p, serviceCidr: p.flannel!.podCidr }),
  }),
  fc.constant({
    what: 'node subnet inside the pod CIDR',
    apply: (p: ClusterProps): ClusterProps => ({
      ...p,
      existingNetwork: undefined,
      loadBalancer: p.loadBalancer === false ? false : { ...p.loadBalancer, vipAddress: undefined },
      nodeCidr: p.flannel!.podCidr!.replace(/\/\d+$/, '/24'),
    }),
  }),
  fc.constant({
    what: 'DNS service IP outside the service CIDR',
    apply: (p: ClusterProps): ClusterProps => ({ ...p, dnsServiceIp: '192.0.2.10' }),
  }),
  fc.constant({
    what: 'pod CIDR too small for the maxima',
    apply: (p: ClusterProps): ClusterProps => ({
      ...p,
      flannel: { ...p.flannel, subnetLength: Number(p.flannel!.podCidr!.split('/')[1]) + 1 },
    }),
  }),
  fc.constantFrom('10.0.0.1/8', '300.0.0.0/8', '10.0.0.0', '10.0.0.0/40').map((cidr) => ({
    what: `malformed pod CIDR ${cidr}`,
    apply: (p: ClusterProps): ClusterProps => ({ ...p, flannel: { ...p.flannel, podCidr: cidr } }),
  })),
  fc.constant({
    what: 'size above maxSize',
    apply: (p: ClusterProps): ClusterProps => ({
      ...p,
      workerGroups: p.workerGroups!.map((g, i) => (i === 0 ? { ...g, size: g.maxSize! + 1 } : g)),
    }),
  }),
  fc.constant({
    what: 'a label the kubelet may not set',
    apply: (p: ClusterProps): ClusterProps => ({
      ...p,
      workerGroups: p.workerGroups!.map((g, i) => (i === 0 ? { ...g, labels: { 'kubernetes.io/role': 'x' } } : g)),
    }),
  }),
  fc.constant({
    what: 'maxResourcesPerStack below the count',
    apply: (p: ClusterProps): ClusterProps => ({ ...p, maxResourcesPerStack: 20 }),
  }),
);

function expectOurError(e: unknown, what: string): void {
  if (!(e instanceof HotError)) throw new Error(`${what}: expected HotError, got ${(e as Error)?.name}: ${(e as Error)?.message}`);
  const errors = e instanceof HotValidationError ? e.errors : [e];
  expect(errors.length, what).toBeGreaterThan(0);
  for (const x of errors) {
    // "<construct path>: <rule>; got <value>" - the path is the Cluster's or one below it
    expect(x.constructPath === 'prop/Cluster' || x.constructPath.startsWith('prop/Cluster/'), `${what}: ${x.message}`).toBe(true);
    expect(x.message, what).toBe(`${x.constructPath}: ${x.detail}`);
    expect(x.detail.length, what).toBeGreaterThan(10);
  }
}

describe('random invalid clusters', () => {
  it('fail with HotError naming a construct path, never another error', async () => {
    await fc.assert(
      fc.asyncProperty(validCluster, mutation, async (p, m) => {
        const props = m.apply(validProps(p));
        let thrown: unknown;
        try {
          await newCluster(props).synth({ write: false, stateDir });
        } catch (e) {
          thrown = e;
        }
        expect(thrown, `${m.what} was accepted`).toBeDefined();
        expectOurError(thrown, m.what);
      }),
      { numRuns: 60 },
    );
  }, 120_000);

  it('junk in any supported prop gives HotError, never a crash', async () => {
    const junk = fc.oneof(
      fc.constant(undefined),
      fc.constant(null),
      fc.integer({ min: -3, max: 70000 }),
      fc.double({ noNaN: false }),
      fc.string({ maxLength: 6 }),
      fc.constant([]),
      fc.constant({}),
      fc.constant('10.0.0.1/8'),
    );
    const props = fc.record(
      {
        name: junk,
        kubernetesVersion: junk,
        nodeCidr: junk,
        serviceCidr: junk,
        dnsServiceIp: junk,
        maxResourcesPerStack: junk,
        etcd: fc.record(
          {
            size: junk,
            serverGroupPolicy: junk,
            dataVolume: fc.option(fc.record({ sizeGiB: junk, deletionPolicy: junk }), { nil: undefined }),
          },
          { requiredKeys: [] },
        ),
        masters: fc.record(
          { count: junk, serverGroupPolicy: junk, bootVolume: fc.option(fc.record({ sizeGiB: junk }), { nil: undefined }) },
          { requiredKeys: [] },
        ),
        flannel: fc.record({ podCidr: junk, subnetLength: junk, backend: junk }, { requiredKeys: [] }),
        loadBalancer: fc.oneof(
          fc.constant(false),
          junk,
          fc.record(
            {
              provider: junk,
              flavor: junk,
              vipAddress: junk,
              floatingIp: fc.oneof(junk, fc.boolean(), fc.record({ address: junk }, { requiredKeys: [] })),
            },
            { requiredKeys: [] },
          ),
        ),
        dnsNameservers: fc.array(junk, { maxLength: 2 }),
        imageRegistry: junk,
        apiAllowedCidrs: fc.array(junk, { maxLength: 2 }),
        sshAllowedCidrs: fc.array(junk, { maxLength: 2 }),
        workerGroups: fc.oneof(
          junk,
          fc.array(
            fc.record(
              {
                name: junk,
                size: junk,
                minSize: junk,
                maxSize: junk,
                labels: fc.oneof(junk, fc.dictionary(fc.string({ maxLength: 5 }), junk, { maxKeys: 2 })),
                taints: fc.oneof(junk, fc.array(fc.record({ key: junk, effect: junk }), { maxLength: 1 })),
              },
              { requiredKeys: [] },
            ),
            { maxLength: 2 },
          ),
        ),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(props, async (junkProps) => {
        try {
          const app = new App();
          new Cluster(new HeatStack(app, 'prop'), 'Cluster', {
            image: 'i',
            externalNetwork: 'p',
            keyName: 'k',
            ...(junkProps as ClusterProps),
          });
          await app.synth({ write: false, stateDir, checkers: [] });
        } catch (e) {
          expectOurError(e, JSON.stringify(junkProps));
        }
      }),
      { numRuns: 150 },
    );
  }, 120_000);
});
