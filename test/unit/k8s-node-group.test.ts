import { describe, expect, it } from 'vitest';
import { HotTemplate, Match } from '../../src/assertions/index.js';
import { App, HeatStack, LoadBalancer, NodeGroup, type NodeGroupProps } from '../../src/index.js';
import { userData } from '../../src/bootstrap/render.js';
import { templates, failsWith } from './k8s-helpers.js';

type Doc = Record<string, unknown>;
type Res = { type: string; deletion_policy?: string; properties: Record<string, unknown> };

const TEXT = '#cloud-config\nruncmd:\n  - [sh, -c, "echo __NODE_NAME__ __NODE_ADDRESS__; __SIGNAL_CURL__"]\n';

/** A NodeGroup alone in a root stack `s` (path `s/Nodes`) whose user-data uses name, address and signal. */
function group(props: Partial<NodeGroupProps> = {}) {
  const stack = new HeatStack(new App(), 's');
  const g = new NodeGroup(stack, 'Nodes', {
    role: 'worker',
    namePrefix: 'demo-w',
    count: 2,
    maxCount: 4,
    networkId: 'net',
    subnetId: 'sub',
    securityGroupIds: ['sg-a', 'sg-b'],
    flavor: 'm1.small',
    image: 'ubuntu',
    waitTimeoutSec: 900,
    userData: (m) => ({
      rendered: userData('worker', TEXT),
      values: { __NODE_NAME__: m.nodeName, __NODE_ADDRESS__: m.address, __SIGNAL_CURL__: m.signalCurl },
    }),
    ...props,
  });
  const member = (part: string) => stack.nestedStacks().find((s) => s.fileName.includes(part))!;
  return { stack, group: g, nodes: () => member('nodes-nodes'), ports: () => member('nodes-ports') };
}

const resources = (doc: Doc) => doc.resources as Record<string, Res>;
const groupOf = (doc: Doc, prefix: string) => Object.entries(resources(doc)).find(([id]) => id.startsWith(prefix))!;
const def = (r: Res) => r.properties.resource_def as { type: string; properties: Record<string, unknown> };

