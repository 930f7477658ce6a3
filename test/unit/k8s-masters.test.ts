import { describe, expect, it } from 'vitest';
import { HotTemplate, Match } from '../../src/assertions/index.js';
import {
  App,
  ClusterNetwork,
  ClusterSecurityGroups,
  HeatStack,
  MasterGroup,
  SERVER_BOOT_ALLOWANCE_SEC,
  type MasterGroupProps,
} from '../../src/index.js';
import { ClusterSecrets } from '../../src/k8s/private/secrets.js';
import { cluster, failsWith } from './k8s-helpers.js';

type Doc = Record<string, unknown>;
type Res = { type: string; depends_on?: unknown; properties: Record<string, unknown> };

const resources = (doc: Doc) => doc.resources as Record<string, Res>;
const groupOf = (doc: Doc, prefix: string) => Object.entries(resources(doc)).find(([id]) => id.startsWith(prefix))!;
const member = (stack: HeatStack, part: string) => stack.nestedStacks().find((s) => s.fileName.includes(part))!;
const def = (r: Res) => (r.properties.resource_def as { properties: Record<string, unknown> }).properties;

/** A MasterGroup alone (path `s/Control`); the bootstrap context is not reached by the checks that run first. */
function standalone(props: Partial<MasterGroupProps>) {
  const stack = new HeatStack(new App(), 's');
  const network = new ClusterNetwork(stack, 'Net', { namePrefix: 'demo', externalNetwork: 'public' });
  const securityGroups = new ClusterSecurityGroups(stack, 'Sg', { namePrefix: 'demo' });
  const secrets = new ClusterSecrets(stack, 'Secrets', 'demo');
  return new MasterGroup(stack, 'Control', {
    clusterName: 'demo',
    network,
    securityGroups,
    secrets,
    flavor: 'f',
    image: 'i',
    apiEndpoint: { address: '10.0.0.2' },
    etcdEndpoints: 'https://10.0.0.20:2379',
    bootstrapToken: 'abcdef.0123456789abcdef',
    bootstrap: {} as never,
    ...props,
  });
}

