/**
 * cluster.exposeNodePort(): a stack-declared load balancer in front of a NodePort on every worker of the chosen groups.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HotTemplate, Match } from '../../src/assertions/index.js';
import { App, HeatStack, HotError, synthesize, type ClusterProps, type ExposeNodePortOptions } from '../../src/index.js';
import { criticalPath } from '../../src/k8s/private/critical-path.js';
import { cluster, templates } from './k8s-helpers.js';

type Doc = Record<string, unknown>;
type Res = Record<string, { type: string; properties?: Doc; depends_on?: unknown }>;

const resources = (stack: HeatStack): Res => (stack.toTemplate() as { resources: Res }).resources;
const nested = (stack: HeatStack, fragment: string): HeatStack => {
  const all: HeatStack[] = [];
  const visit = (s: HeatStack) => {
    for (const n of s.nestedStacks()) {
      all.push(n);
      visit(n);
    }
  };
  visit(stack);
  const hits = all.filter((s) => s.fileName.includes(fragment));
  if (hits.length !== 1)
    throw new Error(`expected one nested template matching ${fragment}; got ${hits.map((s) => s.fileName).join(', ') || 'none'}`);
  return hits[0]!;
};
/** The one resource of `type` whose logical id contains `fragment`. */
const one = (stack: HeatStack, type: string, fragment = ''): [string, Res[string]] => {
  const hits = Object.entries(resources(stack)).filter(([id, r]) => r.type === type && id.includes(fragment));
  if (hits.length !== 1)
    throw new Error(`expected one ${type} with id containing ${fragment}; got ${hits.map(([id]) => id).join(', ') || 'none'}`);
  return hits[0]!;
};
const exposed = (opts: Partial<ExposeNodePortOptions> = {}, props: ClusterProps = {}, name = 'web') => {
  const c = cluster(props);
  const app = c.cluster.exposeNodePort(name, { port: 8080, nodePort: 30080, ...opts });
  return { ...c, exposed: app, t: HotTemplate.fromStack(c.stack) };
};
const fails = (f: () => unknown, re: RegExp) => {
  expect(f).toThrow(HotError);
  expect(f).toThrow(re);
};

