import { describe, expect, it } from 'vitest';
import { HotTemplate, Match } from '../../src/assertions/index.js';
import { HotError, HotValidationError } from '../../src/index.js';
import { cluster, templates } from './k8s-helpers.js';

function fails(f: () => unknown, re: RegExp): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a HotError').toBeInstanceOf(HotError);
  expect((err as Error).message).toMatch(re);
}

describe('Cluster defaults', () => {
  const { stack, cluster: c } = cluster();
  const t = HotTemplate.fromStack(stack);

  it('has 3 etcd, 3 masters, a load balancer and one worker group of 3', () => {
    expect(c.etcd.size).toBe(3);
    expect(c.masters.count).toBe(3);
    expect(c.loadBalancer).toBeDefined();
    expect(c.workerGroups.map((g) => [g.name, g.size])).toEqual([['default', 3]]);
    expect(c.flannel.backend).toBe('vxlan');
  });

  it('creates network, subnet with a reserved VIP range, router and interface', () => {
    t.hasResourceProperties('OS::Neutron::Subnet', { cidr: '10.0.0.0/24', allocation_pools: [{ start: '10.0.0.10', end: '10.0.0.254' }] });
    t.resourceCountIs('OS::Neutron::Router', 1);
    t.resourceCountIs('OS::Neutron::RouterInterface', 1);
    t.hasResourceProperties('OS::Octavia::LoadBalancer', { vip_address: '10.0.0.2', provider: 'amphora' });
  });

  it('creates the API listener, pool and a health monitor that really exists', () => {
    t.hasResourceProperties('OS::Octavia::Listener', {
      protocol: 'TCP',
      protocol_port: 6443,
      allowed_cidrs: { list_concat_unique: [{ get_param: 'api_allowed_cidrs' }, ['10.0.0.0/24']] },
    });
    t.hasResourceProperties('OS::Octavia::Pool', { lb_algorithm: 'ROUND_ROBIN', protocol: 'TCP' });
    t.hasResourceProperties('OS::Octavia::HealthMonitor', {
      type: 'HTTPS',
      url_path: '/readyz',
      expected_codes: '200',
      delay: 5,
      timeout: 5,
      max_retries: 3,
    });
  });

  it('has site parameters with custom constraints and parameter groups', () => {
    t.hasParameter('image', { constraints: [{ custom_constraint: 'glance.image' }] });
    t.hasParameter('master_flavor', { constraints: [{ custom_constraint: 'nova.flavor' }] });
    t.hasParameter('key_name', { constraints: [{ custom_constraint: 'nova.keypair' }] });
    t.hasParameter('external_network', { constraints: [{ custom_constraint: 'neutron.network' }] });
    t.hasParameter('workers_default_count', { type: 'number', constraints: [Match.objectLike({ range: { min: 0, max: 10 } })] });
    const groups = (t.document.parameter_groups as { label: string }[]).map((g) => g.label);
    expect(groups).toEqual(['Worker group default', 'Images and flavors', 'Rolling updates', 'Access']);
  });

  it('hides every secret parameter and gives it a secret value', () => {
    const params = t.document.parameters as Record<string, { hidden?: boolean }>;
    for (const n of ['etcd_ca_key', 'k8s_ca_key_b64', 'sa_key_b64', 'encryption_key', 'ca_cert_hash'])
      expect(params[n]?.hidden, n).toBe(true);
  });

  it('has the outputs', () => {
    for (const o of [
      'api_address',
      'api_url',
      'kubeconfig_howto',
      'etcd_addresses',
      'master_addresses',
      'workers_default_addresses',
      'api_load_balancer_id',
    ])
      t.hasOutput(o);
  });

  it('emits no OS::Heat::None placeholder anywhere', () => {
    for (const [file, doc] of templates(stack)) {
      expect(JSON.stringify(doc), file).not.toContain('OS::Heat::None');
    }
  });

  it('puts servers in member templates with RAW user-data, a TOKEN_SIGNAL handle and a wait condition', () => {
    const member = stack.nestedStacks().find((s) => s.fileName === 'test.cluster-control-masters-nodes-member.yaml')!;
    const mt = HotTemplate.fromStack(member);
    mt.hasResourceProperties('OS::Nova::Server', {
      user_data_format: 'RAW',
      user_data: {
        str_replace: Match.objectLike({ params: Match.objectLike({ __SIGNAL_CURL__: { get_attr: ['WaitHandle', 'curl_cli'] } }) }),
      },
    });
    mt.hasResourceProperties('OS::Heat::WaitConditionHandle', { signal_transport: 'TOKEN_SIGNAL' });
    mt.hasResourceProperties('OS::Heat::WaitCondition', { handle: { get_resource: 'WaitHandle' }, timeout: Match.anyValue() });
    mt.hasParameter('k8s_ca_key_b64', { hidden: true });
  });

  it('creates pool members in a group beside the servers, fed from the ports, never making servers wait', () => {
    const doc = stack.toTemplate() as { resources: Record<string, { type: string; properties: Record<string, unknown> }> };
    const groups = Object.entries(doc.resources).filter(([, r]) => r.type === 'OS::Heat::ResourceGroup');
    const nodes = groups.find(([id]) => id.startsWith('ClusterControlMastersNodesGroup'))![1];
    const targets = [...JSON.stringify(nodes).matchAll(/"get_(?:resource|attr)":\[?"([^"]+)"/g)].map((m) => m[1]!);
    expect(targets.length).toBeGreaterThan(0);
    for (const id of targets) expect(doc.resources[id]!.type, id).not.toMatch(/^OS::Octavia::/);
    const members = groups.find(([id]) => id.startsWith('ClusterControlMastersApiPoolMembersGroup'))![1];
    expect(JSON.stringify(members)).toMatch(/ApiLoadBalancerApiPool/);
  });

  it('sets the stack timeout from the bootstrap budgets', () => {
    expect(stack.createTimeoutMinutes).toBeGreaterThan(c.masters.nodes.waitTimeoutSec / 60);
  });

  it('pins logical ids of the API load balancer (a compatibility promise)', () => {
    const ids = Object.keys((stack.toTemplate() as { resources: object }).resources).filter((id) =>
      id.startsWith('ClusterApiLoadBalancer'),
    );
    expect(ids.sort()).toMatchSnapshot();
  });
});

describe('Cluster options', () => {
  it('addWorkerGroup never renames existing resources', () => {
    const a = cluster();
    const b = cluster();
    b.cluster.addWorkerGroup({ name: 'extra', size: 2, flavor: 'm1.small' });
    const ra = Object.keys((a.stack.toTemplate() as { resources: object }).resources);
    const rb = Object.keys((b.stack.toTemplate() as { resources: object }).resources);
    for (const id of ra) expect(rb).toContain(id);
    expect(rb.length).toBeGreaterThan(ra.length);
  });

  it('single-master mode uses the first master as API endpoint with a floating IP', () => {
    const { stack, cluster: c } = cluster({ loadBalancer: false, masters: { count: 1 } });
    expect(c.loadBalancer).toBeUndefined();
    const t = HotTemplate.fromStack(stack);
    t.resourceCountIs('OS::Octavia::LoadBalancer', 0);
    t.hasResourceProperties('OS::Neutron::FloatingIP', {
      port_id: { get_attr: [Match.stringLikeRegexp('^ClusterControlMastersPortsGroup'), 'resource.0', 'port_id'] },
    });
  });

  it('ovn provider restricts the API by security group instead of listener allowed_cidrs', () => {
    const { stack } = cluster({ loadBalancer: { provider: 'ovn' } });
    const t = HotTemplate.fromStack(stack);
    t.hasResourceProperties('OS::Octavia::Listener', { allowed_cidrs: Match.absent() });
    t.hasResourceProperties('OS::Octavia::Pool', { lb_algorithm: 'SOURCE_IP_PORT' });
    t.hasResourceProperties('OS::Neutron::SecurityGroup', {
      rules: { repeat: Match.objectLike({ for_each: { '<%cidr%>': { get_param: 'api_allowed_cidrs' } } }) },
    });
  });

  it('host-gw adds allowed address pairs on every node port and pod-CIDR rules', () => {
    const { stack } = cluster({ flannel: { backend: 'host-gw' } });
    const t = HotTemplate.fromStack(stack);
    t.hasResourceProperties('OS::Neutron::SecurityGroupRule', { remote_ip_prefix: '10.244.0.0/16' });
    const ports = stack.nestedStacks().find((s) => s.fileName.includes('workers-ports'))!;
    HotTemplate.fromStack(ports).hasResourceProperties('OS::Neutron::Port', { allowed_address_pairs: [{ ip_address: '10.244.0.0/16' }] });
  });

  it('reused subnet without a VIP warns that nodes wait for the load balancer', async () => {
    const { app } = cluster({ existingNetwork: { networkId: 'net', subnetId: 'sub', subnetCidr: '192.168.0.0/24' } });
    const r = await app.synth({ write: false, checkers: [] });
    expect(r.annotations.some((a) => a.level === 'warning' && /waits for it/.test(a.message))).toBe(true);
  });

  it('etcd data volumes keep their data on delete', () => {
    const { stack } = cluster({ etcd: { dataVolume: { sizeGiB: 20 } } });
    const m = stack.nestedStacks().find((s) => s.fileName.includes('etcd-members-nodes'))!;
    HotTemplate.fromStack(m).hasResource('OS::Cinder::Volume', { deletion_policy: 'Snapshot', properties: Match.objectLike({ size: 20 }) });
    HotTemplate.fromStack(m).resourceCountIs('OS::Cinder::VolumeAttachment', 1);
  });
});

describe('Cluster validation', () => {
  it('fails when etcd size is even', () => fails(() => cluster({ etcd: { size: 4 } }), /size must be odd .*got 4/));
  it('fails when several masters have no load balancer', () =>
    fails(() => cluster({ loadBalancer: false, masters: { count: 3 } }), /several masters \(3\) need the API load balancer/));
  it('fails when the Kubernetes version is malformed', () =>
    fails(() => cluster({ kubernetesVersion: 'latest' }), /must look like 1.36.*"latest"/));
  it('fails when the Kubernetes minor is unsupported', () => fails(() => cluster({ kubernetesVersion: '1.20.1' }), /not supported/));
  it('fails when the name is not a DNS label', () =>
    fails(() => cluster({ name: 'My_Cluster' }), /name must be a DNS label.*"My_Cluster"/));
  it('fails when pod and service CIDRs overlap', () =>
    fails(() => cluster({ flannel: { podCidr: '10.96.0.0/16' } }), /pod CIDR and the service CIDR must not overlap/));
  it('fails when node subnet and pod CIDR overlap', () =>
    fails(() => cluster({ nodeCidr: '10.244.1.0/24' }), /node subnet and the pod CIDR must not overlap/));
  it('fails when the DNS service IP is outside the service CIDR', () =>
    fails(() => cluster({ dnsServiceIp: '10.0.0.10' }), /dnsServiceIp must be an address inside serviceCidr/));
  it('fails when a CIDR is malformed', () => fails(() => cluster({ serviceCidr: '10.96.0.1/12' }), /no host bits/));
  it('fails when worker group names repeat', () =>
    fails(() => cluster({ workerGroups: [{ name: 'a' }, { name: 'a' }] }), /must be unique/));
  it('fails when a worker group name is not a DNS label', () =>
    fails(() => cluster({ workerGroups: [{ name: 'GPU' }] }), /name must be a DNS label/));
  it('fails when a label is one the kubelet may not set', () =>
    fails(() => cluster({ workerGroups: [{ name: 'a', labels: { 'kubernetes.io/role': 'x' } }] }), /NodeRestriction/));
  it('fails when a taint effect is unknown', () =>
    fails(() => cluster({ workerGroups: [{ name: 'a', taints: [{ key: 'k', effect: 'Never' as never }] }] }), /effect must be one of/));
  it('fails when size lies outside min..max', () =>
    fails(() => cluster({ workerGroups: [{ name: 'a', size: 12, maxSize: 10 }] }), /size must lie within/));
  it('fails when the pod CIDR is too small for the maximum node count', () => {
    const { stack } = cluster({ flannel: { podCidr: '10.244.0.0/22', subnetLength: 24 } });
    expect(() => stack.toTemplate()).toThrow(/serves 4 nodes; the groups' maxima allow 13/);
  });
  it('fails when the resources at every maximum exceed max_resources_per_stack', () => {
    const { stack } = cluster({ workerGroups: [{ name: 'big', size: 3, maxSize: 200 }], nodeCidr: '10.0.0.0/22' });
    let err: unknown;
    try {
      stack.toTemplate();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HotValidationError);
    expect((err as Error).message).toMatch(/above max_resources_per_stack 1000/);
  });
  it('passes the same cluster when the cloud raises max_resources_per_stack', () => {
    const { stack } = cluster({
      workerGroups: [{ name: 'big', size: 3, maxSize: 200 }],
      nodeCidr: '10.0.0.0/22',
      maxResourcesPerStack: 5000,
    });
    expect(() => stack.toTemplate()).not.toThrow();
  });
  it('fails when the node subnet is too small for the maxima', () => {
    const { stack } = cluster({ nodeCidr: '10.0.0.0/28' });
    expect(() => stack.toTemplate()).toThrow(/node subnet 10.0.0.0\/28 gives 9 addresses; the groups' maxima need 20/);
  });
  it('fails when masters.floatingIp is given with a load balancer', () =>
    fails(() => cluster({ masters: { floatingIp: true } }), /single-master mode/));
  it('fails when vipAddress is given for a created subnet', () =>
    fails(() => cluster({ loadBalancer: { vipAddress: '10.0.0.3' } }), /vipAddress is for a reused subnet/));
});