describe('NodeGroup', () => {
  it('a ports group, a nodes group and a server group in the root; member templates of their own', () => {
    const { stack } = group();
    const t = HotTemplate.fromStack(stack);
    t.resourceCountIs('OS::Heat::ResourceGroup', 2);
    t.resourceCountIs('OS::Nova::ServerGroup', 1);
    t.hasResourceProperties('OS::Nova::ServerGroup', { name: 'demo-w-group', policies: ['soft-anti-affinity'] });
    const doc = stack.toTemplate();
    const [portsId, ports] = groupOf(doc, 'NodesPortsGroup');
    const [, nodes] = groupOf(doc, 'NodesNodesGroup');
    expect(ports.properties.count).toBe(2);
    expect(nodes.properties.count).toBe(2);
    expect(def(ports).type).toBe('s.nodes-ports-member.yaml');
    expect(def(nodes).type).toBe('s.nodes-nodes-member.yaml');
    expect(def(ports).properties).toEqual({
      index: '%index%',
      name_prefix: 'demo-w',
      network: 'net',
      subnet: 'sub',
      security_groups: ['sg-a', 'sg-b'],
    });
    expect(def(nodes).properties).toMatchObject({
      address_map: { get_attr: [portsId, 'attributes', 'address'] },
      port_id_map: { get_attr: [portsId, 'attributes', 'port_id'] },
      flavor: 'm1.small',
      image: 'ubuntu',
    });
  });

  it('the port member: one port on the subnet with the security groups, address and id as outputs', () => {
    const { ports } = group();
    const t = HotTemplate.fromStack(ports());
    t.resourceCountIs('OS::Neutron::Port', 1);
    t.hasResourceProperties('OS::Neutron::Port', {
      network: { get_param: 'network' },
      fixed_ips: [{ subnet: { get_param: 'subnet' } }],
      security_groups: { get_param: 'security_groups' },
      allowed_address_pairs: Match.absent(),
    });
    t.hasParameter('security_groups', { type: 'comma_delimited_list' });
    t.hasOutput('address', { value: { get_attr: ['Port', 'fixed_ips', 0, 'ip_address'] } });
    t.hasOutput('port_id', { value: { get_resource: 'Port' } });
  });

  it('the node member: server on its port, RAW user-data by str_replace, own handle and wait condition', () => {
    const { nodes } = group();
    const t = HotTemplate.fromStack(nodes());
    expect(Object.keys(t.document.resources as object).sort()).toEqual(['Server', 'WaitCondition', 'WaitHandle']);
    t.hasResourceProperties('OS::Nova::Server', {
      user_data_format: 'RAW',
      networks: [{ port: { get_param: ['port_id_map', { get_param: 'index' }] } }],
      user_data: {
        str_replace: {
          template: TEXT,
          params: Match.exact({
            __NODE_ADDRESS__: { get_param: ['address_map', { get_param: 'index' }] },
            __NODE_NAME__: {
              list_join: [
                '-',
                [{ get_param: 'name_prefix' }, { str_replace: { template: '%i', params: { '%i': { get_param: 'index' } } } }],
              ],
            },
            __SIGNAL_CURL__: { get_attr: ['WaitHandle', 'curl_cli'] },
          }),
        },
      },
      metadata: { 'hotk8s-role': 'worker' },
      key_name: Match.absent(),
      availability_zone: Match.absent(),
    });
    t.hasResourceProperties('OS::Heat::WaitConditionHandle', { signal_transport: 'TOKEN_SIGNAL' });
    t.hasResourceProperties('OS::Heat::WaitCondition', Match.exact({ handle: { get_resource: 'WaitHandle' }, timeout: 900, count: 1 }));
    t.hasParameter('flavor', { constraints: [{ custom_constraint: 'nova.flavor' }] });
    t.hasParameter('image', { constraints: [{ custom_constraint: 'glance.image' }] });
    t.hasOutput('name');
    t.hasOutput('server_id');
  });

  it('no OS::Heat::None and no cross-template reference anywhere', () => {
    const { stack } = group({ dataVolume: { sizeGiB: 5 }, keyName: 'k', availabilityZone: 'az' });
    for (const [file, doc] of templates(stack)) expect(JSON.stringify(doc), file).not.toContain('OS::Heat::None');
  });

  it('keyName, availabilityZone, allowedAddressPairs and userDataUpdatePolicy', () => {
    const { nodes, ports } = group({
      keyName: 'me',
      availabilityZone: 'az1',
      allowedAddressPairs: [{ ipAddress: '10.244.0.0/16' }],
      userDataUpdatePolicy: 'IGNORE',
    });
    HotTemplate.fromStack(nodes()).hasResourceProperties('OS::Nova::Server', {
      key_name: { get_param: 'key_name' },
      availability_zone: { get_param: 'availability_zone' },
      user_data_update_policy: 'IGNORE',
    });
    HotTemplate.fromStack(nodes()).hasParameter('key_name', { constraints: [{ custom_constraint: 'nova.keypair' }] });
    HotTemplate.fromStack(ports()).hasResourceProperties('OS::Neutron::Port', { allowed_address_pairs: [{ ip_address: '10.244.0.0/16' }] });
  });

  it("dataVolume: volume in the member's zone, Snapshot by default, attached to its server", () => {
    const { nodes } = group({ availabilityZone: 'az1', dataVolume: { sizeGiB: 5 } });
    const t = HotTemplate.fromStack(nodes());
    t.hasResource('OS::Cinder::Volume', {
      deletion_policy: 'Snapshot',
      properties: Match.objectLike({ size: 5, availability_zone: 'az1' }),
    });
    t.resourceCountIs('OS::Cinder::VolumeAttachment', 1);
  });

  it("removalList goes to the ports group; the nodes and pool-member groups skip the ports group's removed names", () => {
    const { stack, group: g } = group({ removalList: ['1'] });
    const lb = new LoadBalancer(stack, 'Lb', { vipSubnet: 'sub' });
    g.addPoolMembership('WebMembers', lb.addListener('Web', { port: 80 }).addPool(), 8080);
    const doc = stack.toTemplate();
    const [portsId, ports] = groupOf(doc, 'NodesPortsGroup');
    expect(ports.properties.removal_policies).toEqual([{ resource_list: ['1'] }]);
    for (const p of ['NodesNodesGroup', 'NodesWebMembersGroup'])
      expect(groupOf(doc, p)[1].properties.removal_policies, p).toEqual([{ resource_list: { get_attr: [portsId, 'removed_rsrc_list'] } }]);
  });

  it('without a removalList no group has removal_policies', () => {
    const doc = group().stack.toTemplate();
    for (const p of ['NodesPortsGroup', 'NodesNodesGroup']) expect(groupOf(doc, p)[1].properties.removal_policies, p).toBeUndefined();
  });

  it('addPoolMembership: a members group of the same count fed from the ports, never from the servers', () => {
    const { stack, group: g } = group();
    const lb = new LoadBalancer(stack, 'Lb', { vipSubnet: 'sub' });
    const pool = lb.addListener('Web', { port: 80 }).addPool();
    g.addPoolMembership('WebMembers', pool, 8080);
    const doc = stack.toTemplate();
    const [portsId] = groupOf(doc, 'NodesPortsGroup');
    const [, members] = groupOf(doc, 'NodesWebMembersGroup');
    expect(members.properties.count).toBe(2);
    expect(def(members).properties).toMatchObject({
      address_map: { get_attr: [portsId, 'attributes', 'address'] },
      subnet: 'sub',
      pool: { get_resource: expect.stringMatching(/^LbWebPool[0-9A-F]{8}$/) },
    });
    expect(JSON.stringify(members)).not.toContain('NodesNodesGroup');
    HotTemplate.fromStack(stack.nestedStacks().find((s) => s.fileName.includes('web-members'))!).hasResourceProperties(
      'OS::Octavia::PoolMember',
      { protocol_port: 8080 },
    );
  });
});