describe('exposeNodePort: defaults', () => {
  it('creates an amphora load balancer, a TCP listener on the public port, a pool and a TCP health monitor', () => {
    const { stack, t } = exposed();
    const [lbId, lb] = one(stack, 'OS::Octavia::LoadBalancer', 'Appweb');
    expect(lb.properties).toMatchObject({
      provider: 'amphora',
      name: 'k8s-web',
      vip_subnet: { get_resource: expect.stringMatching(/Subnet/) },
    });
    expect(lb.properties).not.toHaveProperty('flavor');
    expect(lb.properties).not.toHaveProperty('vip_address');
    const [listenerId, listener] = one(stack, 'OS::Octavia::Listener', 'Appweb');
    expect(listener.properties).toEqual({
      loadbalancer: { get_resource: lbId },
      protocol: 'TCP',
      protocol_port: 8080,
      allowed_cidrs: { get_param: 'app_web_allowed_cidrs' },
      name: 'k8s-web',
    });
    const [poolId, pool] = one(stack, 'OS::Octavia::Pool', 'Appweb');
    expect(pool.properties).toEqual({
      listener: { get_resource: listenerId },
      protocol: 'TCP',
      lb_algorithm: 'ROUND_ROBIN',
      name: 'k8s-web',
    });
    t.hasResourceProperties('OS::Octavia::HealthMonitor', {
      pool: { get_resource: poolId },
      type: 'TCP',
      delay: 5,
      timeout: 5,
      max_retries: 3,
      url_path: Match.absent(),
    });
  });

  it('makes the allowed CIDRs a parameter with at least one entry, everyone by default', () => {
    const { t, exposed: app } = exposed();
    t.hasParameter('app_web_allowed_cidrs', { type: 'comma_delimited_list', constraints: [{ length: { min: 1 } }] });
    expect(app.allowedCidrsParameter.props.value).toEqual(['0.0.0.0/0']);
    t.templateMatches({ parameter_groups: Match.arrayWith([{ label: 'Application web', parameters: ['app_web_allowed_cidrs'] }]) });
  });

  it('takes a new floating IP from the external network, associated with the VIP once it exists', () => {
    const { stack } = exposed();
    const [fipId, fip] = one(stack, 'OS::Neutron::FloatingIP', 'Appweb');
    expect(fip.properties).toEqual({ floating_network: { get_param: 'external_network' } });
    const [, assoc] = one(stack, 'OS::Neutron::FloatingIPAssociation', 'Appweb');
    expect(assoc.properties).toMatchObject({
      floatingip_id: { get_resource: fipId },
      port_id: { get_attr: [expect.stringMatching(/AppwebLoadBalancer/), 'vip_port_id'] },
    });
    expect(assoc.depends_on).toEqual([expect.stringMatching(/^ClusterNetworkRouterInterface/)]);
  });

  it('outputs the public address and a URL', () => {
    const { t } = exposed();
    t.hasOutput('app_web_address', {
      value: { get_attr: [Match.stringLikeRegexp('AppwebLoadBalancerFloatingIp'), 'floating_ip_address'] },
    });
    t.hasOutput('app_web_url', {
      value: {
        str_replace: {
          template: 'tcp://HOST:8080',
          params: { HOST: { get_attr: [Match.stringLikeRegexp('AppwebLoadBalancerFloatingIp'), 'floating_ip_address'] } },
        },
      },
    });
  });

  it("opens exactly the NodePort on the worker security group, only from the members' subnet (amphora)", () => {
    const { stack } = exposed();
    const rules = Object.values(resources(stack)).filter(
      (r) => r.type === 'OS::Neutron::SecurityGroupRule' && r.properties?.port_range_min === 30080,
    );
    expect(rules).toHaveLength(1);
    expect(rules[0]!.properties).toMatchObject({
      direction: 'ingress',
      protocol: 'tcp',
      port_range_min: 30080,
      port_range_max: 30080,
      remote_ip_prefix: '10.0.0.0/24',
      security_group: { get_resource: expect.stringMatching(/SecurityGroupsWorker/) },
    });
    // amphora needs no client security group
    expect(Object.keys(resources(stack)).filter((id) => id.includes('Clients') && id.includes('App'))).toEqual([]);
  });

  it('puts one pool member per worker in a member template indexed like the workers and sized by their count parameter', () => {
    const { stack } = exposed();
    const [poolId] = one(stack, 'OS::Octavia::Pool', 'Appweb');
    const [, group] = one(stack, 'OS::Heat::ResourceGroup', 'AppwebMembers');
    const [portsId] = one(stack, 'OS::Heat::ResourceGroup', 'WorkersdefaultWorkersPorts');
    expect(group.properties).toMatchObject({
      count: { get_param: 'workers_default_count' },
      resource_def: {
        properties: { pool: { get_resource: poolId }, address_map: { get_attr: [portsId, 'attributes', 'address'] }, index: '%index%' },
      },
    });
    const member = HotTemplate.fromStack(nested(stack, 'app-web-members'));
    member.resourceCountIs('OS::Octavia::PoolMember', 1);
    member.hasResourceProperties('OS::Octavia::PoolMember', {
      protocol_port: 30080,
      pool: { get_param: 'pool' },
      address: { get_param: ['address_map', { get_param: 'index' }] },
      subnet: { get_param: 'subnet' },
    });
    expect(Object.keys(resources(nested(stack, 'app-web-members')))).toEqual(['Member']);
  });

  it('does not touch the worker servers: their member template is the same with or without the application', () => {
    const plain = cluster().stack;
    const { stack } = exposed();
    expect(nested(stack, 'workers-default-workers-nodes').toTemplate()).toEqual(
      nested(plain, 'workers-default-workers-nodes').toTemplate(),
    );
    expect(nested(stack, 'workers-default-workers-ports').toTemplate()).toEqual(
      nested(plain, 'workers-default-workers-ports').toTemplate(),
    );
  });
});

