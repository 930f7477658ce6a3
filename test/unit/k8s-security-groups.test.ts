import { describe, expect, it } from 'vitest';
import { HotTemplate, Match } from '../../src/assertions/index.js';
import { App, ClusterSecurityGroups, HeatStack, type ClusterSecurityGroupsProps } from '../../src/index.js';
import { cluster, failsWith } from './k8s-helpers.js';

type Res = { type: string; properties?: Record<string, unknown> };

/** One ingress rule, wherever it is written (a SecurityGroupRule resource or a SecurityGroup's `rules`). */
interface Ingress {
  /** Logical id of the security group the rule belongs to. */
  readonly group: string;
  readonly protocol?: string;
  readonly min?: number;
  readonly max?: number;
  /** Logical id of the remote group. */
  readonly remoteGroup?: string;
  /** A literal CIDR, or `param:<name>` when the rule is repeated over a list parameter. */
  readonly remote?: string;
}

function ingressRules(doc: Record<string, unknown>): Ingress[] {
  const resources = doc.resources as Record<string, Res>;
  const out: Ingress[] = [];
  const groupRef = (v: unknown) => (v as { get_resource?: string } | undefined)?.get_resource;
  for (const [id, r] of Object.entries(resources)) {
    const p = r.properties ?? {};
    if (r.type === 'OS::Neutron::SecurityGroupRule') {
      expect(p.direction, id).toBe('ingress');
      out.push({
        group: groupRef(p.security_group)!,
        protocol: p.protocol as string | undefined,
        min: p.port_range_min as number | undefined,
        max: p.port_range_max as number | undefined,
        remoteGroup: groupRef(p.remote_group),
        remote: p.remote_ip_prefix as string | undefined,
      });
    } else if (r.type === 'OS::Neutron::SecurityGroup' && p.rules !== undefined) {
      const rep = (p.rules as { repeat?: { for_each: Record<string, { get_param: string }>; template: Record<string, unknown> } }).repeat;
      expect(rep, `${id}: rules are a repeat over a list parameter`).toBeDefined();
      const [[token, list]] = Object.entries(rep!.for_each) as [[string, { get_param: string }]];
      expect(rep!.template.remote_ip_prefix).toBe(token);
      out.push({
        group: id,
        protocol: rep!.template.protocol as string | undefined,
        min: rep!.template.port_range_min as number | undefined,
        max: rep!.template.port_range_max as number | undefined,
        remote: `param:${list.get_param}`,
      });
    }
  }
  return out;
}

/** Logical id of the security group named `name`. */
function groupId(doc: Record<string, unknown>, name: string): string {
  const hit = Object.entries(doc.resources as Record<string, Res>).find(
    ([, r]) => r.type === 'OS::Neutron::SecurityGroup' && r.properties?.name === name,
  );
  expect(hit, `security group ${name}`).toBeDefined();
  return hit![0];
}

const covers = (r: Ingress, port: number) => r.protocol === undefined || (r.min !== undefined && r.min <= port && port <= (r.max ?? r.min));

function sgs(props: Partial<ClusterSecurityGroupsProps> = {}) {
  const stack = new HeatStack(new App(), 's');
  const g = new ClusterSecurityGroups(stack, 'Sg', { namePrefix: 'demo', ...props });
  return { stack, sgs: g };
}