describe('MasterGroup in the default Cluster', () => {
  const { stack, cluster: c } = cluster();
  const doc = stack.toTemplate();

  it('has 3 masters: ports, nodes and API pool members groups of the same count', () => {
    expect(c.masters.count).toBe(3);
    for (const g of ['ClusterControlMastersPortsGroup', 'ClusterControlMastersNodesGroup', 'ClusterControlMastersApiPoolMembersGroup'])
      expect(groupOf(doc, g)[1].properties.count, g).toBe(3);
  });

  it('every master boots with RAW user-data, IGNORE on user-data change, its own wait condition', () => {
    const t = HotTemplate.fromStack(member(stack, 'masters-nodes'));
    t.hasResourceProperties('OS::Nova::Server', {
      user_data_format: 'RAW',
      user_data_update_policy: 'IGNORE',
      metadata: { 'hotk8s-role': 'master' },
      flavor: { get_param: 'flavor' },
      image: { get_param: 'image' },
      block_device_mapping_v2: Match.absent(),
      key_name: { get_param: 'key_name' },
      scheduler_hints: { group: { get_param: 'server_group' } },
      networks: [{ port: { get_param: ['port_id_map', { get_param: 'index' }] } }],
    });
    t.hasResourceProperties('OS::Heat::WaitCondition', {
      handle: { get_resource: 'WaitHandle' },
      count: 1,
      timeout: c.masters.nodes.waitTimeoutSec,
    });
    expect(c.masters.nodes.waitTimeoutSec).toBeGreaterThan(SERVER_BOOT_ALLOWANCE_SEC);
    t.hasResourceProperties('OS::Heat::WaitConditionHandle', { signal_transport: 'TOKEN_SIGNAL' });
  });

  it('feeds the master_flavor parameter, the image and a soft anti-affinity server group', () => {
    const nodes = def(groupOf(doc, 'ClusterControlMastersNodesGroup')[1]);
    expect(nodes.flavor).toEqual({ get_param: 'master_flavor' });
    expect(nodes.image).toEqual({
      if: [expect.stringMatching(/^ClusterMasterImageGiven/), { get_param: 'master_image' }, { get_param: 'image' }],
    });
    expect(nodes.name_prefix).toBe('k8s-master');
    HotTemplate.fromStack(stack).hasResourceProperties('OS::Nova::ServerGroup', {
      name: 'k8s-master-group',
      policies: ['soft-anti-affinity'],
    });
    HotTemplate.fromStack(stack).hasParameter('master_flavor', { type: 'string', constraints: [{ custom_constraint: 'nova.flavor' }] });
  });

  it('puts the reserved VIP in the user-data and the floating IP in the API certificate names', () => {
    const nodes = def(groupOf(doc, 'ClusterControlMastersNodesGroup')[1]);
    expect(nodes.api_address).toBe('10.0.0.2');
    const [fipId] = groupOf(doc, 'ClusterApiLoadBalancerFloatingIp');
    expect(nodes.api_cert_san_0).toEqual({ get_attr: [fipId, 'floating_ip_address'] });
    HotTemplate.fromStack(member(stack, 'masters-nodes')).hasResourceProperties('OS::Nova::Server', {
      user_data: {
        str_replace: {
          params: Match.objectLike({
            __API_ADDRESS__: { get_param: 'api_address' },
            __API_CERT_SAN_0__: { get_param: 'api_cert_san_0' },
            __NODE_INDEX__: { get_param: 'index' },
          }),
        },
      },
    });
  });

  it("pool members: one per master on 6443 in the members' subnet, created from the ports (not the servers)", () => {
    const [portsId] = groupOf(doc, 'ClusterControlMastersPortsGroup');
    const [poolId] = groupOf(doc, 'ClusterApiLoadBalancerApiPool2');
    const members = def(groupOf(doc, 'ClusterControlMastersApiPoolMembersGroup')[1]);
    expect(members.address_map).toEqual({ get_attr: [portsId, 'attributes', 'address'] });
    expect(members.pool).toEqual({ get_resource: poolId });
    expect(JSON.stringify(members)).not.toContain('NodesGroup');
    HotTemplate.fromStack(member(stack, 'api-pool-members')).hasResourceProperties('OS::Octavia::PoolMember', {
      protocol_port: 6443,
      pool: { get_param: 'pool' },
      subnet: { get_param: 'subnet' },
      address: { get_param: ['address_map', { get_param: 'index' }] },
    });
  });

  it('no master depends on the load balancer or on a wait condition', () => {
    const [, nodes] = groupOf(doc, 'ClusterControlMastersNodesGroup');
    const refs = [...JSON.stringify(nodes).matchAll(/"get_(?:resource|attr)":\[?"([^"]+)"/g)].map((m) => m[1]!);
    for (const id of refs) expect(resources(doc)[id]!.type, id).not.toMatch(/^OS::Octavia::|^OS::Heat::WaitCondition$/);
    expect(nodes.depends_on).toBeUndefined();
  });
});

describe('MasterGroup props', () => {
  for (const count of [1, 2, 5]) {
    it(`count ${count} with a load balancer`, () => {
      const { stack, cluster: c } = cluster({ masters: { count } });
      expect(c.masters.count).toBe(count);
      expect(groupOf(stack.toTemplate(), 'ClusterControlMastersNodesGroup')[1].properties.count).toBe(count);
      expect(groupOf(stack.toTemplate(), 'ClusterControlMastersApiPoolMembersGroup')[1].properties.count).toBe(count);
    });
  }

  it('bootVolume: boots from a Cinder volume of the image, deleted with the server; no image property', () => {
    const { stack } = cluster({ masters: { bootVolume: { sizeGiB: 40 } } });
    HotTemplate.fromStack(member(stack, 'masters-nodes')).hasResourceProperties('OS::Nova::Server', {
      image: Match.absent(),
      block_device_mapping_v2: [
        Match.exact({ boot_index: 0, image: { get_param: 'image' }, volume_size: 40, delete_on_termination: true }),
      ],
    });
  });

  it('serverGroupPolicy: affinity and false', () => {
    const a = cluster({ masters: { serverGroupPolicy: 'soft-affinity' } });
    HotTemplate.fromStack(a.stack).hasResourceProperties('OS::Nova::ServerGroup', {
      name: 'k8s-master-group',
      policies: ['soft-affinity'],
    });
    const b = cluster({ masters: { serverGroupPolicy: false } });
    expect(
      Object.values(HotTemplate.fromStack(b.stack).findResources('OS::Nova::ServerGroup')).map(
        (r) => (r.properties as { name: string }).name,
      ),
    ).not.toContain('k8s-master-group');
    HotTemplate.fromStack(member(b.stack, 'masters-nodes')).hasResourceProperties('OS::Nova::Server', { scheduler_hints: Match.absent() });
  });

  it('keyName false: no key pair parameter, no key_name on servers', () => {
    const { stack } = cluster({ keyName: false });
    expect(() => HotTemplate.fromStack(stack).hasParameter('key_name')).toThrow(/no parameter named key_name/);
    for (const s of stack.nestedStacks()) expect(JSON.stringify(s.toTemplate()), s.fileName).not.toContain('key_name');
  });

  it("single master: the first master's port gets a floating IP, waiting for the router interface; nodes use the master's own address", () => {
    const { stack, cluster: c } = cluster({ loadBalancer: false });
    expect(c.masters.count).toBe(1);
    const doc = stack.toTemplate();
    const [portsId] = groupOf(doc, 'ClusterControlMastersPortsGroup');
    const [ifaceId] = groupOf(doc, 'ClusterNetworkRouterInterface');
    HotTemplate.fromStack(stack).hasResource('OS::Neutron::FloatingIP', {
      depends_on: Match.arrayWith([ifaceId]),
      properties: { floating_network: { get_param: 'external_network' }, port_id: { get_attr: [portsId, 'resource.0', 'port_id'] } },
    });
    const workers = def(groupOf(doc, 'ClusterWorkersdefaultWorkersNodesGroup')[1]);
    expect(workers.api_address).toEqual({ get_attr: [portsId, 'resource.0', 'address'] });
    expect(groupOf(doc, 'ClusterControlMastersApiPoolMembersGroup')).toBeUndefined();
  });

  it('single master with masters.floatingIp false: no floating IP at all', () => {
    const { stack } = cluster({ loadBalancer: false, masters: { count: 1, floatingIp: false } });
    HotTemplate.fromStack(stack).resourceCountIs('OS::Neutron::FloatingIP', 0);
  });
});

describe('MasterGroup validation', () => {
  for (const count of [0, 16, 1.5, -1]) {
    it(`fails when count is ${count}`, () =>
      failsWith(
        () => cluster({ masters: { count } }),
        'test/Cluster/Control',
        new RegExp(`^count must be a whole number 1..15; got ${String(count).replace('.', '\\.')}$`),
      ));
  }
  it('fails when several masters have the first-master endpoint', () =>
    failsWith(
      () => standalone({ count: 2, apiEndpoint: 'first-master' }),
      's/Control',
      /^2 masters need a load balancer in front of the API; 'first-master' works with one master only$/,
    ));
  it('fails in a Cluster when several masters have no load balancer', () =>
    failsWith(
      () => cluster({ loadBalancer: false, masters: { count: 2 } }),
      'test/Cluster',
      /^several masters \(2\) need the API load balancer; set masters.count to 1 or remove loadBalancer: false$/,
    ));
  it('fails when masters.floatingIp comes with a load balancer', () =>
    failsWith(() => cluster({ masters: { floatingIp: false } }), 'test/Cluster', /^masters.floatingIp applies to the single-master mode/));
  it('fails when the boot volume size is 0', () =>
    failsWith(
      () => cluster({ masters: { bootVolume: { sizeGiB: 0 } } }),
      'test/Cluster/Control/Masters',
      /^bootVolume.sizeGiB must be a whole number 1..16384; got 0$/,
    ));
  it('fails when the boot volume size is above 16384', () =>
    failsWith(() => cluster({ masters: { bootVolume: { sizeGiB: 20000 } } }), 'test/Cluster/Control/Masters', /got 20000$/));
  it('fails when the server group policy is unknown', () =>
    failsWith(
      () => cluster({ masters: { serverGroupPolicy: 'none' as never } }),
      'test/Cluster',
      /^masters.serverGroupPolicy must be one of .*; got "none"$/,
    ));
});