describe('exposeNodePort: options', () => {
  it('HTTP: an HTTP listener, pool and monitor with the given path, codes, delay, timeout and retries; http:// URL without :80', () => {
    const { t } = exposed({
      port: 80,
      protocol: 'HTTP',
      healthMonitor: { type: 'HTTP', urlPath: '/healthz', expectedCodes: '200-204', delaySec: 10, timeoutSec: 4, maxRetries: 5 },
    });
    t.hasResourceProperties('OS::Octavia::Listener', { protocol: 'HTTP', protocol_port: 80 });
    t.hasResourceProperties('OS::Octavia::Pool', { protocol: 'HTTP', name: 'k8s-web' });
    t.hasResourceProperties('OS::Octavia::HealthMonitor', {
      type: 'HTTP',
      url_path: '/healthz',
      expected_codes: '200-204',
      delay: 10,
      timeout: 4,
      max_retries: 5,
      http_method: 'GET',
    });
    t.hasOutput('app_web_url', { value: { str_replace: { template: 'http://HOST' } } });
  });

  it('HTTP monitor method and defaults (GET /, 200) when only the type is given', () => {
    exposed({ protocol: 'HTTP', healthMonitor: { httpMethod: 'HEAD' } }).t.hasResourceProperties('OS::Octavia::HealthMonitor', {
      type: 'HTTP',
      http_method: 'HEAD',
      url_path: '/',
      expected_codes: '200',
    });
  });

  it('HTTP on another port keeps the port in the URL', () => {
    exposed({ port: 8000, protocol: 'HTTP' }).t.hasOutput('app_web_url', { value: { str_replace: { template: 'http://HOST:8000' } } });
  });

  it('HTTPS is passed through: HTTPS listener and pool, a TCP monitor by default, https:// URL without :443', () => {
    const { t } = exposed({ port: 443, protocol: 'HTTPS' });
    t.hasResourceProperties('OS::Octavia::Listener', { protocol: 'HTTPS', protocol_port: 443 });
    t.hasResourceProperties('OS::Octavia::Pool', { protocol: 'HTTPS', name: 'k8s-web' });
    t.hasResourceProperties('OS::Octavia::HealthMonitor', { type: 'TCP' });
    t.resourceCountIs('OS::Barbican::Secret', 0);
    t.hasOutput('app_web_url', { value: { str_replace: { template: 'https://HOST' } } });
  });

  it('UDP: UDP listener and pool, a UDP-CONNECT monitor and a udp rule', () => {
    const { t, stack } = exposed({ port: 53, protocol: 'UDP' });
    t.hasResourceProperties('OS::Octavia::Listener', { protocol: 'UDP', protocol_port: 53 });
    t.hasResourceProperties('OS::Octavia::HealthMonitor', { type: 'UDP-CONNECT' });
    const rule = Object.values(resources(stack)).find(
      (r) => r.type === 'OS::Neutron::SecurityGroupRule' && r.properties?.port_range_min === 30080,
    )!;
    expect(rule.properties).toMatchObject({ protocol: 'udp', remote_ip_prefix: '10.0.0.0/24' });
  });

  it('algorithm, session persistence and connection limit reach the pool and listener', () => {
    const { t } = exposed({
      algorithm: 'LEAST_CONNECTIONS',
      sessionPersistence: { type: 'APP_COOKIE', cookieName: 'sid' },
      connectionLimit: 500,
    });
    t.hasResourceProperties('OS::Octavia::Pool', {
      name: 'k8s-web',
      lb_algorithm: 'LEAST_CONNECTIONS',
      session_persistence: { type: 'APP_COOKIE', cookie_name: 'sid' },
    });
    t.hasResourceProperties('OS::Octavia::Listener', { name: 'k8s-web', connection_limit: 500 });
  });

  it('allowedCidrs become the parameter value (written to the environment file)', async () => {
    const { app } = exposed({ allowedCidrs: ['192.0.2.0/24', '198.51.100.0/24'] });
    const dir = await mkdtemp(join(tmpdir(), 'hotk8s-expose-'));
    const result = await synthesize(app, { write: false, stateDir: dir, checkers: [] });
    expect(result.files.get('test.env.yaml')).toContain('app_web_allowed_cidrs:\n    - 192.0.2.0/24\n    - 198.51.100.0/24');
  });

  it('flavor reaches the load balancer', () => {
    exposed({ flavor: 'lb.small' }).t.hasResourceProperties('OS::Octavia::LoadBalancer', { name: 'k8s-web', flavor: 'lb.small' });
  });

  it('floatingIp false: no floating IP; the address is the VIP', () => {
    const { stack, t } = exposed({ floatingIp: false });
    expect(Object.keys(resources(stack)).filter((id) => id.includes('AppwebLoadBalancerFloatingIp'))).toEqual([]);
    t.hasOutput('app_web_address', { value: { get_attr: [Match.stringLikeRegexp('AppwebLoadBalancer'), 'vip_address'] } });
  });

  it('floatingIp { address }: a new floating IP with that address', () => {
    const { stack, t } = exposed({ floatingIp: { address: '203.0.113.10' } });
    const [, fip] = one(stack, 'OS::Neutron::FloatingIP', 'Appweb');
    expect(fip.properties).toEqual({ floating_network: { get_param: 'external_network' }, floating_ip_address: '203.0.113.10' });
    t.hasOutput('app_web_address', { value: '203.0.113.10' });
    t.hasOutput('app_web_url', { value: { str_replace: { template: 'tcp://HOST:8080', params: { HOST: '203.0.113.10' } } } });
  });

  it("floatingIp { existingId, address }: associates the project's floating IP, allocates none", () => {
    const { stack, t } = exposed({ floatingIp: { existingId: 'fip-uuid', address: '203.0.113.11' } });
    expect(
      Object.keys(resources(stack)).filter(
        (id) => id.includes('AppwebLoadBalancerFloatingIp') && resources(stack)[id]!.type === 'OS::Neutron::FloatingIP',
      ),
    ).toEqual([]);
    const [, assoc] = one(stack, 'OS::Neutron::FloatingIPAssociation', 'Appweb');
    expect(assoc.properties).toMatchObject({ floatingip_id: 'fip-uuid' });
    t.hasOutput('app_web_address', { value: '203.0.113.11' });
  });

  it('urlScheme replaces the scheme of the URL output', () => {
    exposed({ port: 6379, urlScheme: 'redis' }).t.hasOutput('app_web_url', { value: { str_replace: { template: 'redis://HOST:6379' } } });
  });

  it("ovn: no listener allowed_cidrs, SOURCE_IP_PORT; NodePort open to the members' subnet and, on a group of its own, to the clients", () => {
    const { stack, t } = exposed({ provider: 'ovn', allowedCidrs: ['192.0.2.0/24'] });
    t.hasResourceProperties('OS::Octavia::LoadBalancer', { name: 'k8s-web', provider: 'ovn' });
    const [, listener] = one(stack, 'OS::Octavia::Listener', 'Appweb');
    expect(listener.properties).not.toHaveProperty('allowed_cidrs');
    t.hasResourceProperties('OS::Octavia::Pool', { name: 'k8s-web', lb_algorithm: 'SOURCE_IP_PORT' });
    t.hasResourceProperties('OS::Neutron::SecurityGroupRule', {
      port_range_min: 30080,
      port_range_max: 30080,
      remote_ip_prefix: '10.0.0.0/24',
      security_group: { get_resource: Match.stringLikeRegexp('SecurityGroupsWorker') },
    });
    const [sgId, sg] = one(stack, 'OS::Neutron::SecurityGroup', 'AppwebClients');
    expect(sg.properties).toMatchObject({
      name: 'k8s-app-web-clients',
      rules: {
        repeat: {
          for_each: { '<%cidr%>': { get_param: 'app_web_allowed_cidrs' } },
          template: { protocol: 'tcp', port_range_min: 30080, port_range_max: 30080, remote_ip_prefix: '<%cidr%>', direction: 'ingress' },
        },
      },
    });
    // attached to the workers' ports (read at synthesis, so after the group was made)
    const [, ports] = one(stack, 'OS::Heat::ResourceGroup', 'WorkersdefaultWorkersPorts');
    expect((ports.properties!.resource_def as { properties: { security_groups: unknown[] } }).properties.security_groups).toContainEqual({
      get_resource: sgId,
    });
  });

  it('ovn: the client group is attached only to the chosen worker groups', () => {
    const c = cluster({ loadBalancer: { provider: 'ovn' }, workerGroups: [{ name: 'web' }, { name: 'batch' }] });
    const web = c.cluster.workerGroups.find((g) => g.name === 'web')!;
    c.cluster.exposeNodePort('shop', { port: 443, nodePort: 30443, workerGroups: [web] });
    const [sgId] = one(c.stack, 'OS::Neutron::SecurityGroup', 'AppshopClients');
    const sgsOf = (g: string) =>
      (
        one(c.stack, 'OS::Heat::ResourceGroup', `Workers${g}WorkersPorts`)[1].properties!.resource_def as {
          properties: { security_groups: unknown[] };
        }
      ).properties.security_groups;
    expect(sgsOf('web')).toContainEqual({ get_resource: sgId });
    expect(sgsOf('batch')).not.toContainEqual({ get_resource: sgId });
  });

  it("the provider follows the API load balancer's unless given", () => {
    const c = cluster({ loadBalancer: { provider: 'ovn' } });
    expect(c.cluster.exposeNodePort('a', { port: 80, nodePort: 30001 }).provider).toBe('ovn');
    expect(c.cluster.exposeNodePort('b', { port: 81, nodePort: 30002, provider: 'amphora' }).provider).toBe('amphora');
    expect(cluster({ loadBalancer: false }).cluster.exposeNodePort('c', { port: 80, nodePort: 30003 }).provider).toBe('amphora');
  });

  it('workerGroups: members only in the chosen groups; a group added later does not join', () => {
    const c = cluster({ workerGroups: [{ name: 'web' }, { name: 'batch' }] });
    const web = c.cluster.workerGroups.find((g) => g.name === 'web')!;
    const app = c.cluster.exposeNodePort('shop', { port: 80, nodePort: 30080, workerGroups: [web] });
    c.cluster.addWorkerGroup({ name: 'late' });
    const groups = Object.keys(resources(c.stack)).filter((id) => id.includes('AppshopMembers'));
    expect(groups).toHaveLength(1);
    expect(groups[0]).toMatch(/^ClusterWorkerswebWorkersAppshopMembersGroup/);
    expect(app.workerGroups.map((g) => g.name)).toEqual(['web']);
  });

  it('by default every group is a member, including groups added later', () => {
    const c = cluster({ workerGroups: [{ name: 'web' }, { name: 'batch' }] });
    const app = c.cluster.exposeNodePort('shop', { port: 80, nodePort: 30080 });
    c.cluster.addWorkerGroup({ name: 'late', size: 2 });
    expect(app.workerGroups.map((g) => g.name)).toEqual(['web', 'batch', 'late']);
    const counts = Object.entries(resources(c.stack))
      .filter(([id]) => id.includes('AppshopMembers'))
      .map(([, r]) => (r.properties!.count as { get_param: string }).get_param)
      .sort();
    expect(counts).toEqual(['workers_batch_count', 'workers_late_count', 'workers_web_count']);
  });

  it('addWorkerGroup() adds a group to an application later', () => {
    const c = cluster({ workerGroups: [{ name: 'web' }, { name: 'batch' }] });
    const [web, batch] = c.cluster.workerGroups;
    const app = c.cluster.exposeNodePort('shop', { port: 80, nodePort: 30080, workerGroups: [web!] });
    app.addWorkerGroup(batch!);
    expect(Object.keys(resources(c.stack)).filter((id) => id.includes('AppshopMembers'))).toHaveLength(2);
  });

  it('several applications: own load balancers, parameters, outputs and rules', () => {
    const c = cluster();
    c.cluster.exposeNodePort('web', { port: 80, nodePort: 30080, protocol: 'HTTP' });
    c.cluster.exposeNodePort('dns', { port: 53, nodePort: 30053, protocol: 'UDP' });
    c.cluster.exposeNodePort('web-udp', { port: 8080, nodePort: 30080, protocol: 'UDP' }); // same number, other protocol
    const t = HotTemplate.fromStack(c.stack);
    t.resourceCountIs('OS::Octavia::LoadBalancer', 4);
    for (const p of ['app_web', 'app_dns', 'app_web_udp']) {
      t.hasParameter(`${p}_allowed_cidrs`);
      t.hasOutput(`${p}_address`);
      t.hasOutput(`${p}_url`);
    }
    expect(c.cluster.applicationList.map((a) => a.name)).toEqual(['web', 'dns', 'web-udp']);
  });

  it('reuses the external_network parameter, and creates it when the cluster had no use for it', () => {
    const withNet = exposed();
    expect(
      Object.keys((withNet.stack.toTemplate() as { parameters: Doc }).parameters).filter((p) => p === 'external_network'),
    ).toHaveLength(1);
    const c = cluster({
      existingNetwork: { networkId: 'net', subnetId: 'sub', subnetCidr: '192.168.10.0/24' },
      loadBalancer: { vipAddress: '192.168.10.5', floatingIp: false },
      externalNetwork: 'public',
    });
    expect(c.cluster.parameters.externalNetwork).toBeUndefined();
    c.cluster.exposeNodePort('web', { port: 80, nodePort: 30080 });
    const t = HotTemplate.fromStack(c.stack);
    t.hasParameter('external_network', { type: 'string', constraints: [{ custom_constraint: 'neutron.network' }] });
    t.hasResourceProperties('OS::Neutron::FloatingIP', { floating_network: { get_param: 'external_network' } });
    // the members' subnet of a reused network is its CIDR
    t.hasResourceProperties('OS::Neutron::SecurityGroupRule', { port_range_min: 30080, remote_ip_prefix: '192.168.10.0/24' });
    // no router: the association waits for nothing else
    const [, assoc] = one(c.stack, 'OS::Neutron::FloatingIPAssociation', 'Appweb');
    expect(assoc.depends_on).toBeUndefined();
  });
});