describe('ClusterSecurityGroups', () => {
  it('creates one group per role, named by the prefix, and no SSH group without sshCidrs', () => {
    const { stack, sgs: g } = sgs();
    const t = HotTemplate.fromStack(stack);
    t.resourceCountIs('OS::Neutron::SecurityGroup', 3);
    for (const role of ['etcd', 'master', 'worker'])
      t.hasResourceProperties('OS::Neutron::SecurityGroup', { name: `demo-${role}`, rules: Match.absent() });
    expect(g.ssh).toBeUndefined();
    expect(g.groupIdsFor('worker')).toHaveLength(1);
  });

  it('has exactly the least-privilege rules between roles', () => {
    const { stack } = sgs();
    const doc = stack.toTemplate();
    const [etcd, master, worker] = ['etcd', 'master', 'worker'].map((n) => groupId(doc, `demo-${n}`));
    const rules = ingressRules(doc)
      .map(
        (r) =>
          `${r.group === etcd ? 'etcd' : r.group === master ? 'master' : 'worker'} <- ${r.remoteGroup === etcd ? 'etcd' : r.remoteGroup === master ? 'master' : r.remoteGroup === worker ? 'worker' : r.remote} ${r.protocol}${r.min === undefined ? '' : `:${r.min}-${r.max}`}`,
      )
      .sort();
    expect(rules).toEqual([
      'etcd <- etcd tcp:2379-2380',
      'etcd <- master tcp:2379-2379',
      'master <- master icmp',
      'master <- master tcp:10250-10250',
      'master <- master tcp:6443-6443',
      'master <- worker icmp',
      'master <- worker tcp:6443-6443',
      'worker <- master icmp',
      'worker <- master tcp:10250-10250',
      'worker <- worker icmp',
    ]);
  });

  it('with sshCidrs: an SSH group whose rules repeat over the list, attached to every role', () => {
    const { stack, sgs: g } = sgs({ sshCidrs: ['192.0.2.0/24', '198.51.100.7/32'] });
    const t = HotTemplate.fromStack(stack);
    t.hasResourceProperties('OS::Neutron::SecurityGroup', {
      name: 'demo-ssh',
      rules: {
        repeat: {
          for_each: { '<%cidr%>': ['192.0.2.0/24', '198.51.100.7/32'] },
          template: Match.exact({
            direction: 'ingress',
            ethertype: 'IPv4',
            protocol: 'tcp',
            port_range_min: 22,
            port_range_max: 22,
            remote_ip_prefix: '<%cidr%>',
          }),
        },
      },
    });
    expect(g.ssh).toBeDefined();
    for (const role of ['etcd', 'master', 'worker'] as const) expect(g.groupIdsFor(role)).toHaveLength(2);
  });

  it('allowFromRole, allowFromCidr and allowFromCidrList add rules and groups', () => {
    const { stack, sgs: g } = sgs();
    g.allowFromRole('worker', 'worker', { protocol: 'tcp', port: 30000, toPort: 32767, description: 'node ports' });
    g.allowFromCidr('worker', '192.0.2.0/24', { protocol: 'udp', port: 53, description: 'dns' }, 'worker-dns');
    g.allowFromRole('worker', 'master', { protocol: 'any', description: 'everything' }, 'custom-id');
    const extra = g.allowFromCidrList(
      'master',
      ['203.0.113.0/24'],
      { protocol: 'tcp', port: 443, description: 'https' },
      'Https',
      'demo-https',
    );
    const t = HotTemplate.fromStack(stack);
    t.hasResourceProperties('OS::Neutron::SecurityGroupRule', {
      protocol: 'tcp',
      port_range_min: 30000,
      port_range_max: 32767,
      description: 'node ports',
    });
    t.hasResourceProperties('OS::Neutron::SecurityGroupRule', {
      protocol: 'udp',
      port_range_min: 53,
      port_range_max: 53,
      remote_ip_prefix: '192.0.2.0/24',
      remote_group: Match.absent(),
    });
    t.hasResourceProperties('OS::Neutron::SecurityGroupRule', {
      description: 'everything',
      protocol: Match.absent(),
      port_range_min: Match.absent(),
    });
    expect(Object.keys(t.findResources('OS::Neutron::SecurityGroupRule')).some((id) => id.startsWith('Sgcustomid'))).toBe(true);
    t.hasResourceProperties('OS::Neutron::SecurityGroup', {
      name: 'demo-https',
      rules: { repeat: { for_each: { '<%cidr%>': ['203.0.113.0/24'] } } },
    });
    expect(extra.node.id).toBe('Https');
    expect(g.groupIdsFor('master')).toHaveLength(2);
    expect(g.groupIdsFor('worker')).toHaveLength(1);
    expect(g.groupIdsFor('etcd')).toHaveLength(1);
  });

  it('fails when a rule id repeats', () => {
    const { sgs: g } = sgs();
    failsWith(
      () => g.allowFromRole('etcd', 'etcd', { protocol: 'tcp', port: 2379, toPort: 2380, description: 'again' }),
      's/Sg',
      /^a rule with id "etcd-from-etcd-tcp2379-2380" exists already; give the new rule another id$/,
    );
  });
  it('fails when an icmp rule has a port', () =>
    failsWith(
      () => sgs().sgs.allowFromRole('worker', 'worker', { protocol: 'icmp', port: 8, description: 'x' }, 'x'),
      's/Sg',
      /^a icmp rule has no ports; got port 8$/,
    ));
  it('fails when an any rule has a toPort', () =>
    failsWith(
      () => sgs().sgs.allowFromRole('worker', 'worker', { protocol: 'any', toPort: 8, description: 'x' }, 'x'),
      's/Sg',
      /^a any rule has no ports; got port undefined$/,
    ));
  it('fails when a tcp rule has no port', () =>
    failsWith(
      () => sgs().sgs.allowFromCidr('worker', '10.0.0.0/8', { protocol: 'tcp', description: 'x' }, 'x'),
      's/Sg',
      /^a tcp rule needs a port 1-65535; got undefined$/,
    ));
  it('fails when a port is 0', () =>
    failsWith(
      () => sgs().sgs.allowFromCidr('worker', '10.0.0.0/8', { protocol: 'udp', port: 0, description: 'x' }, 'x'),
      's/Sg',
      /^a udp rule needs a port 1-65535; got 0$/,
    ));
  it('fails when a port is above 65535', () =>
    failsWith(
      () => sgs().sgs.allowFromCidr('worker', '10.0.0.0/8', { protocol: 'tcp', port: 65536, description: 'x' }, 'x'),
      's/Sg',
      /got 65536$/,
    ));
  it('fails when a port is fractional', () =>
    failsWith(
      () => sgs().sgs.allowFromCidr('worker', '10.0.0.0/8', { protocol: 'tcp', port: 80.5, description: 'x' }, 'x'),
      's/Sg',
      /got 80.5$/,
    ));
  it('fails when toPort is below port', () =>
    failsWith(
      () => sgs().sgs.allowFromCidr('worker', '10.0.0.0/8', { protocol: 'tcp', port: 80, toPort: 79, description: 'x' }, 'x'),
      's/Sg',
      /^toPort must be a port from 80 to 65535; got 79$/,
    ));
  it('fails when a CIDR-list group has a bad port', () =>
    failsWith(
      () => sgs().sgs.allowFromCidrList('worker', ['10.0.0.0/8'], { protocol: 'tcp', port: -1, description: 'x' }, 'X', 'x'),
      's/Sg',
      /^a tcp rule needs a port 1-65535; got -1$/,
    ));
});