describe('NodeGroup validation', () => {
  it('fails when waitTimeoutSec is below 60', () =>
    failsWith(() => group({ waitTimeoutSec: 59 }), 's/Nodes', /^waitTimeoutSec must be a whole number 60..43200; got 59$/));
  it('fails when waitTimeoutSec is above 12 hours', () => failsWith(() => group({ waitTimeoutSec: 43201 }), 's/Nodes', /got 43201$/));
  it('fails when maxCount is negative', () =>
    failsWith(() => group({ maxCount: -1 }), 's/Nodes', /^maxCount must be a whole number >= 0; got -1$/));
  it('fails when a placeholder has no value', () =>
    failsWith(
      () =>
        group({
          userData: (m) => ({ rendered: userData('worker', TEXT), values: { __NODE_NAME__: m.nodeName, __SIGNAL_CURL__: m.signalCurl } }),
        }),
      's/Nodes',
      /^the worker user-data needs a deploy-time value for every placeholder; missing __NODE_ADDRESS__$/,
    ));
  it('fails when a value has no placeholder', () =>
    failsWith(
      () =>
        group({
          userData: (m) => ({
            rendered: userData('worker', TEXT),
            values: { __NODE_NAME__: m.nodeName, __NODE_ADDRESS__: m.address, __SIGNAL_CURL__: m.signalCurl, __EXTRA__: 'x' },
          }),
        }),
      's/Nodes',
      /^values given for placeholders the worker user-data does not contain: \["__EXTRA__"\]$/,
    ));
  it('fails when the data volume size is 16385', () =>
    failsWith(
      () => group({ dataVolume: { sizeGiB: 16385 } }),
      's/Nodes',
      /^dataVolume.sizeGiB must be a whole number 1..16384; got 16385$/,
    ));
  it('fails when a pool member port is out of range', () => {
    const { stack, group: g } = group();
    const pool = new LoadBalancer(stack, 'Lb', { vipSubnet: 'sub' }).addListener('Web', { port: 80 }).addPool();
    failsWith(() => g.addPoolMembership('M', pool, 0), 's/Nodes', /^M protocolPort must be a whole number 1..65535; got 0$/);
  });
});