describe('exposeNodePort: scaling and identity', () => {
  const bundle = async (size: number) => {
    const app = new App();
    const stack = new HeatStack(app, 'scale');
    const { Cluster } = await import('../../src/index.js');
    const c = new Cluster(stack, 'Cluster', {
      name: 'k8s',
      image: 'img',
      externalNetwork: 'public',
      keyName: 'me',
      workerGroups: [{ name: 'web', size, minSize: 1, maxSize: 10 }],
    });
    c.exposeNodePort('guestbook', { port: 80, nodePort: 30080, protocol: 'HTTP' });
    const dir = await mkdtemp(join(tmpdir(), 'hotk8s-scale-'));
    return synthesize(app, { write: false, stateDir: dir, checkers: [] });
  };

  it('scaling the group from 3 to 10 is a parameter change: every template is byte-identical, only the environment differs', async () => {
    const [three, ten] = await Promise.all([bundle(3), bundle(10)]);
    const names = [...three.files.keys()].sort();
    expect([...ten.files.keys()].sort()).toEqual(names);
    const differing = names.filter((f) => three.files.get(f) !== ten.files.get(f));
    expect(differing).toEqual(['scale.env.yaml']);
    expect(three.files.get('scale.env.yaml')).toContain('workers_web_count: 3');
    expect(ten.files.get('scale.env.yaml')).toContain('workers_web_count: 10');
    for (const f of names.filter((n) => n.endsWith('.yaml') && !n.includes('env'))) expect(ten.files.get(f), f).toBe(three.files.get(f));
    // the members follow the same count parameter as the servers
    const root = three.files.get('scale.yaml')!;
    expect(root.match(/get_param: workers_web_count/g)).toHaveLength(3); // ports, nodes, pool members
  });

  it('fails when the size leaves the range: the count parameter rejects 11', () => {
    expect(() => cluster({ workerGroups: [{ name: 'web', size: 11, maxSize: 10 }] })).toThrow(
      /size must lie within minSize..maxSize \(0..10\); got 11/,
    );
  });

  it('adds resources only: every resource of the cluster without the application keeps its id and definition (amphora)', () => {
    const before = resources(cluster().stack);
    const after = resources(exposed({ protocol: 'HTTP', port: 80 }).stack);
    for (const [id, r] of Object.entries(before)) expect(after[id], id).toEqual(r);
    const added = Object.keys(after).filter((id) => !(id in before));
    expect(added.every((id) => /App-?web|appweb/i.test(id))).toBe(true);
    expect(added.length).toBe(8); // LB, FIP, association, listener, pool, monitor, member group, NodePort rule
  });

  it("keeps the API load balancer's ids with ovn too (only the workers' port security groups gain the client group)", () => {
    const before = resources(cluster({ loadBalancer: { provider: 'ovn' } }).stack);
    const after = resources(exposed({}, { loadBalancer: { provider: 'ovn' } }).stack);
    for (const [id, r] of Object.entries(before)) {
      expect(after[id], id).toBeDefined();
      if (!id.includes('WorkersdefaultWorkersPorts')) expect(after[id], id).toEqual(r);
    }
    for (const id of Object.keys(before).filter((i) => i.startsWith('ClusterApiLoadBalancer'))) expect(after[id]).toEqual(before[id]);
  });
});