describe('security groups of the default Cluster (least privilege)', () => {
  const { stack, cluster: c } = cluster();
  const doc = stack.toTemplate();
  const rules = ingressRules(doc);
  const etcd = groupId(doc, 'k8s-etcd');
  const master = groupId(doc, 'k8s-master');
  const worker = groupId(doc, 'k8s-worker');
  const ssh = groupId(doc, 'k8s-ssh');

  it('no rule is open to the world: every rule names a remote group or a CIDR, never 0.0.0.0/0', () => {
    expect(rules.length).toBeGreaterThan(10);
    for (const r of rules) {
      expect(r.remoteGroup !== undefined || r.remote !== undefined, JSON.stringify(r)).toBe(true);
      expect(r.remote, JSON.stringify(r)).not.toBe('0.0.0.0/0');
    }
  });

  it('etcd 2379-2380 only from etcd members and masters', () => {
    for (const port of [2379, 2380]) {
      for (const r of rules.filter((x) => covers(x, port) && x.protocol !== 'icmp' && x.remote !== 'param:ssh_allowed_cidrs')) {
        expect(r.group, JSON.stringify(r)).toBe(etcd);
        expect([etcd, master]).toContain(r.remoteGroup);
      }
    }
    const etcdRules = rules.filter((r) => r.group === etcd);
    expect(etcdRules.map((r) => [r.remoteGroup === etcd ? 'etcd' : 'master', r.min, r.max]).sort()).toEqual([
      ['etcd', 2379, 2380],
      ['master', 2379, 2379],
    ]);
  });

  it('kubelet 10250 only from masters', () => {
    const kubelet = rules.filter((r) => covers(r, 10250) && r.protocol === 'tcp');
    expect(kubelet.map((r) => r.group).sort()).toEqual([master, worker].sort());
    for (const r of kubelet) expect(r.remoteGroup).toBe(master);
  });

  it("kube-apiserver 6443 only from masters, workers and the members' subnet (amphora)", () => {
    const api = rules.filter((r) => covers(r, 6443) && r.protocol === 'tcp');
    for (const r of api) expect(r.group).toBe(master);
    expect(api.map((r) => r.remoteGroup ?? r.remote).sort()).toEqual(['10.0.0.0/24', master, worker].sort());
    HotTemplate.fromStack(stack).hasResourceProperties('OS::Octavia::Listener', {
      protocol_port: 6443,
      // the node subnet always, beside the client CIDRs (issue 12 item 9)
      allowed_cidrs: { list_concat_unique: [{ get_param: 'api_allowed_cidrs' }, ['10.0.0.0/24']] },
    });
  });

  it('workers get no apiserver, etcd or SSH-from-anywhere rule', () => {
    for (const r of rules.filter((x) => x.group === worker)) {
      expect([master, worker]).toContain(r.remoteGroup);
      expect([undefined, 'icmp', 'udp', 'tcp']).toContain(r.protocol);
      if (r.protocol === 'tcp') expect(r.min).toBe(10250);
    }
  });

  it('SSH is closed by default: its only rules repeat over ssh_allowed_cidrs, which defaults to an empty list', () => {
    const sshRules = rules.filter((r) => covers(r, 22) && r.protocol !== 'icmp' && r.protocol !== undefined);
    expect(sshRules).toEqual([{ group: ssh, protocol: 'tcp', min: 22, max: 22, remote: 'param:ssh_allowed_cidrs' }]);
    expect(c.parameters.sshAllowedCidrs.props.value).toEqual([]);
    HotTemplate.fromStack(stack).hasParameter('ssh_allowed_cidrs', { type: 'comma_delimited_list' });
  });

  it("attaches each role's group (and SSH) to that role's ports only", () => {
    const groups = Object.entries(doc.resources as Record<string, Res>).filter(([id]) => id.includes('PortsGroup'));
    const sgOf = (prefix: string) =>
      (groups.find(([id]) => id.startsWith(prefix))![1].properties as { resource_def: { properties: { security_groups: unknown } } })
        .resource_def.properties.security_groups;
    expect(sgOf('ClusterEtcdMembersPortsGroup')).toEqual([{ get_resource: etcd }, { get_resource: ssh }]);
    expect(sgOf('ClusterControlMastersPortsGroup')).toEqual([{ get_resource: master }, { get_resource: ssh }]);
    expect(sgOf('ClusterWorkersdefaultWorkersPortsGroup')).toEqual([{ get_resource: worker }, { get_resource: ssh }]);
  });

  it('sshAllowedCidrs becomes the parameter value', () => {
    const { cluster: c2 } = cluster({ sshAllowedCidrs: ['192.0.2.0/24'] });
    expect(c2.parameters.sshAllowedCidrs.props.value).toEqual(['192.0.2.0/24']);
  });
});

describe('security groups of other Cluster choices', () => {
  it("ovn: 6443 from the members' subnet and from api_allowed_cidrs through a group of its own on the masters", () => {
    const { stack } = cluster({ loadBalancer: { provider: 'ovn' }, apiAllowedCidrs: ['203.0.113.0/24'] });
    const doc = stack.toTemplate();
    const rules = ingressRules(doc);
    const master = groupId(doc, 'k8s-master');
    const clients = groupId(doc, 'k8s-api-clients');
    const api = rules.filter((r) => covers(r, 6443) && r.protocol === 'tcp');
    expect(
      api.map((r) => `${r.group === master ? 'master' : r.group === clients ? 'clients' : r.group} ${r.remoteGroup ?? r.remote}`).sort(),
    ).toEqual(['clients param:api_allowed_cidrs', `master ${master}`, 'master 10.0.0.0/24', `master ${groupId(doc, 'k8s-worker')}`].sort());
    HotTemplate.fromStack(stack).hasResourceProperties('OS::Heat::ResourceGroup', {
      resource_def: {
        properties: { security_groups: [{ get_resource: master }, { get_resource: groupId(doc, 'k8s-ssh') }, { get_resource: clients }] },
      },
    });
  });

  it('single master: 6443 from api_allowed_cidrs through the clients group, no load-balancer subnet rule', () => {
    const { stack } = cluster({ loadBalancer: false, masters: { count: 1 } });
    const doc = stack.toTemplate();
    const rules = ingressRules(doc);
    expect(rules.some((r) => r.remote === '10.0.0.0/24')).toBe(false);
    expect(rules.filter((r) => r.remote === 'param:api_allowed_cidrs').map((r) => [r.group, r.min])).toEqual([
      [groupId(doc, 'k8s-api-clients'), 6443],
    ]);
  });

  it("etcdListener: etcd 2379 (not 2380) from the members' subnet, the listener restricted to it", () => {
    const { stack } = cluster({ loadBalancer: { etcdListener: true } });
    const doc = stack.toTemplate();
    const etcd = groupId(doc, 'k8s-etcd');
    const fromSubnet = ingressRules(doc).filter((r) => r.group === etcd && r.remote !== undefined);
    expect(fromSubnet).toEqual([{ group: etcd, protocol: 'tcp', min: 2379, max: 2379, remote: '10.0.0.0/24', remoteGroup: undefined }]);
    HotTemplate.fromStack(stack).hasResourceProperties('OS::Octavia::Listener', { protocol_port: 2379, allowed_cidrs: ['10.0.0.0/24'] });
  });

  it('fails when an apiAllowedCidrs entry is malformed', () =>
    failsWith(
      () => cluster({ apiAllowedCidrs: ['0.0.0.0'] }),
      'test/Cluster',
      /^apiAllowedCidrs and sshAllowedCidrs entries must be an IPv4 CIDR like 10.0.0.0\/24; got "0.0.0.0"$/,
    ));
  it('fails when an sshAllowedCidrs entry has host bits', () =>
    failsWith(
      () => cluster({ sshAllowedCidrs: ['192.0.2.1/24'] }),
      'test/Cluster',
      /^apiAllowedCidrs and sshAllowedCidrs entries must be a network address .*"192.0.2.1\/24"$/,
    ));
});