describe('exposeNodePort: the critical path', () => {
  const path = (stack: HeatStack) => criticalPath(templates(stack), stack.fileName);

  it('exposure does not lengthen the critical path and puts no load balancer on it', () => {
    const without = path(cluster().stack);
    const { stack } = exposed({ port: 80, protocol: 'HTTP' });
    const withApp = path(stack);
    expect(withApp.totalSec).toBe(without.totalSec);
    expect(withApp.totalSec).toBeLessThanOrEqual(410);
    expect(withApp.steps.filter((s) => s.type.startsWith('OS::Octavia::'))).toEqual([]);
    expect(withApp.steps.filter((s) => s.type === 'OS::Nova::Server')).toHaveLength(1);
    // the application's members are in place long before the workers signal: the members group's own finish time
    const files = templates(stack);
    const root = files.get(stack.fileName) as { resources: Res };
    const membersId = Object.keys(root.resources).find((id) => id.includes('AppwebMembers'))!;
    const probe = new Map(files);
    probe.set('probe.yaml', { resources: dependencyClosure(root.resources, membersId) });
    const membersDone = criticalPath(probe, 'probe.yaml').totalSec;
    expect(membersDone).toBeGreaterThanOrEqual(120 + 10 + 10 + 10); // load balancer, listener, pool, member
    expect(membersDone).toBeLessThan(withApp.totalSec);
    console.log(
      `critical path: ${without.totalSec} s without exposure, ${withApp.totalSec} s with; the application's pool members are in place after ${membersDone} s`,
    );
  });
});

/** `id` and every resource it depends on (get_resource, get_attr, depends_on), transitively. */
function dependencyClosure(all: Res, id: string): Res {
  const out: Res = {};
  const refs = (v: unknown, acc: Set<string>) => {
    if (Array.isArray(v)) v.forEach((x) => refs(x, acc));
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v as Doc)) {
        if (k === 'get_resource' && typeof x === 'string') acc.add(x);
        else if (k === 'get_attr' && Array.isArray(x) && typeof x[0] === 'string') acc.add(x[0]);
        else refs(x, acc);
      }
    }
  };
  const todo = [id];
  while (todo.length > 0) {
    const cur = todo.pop()!;
    if (cur in out || !(cur in all)) continue;
    out[cur] = all[cur]!;
    const acc = new Set<string>();
    refs(all[cur]!.properties, acc);
    const d = all[cur]!.depends_on;
    for (const x of Array.isArray(d) ? d : d ? [d] : []) acc.add(String(x));
    todo.push(...acc);
  }
  return out;
}

describe('exposeNodePort: validation', () => {
  it('fails when the NodePort is below 30000', () =>
    fails(() => exposed({ nodePort: 29999 }), /nodePort must be a whole number 30000..32767; got 29999/));
  it('fails when the NodePort is above 32767', () =>
    fails(() => exposed({ nodePort: 32768 }), /nodePort must be a whole number 30000..32767; got 32768/));
  it('fails when the port is 0', () => fails(() => exposed({ port: 0 }), /port must be a whole number 1..65535; got 0/));
  it('fails when the port is not a whole number', () =>
    fails(() => exposed({ port: 80.5 }), /port must be a whole number 1..65535; got 80.5/));
  it('fails when the protocol is unknown', () =>
    fails(() => exposed({ protocol: 'SCTP' as never }), /protocol must be one of "TCP", "UDP", "HTTP", "HTTPS"; got "SCTP"/));
  it('fails when the provider is unknown', () =>
    fails(() => exposed({ provider: 'f5' as never }), /provider must be one of "amphora", "ovn"; got "f5"/));
  it('fails when allowedCidrs is empty', () => fails(() => exposed({ allowedCidrs: [] }), /allowedCidrs must list at least one CIDR/));
  it('fails when an allowed CIDR has host bits', () =>
    fails(
      () => exposed({ allowedCidrs: ['10.0.0.1/24'] }),
      /allowedCidrs entries must be a network address \(no host bits set for \/24\); got "10.0.0.1\/24"/,
    ));
  it('fails when an allowed CIDR is not a CIDR', () =>
    fails(() => exposed({ allowedCidrs: ['everyone'] }), /allowedCidrs entries must be an IPv4 CIDR like 10.0.0.0\/24; got "everyone"/));
  it('fails when an existing floating IP comes without its address', () =>
    fails(
      () => exposed({ floatingIp: { existingId: 'x' } as never }),
      /exposeNodePort\("web"\) options.floatingIp.address is required; got undefined/,
    ));
  it('fails when a floating IP address is malformed', () =>
    fails(() => exposed({ floatingIp: { address: '203.0.113.300' } }), /floatingIp.address must be an IPv4 address; got "203.0.113.300"/));
  it('fails when floatingIp is neither boolean nor object', () =>
    fails(
      () => exposed({ floatingIp: 'yes' as never }),
      /floatingIp must be true, false, \{ address \} or \{ existingId, address \}; got "yes"/,
    ));
  it('fails when urlScheme is not a scheme', () =>
    fails(() => exposed({ urlScheme: 'HTTP://' }), /urlScheme must be a URL scheme.*got "HTTP:\/\/"/));
  it('fails when the name is not a DNS label', () =>
    fails(() => exposed({}, {}, 'Web_1'), /application name must be a DNS label.*got "Web_1"/));
  it('fails when the name is longer than 20 characters', () => fails(() => exposed({}, {}, 'a'.repeat(21)), /at most 20 characters/));
  it('fails when options are missing', () =>
    fails(
      () => cluster().cluster.exposeNodePort('web', undefined as never),
      /exposeNodePort\("web"\) options must be an object \{ port, nodePort, protocol\?, .* \}; got undefined/,
    ));
  it('fails when two applications share a name', () => {
    const { cluster: c } = exposed();
    fails(
      () => c.exposeNodePort('web', { port: 81, nodePort: 30081 }),
      /application names must be unique strings; got "web" \(exists already\)/,
    );
  });
  it('fails when two applications share a NodePort and protocol family', () => {
    const { cluster: c } = exposed({ protocol: 'HTTP' });
    fails(
      () => c.exposeNodePort('other', { port: 81, nodePort: 30080, protocol: 'TCP' }),
      /NodePort 30080\/tcp is exposed already by application web/,
    );
  });
  it('fails when workerGroups is empty', () =>
    fails(() => exposed({ workerGroups: [] }), /workerGroups must name at least one worker group/));
  it('fails when a worker group belongs to another cluster', () => {
    const other = cluster({}, 'other').cluster.workerGroups[0]!;
    fails(() => exposed({ workerGroups: [other] }), /workerGroups must be groups of this cluster.*got "other\/Cluster\/Workers-default"/);
  });
  it('fails when addWorkerGroup gets a group of another cluster', () => {
    const other = cluster({}, 'other').cluster.workerGroups[0]!;
    fails(
      () => exposed().exposed.addWorkerGroup(other),
      /worker group other\/Cluster\/Workers-default belongs to another cluster; an application's members must be workers of its own cluster \(test\/Cluster\)/,
    );
  });
  it('fails when a group is added to an application twice', () => {
    const { exposed: app, cluster: c } = exposed();
    fails(() => app.addWorkerGroup(c.workerGroups[0]!), /worker group default is a member of application web already/);
  });
  it('fails when addWorkerGroup gets something else', () =>
    fails(() => exposed().exposed.addWorkerGroup({} as never), /workerGroups entries must be WorkerGroup constructs/));
  it('fails when ovn gets HTTP', () =>
    fails(() => exposed({ provider: 'ovn', protocol: 'HTTP' }), /the ovn provider listens on TCP or UDP only; got HTTP/));
  it('fails when ovn gets a flavor', () =>
    fails(() => exposed({ provider: 'ovn', flavor: 'x' }), /the ovn provider takes no Octavia flavor; got flavor "x"/));
  it('fails when ovn gets ROUND_ROBIN', () =>
    fails(() => exposed({ provider: 'ovn', algorithm: 'ROUND_ROBIN' }), /SOURCE_IP_PORT only; got algorithm ROUND_ROBIN/));
  it('fails when ovn gets an HTTP monitor', () =>
    fails(() => exposed({ provider: 'ovn', healthMonitor: { type: 'HTTP' } }), /health monitors are TCP or UDP-CONNECT; got HTTP/));
  it('fails when ovn gets session persistence', () =>
    fails(() => exposed({ provider: 'ovn', sessionPersistence: { type: 'SOURCE_IP' } }), /ovn provider has no session persistence/));
  it('fails when amphora gets SOURCE_IP_PORT', () =>
    fails(() => exposed({ algorithm: 'SOURCE_IP_PORT' }), /amphora provider does not offer SOURCE_IP_PORT/));
  it('fails when the monitor timeout exceeds the delay', () =>
    fails(() => exposed({ healthMonitor: { delaySec: 3, timeoutSec: 4 } }), /timeoutSec must not exceed delaySec \(3\); got 4/));
  it('fails when a TCP monitor gets a URL path', () =>
    fails(
      () => exposed({ healthMonitor: { urlPath: '/x' } }),
      /urlPath, expectedCodes and httpMethod apply to HTTP and HTTPS monitors; the monitor is TCP/,
    ));
  it('fails when expected codes are malformed', () =>
    fails(
      () => exposed({ protocol: 'HTTP', healthMonitor: { expectedCodes: '2xx' } }),
      /expectedCodes must be a code, a list \(200,202\) or a range \(200-204\); got "2xx"/,
    ));
  it('fails when retries exceed 10', () =>
    fails(() => exposed({ healthMonitor: { maxRetries: 11 } }), /healthMonitor.maxRetries must be a whole number 1..10; got 11/));
  it('fails when the connection limit is 0', () =>
    fails(() => exposed({ connectionLimit: 0 }), /connectionLimit must be a whole number >= 1; got 0/));

  it('fails at synth when an application has no worker group to send traffic to', async () => {
    const c = cluster({ workerGroups: [] });
    c.cluster.exposeNodePort('web', { port: 80, nodePort: 30080 });
    const dir = await mkdtemp(join(tmpdir(), 'hotk8s-expose-'));
    await expect(synthesize(c.app, { write: false, stateDir: dir, checkers: [] })).rejects.toThrow(
      /application web has no worker group to send traffic to/,
    );
  });

  it("fails at synth when the node subnet has no room for the applications' load balancers", async () => {
    // exactly full without the application: its VIP and amphora port do not fit
    const probe = cluster({ nodeCidr: '10.0.0.0/26', maxResourcesPerStack: 100000 });
    const room = probe.cluster.network.poolSize - 3 - 3 - 4; // masters, etcd, API LB and DHCP
    const props: ClusterProps = {
      nodeCidr: '10.0.0.0/26',
      maxResourcesPerStack: 100000,
      workerGroups: [{ name: 'w', size: 1, maxSize: room }],
    };
    const dir = await mkdtemp(join(tmpdir(), 'hotk8s-expose-'));
    await expect(synthesize(cluster(props).app, { write: false, stateDir: dir, checkers: [] })).resolves.toBeDefined();
    const c = cluster(props);
    c.cluster.exposeNodePort('web', { port: 80, nodePort: 30080 });
    await expect(synthesize(c.app, { write: false, stateDir: dir, checkers: [] })).rejects.toThrow(
      new RegExp(`gives ${probe.cluster.network.poolSize} addresses; the groups' maxima need ${probe.cluster.network.poolSize + 2}`),
    );
  });
});

describe("examples/guestbook: the seed's picture", () => {
  it('port 80 through a stack-declared load balancer with a floating IP to NodePort 30080 on a worker group of three', async () => {
    const { default: guestbook } = await import('../../examples/guestbook.js');
    const app = guestbook();
    const stack = app.node.children.find((c) => HeatStack.isHeatStack(c)) as HeatStack;
    const t = HotTemplate.fromStack(stack);
    t.hasResourceProperties('OS::Octavia::Listener', { protocol: 'HTTP', protocol_port: 80, name: 'guestbook-guestbook' });
    t.hasResourceProperties('OS::Neutron::FloatingIP', { floating_network: { get_param: 'external_network' } });
    t.hasOutput('app_guestbook_url', { value: { str_replace: { template: 'http://HOST' } } });
    HotTemplate.fromStack(nested(stack, 'app-guestbook-members')).hasResourceProperties('OS::Octavia::PoolMember', {
      protocol_port: 30080,
    });
    const [, members] = one(stack, 'OS::Heat::ResourceGroup', 'AppguestbookMembers');
    expect(members.properties!.count).toEqual({ get_param: 'workers_web_count' });
    const dir = await mkdtemp(join(tmpdir(), 'hotk8s-guestbook-'));
    const result = await synthesize(app, { write: false, stateDir: dir }); // the default checker (ajv and references)
    expect(result.files.get('guestbook.env.yaml')).toContain('workers_web_count: 3');
  });
});
