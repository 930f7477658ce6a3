/**
 * The Cluster's `cloudProvider` prop: parameters, the masters' bootstrap wiring, kubelets on --cloud-provider=external,
 * security-group rules for the NodePort range, outputs, and validation.
 */
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { HotTemplate, Match } from '../../src/assertions/index.js';
import { HeatStack, HotError, type ClusterProps } from '../../src/index.js';
import type { ClusterCloudProviderOptions } from '../../src/k8s/cloud-provider.js';
import { criticalPath } from '../../src/k8s/private/critical-path.js';
import { cluster, templates } from './k8s-helpers.js';

type Doc = Record<string, unknown>;
type Res = Record<string, { type: string; properties?: Doc }>;

const AUTH = 'https://keystone.example.com:5000/v3';
const resources = (stack: HeatStack): Res => (stack.toTemplate() as { resources: Res }).resources;
const nested = (stack: HeatStack, fragment: string): HeatStack => {
  const hits = stack
    .nestedStacks()
    .flatMap((s) => [s, ...s.nestedStacks()])
    .filter((s) => s.fileName.includes(fragment));
  if (hits.length !== 1) throw new Error(`expected one nested template matching ${fragment}; got ${hits.length}`);
  return hits[0]!;
};
const withCp = (cp: ClusterCloudProviderOptions = {}, props: ClusterProps = {}) =>
  cluster({ ...props, cloudProvider: { authUrl: AUTH, ...cp } });
/** The user-data template text and its str_replace params of the member template matching `fragment`. */
const userData = (stack: HeatStack, fragment: string | HeatStack): { text: string; params: Doc } => {
  const member = typeof fragment === 'string' ? nested(stack, fragment) : fragment;
  const server = Object.values(resources(member)).find((r) => r.type === 'OS::Nova::Server')!;
  const sr = (server.properties!.user_data as { str_replace: { template: string; params: Doc } }).str_replace;
  return { text: sr.template, params: sr.params };
};
/** The decompressed content of a gz+b64 write_files entry of the user-data. */
const writtenFile = (text: string, path: string): string => {
  const at = text.indexOf(`path: "${path}"`);
  if (at < 0) throw new Error(`no write_files entry for ${path}`);
  const m = /content: (\S+)/.exec(text.slice(at));
  return gunzipSync(Buffer.from(m![1]!, 'base64')).toString('utf8');
};
const feeds = (stack: HeatStack, groupFragment: string): Doc => {
  const g = Object.entries(resources(stack)).find(([id, r]) => r.type === 'OS::Heat::ResourceGroup' && id.includes(groupFragment))!;
  return (g[1].properties!.resource_def as { properties: Doc }).properties;
};
const fails = (f: () => unknown, re: RegExp) => {
  expect(f).toThrow(HotError);
  expect(f).toThrow(re);
};

describe('cloudProvider: parameters', () => {
  it('adds the Keystone URL and the application credential as parameters; the credential is hidden, required and never in the program', () => {
    const { stack, cluster: c } = withCp();
    const t = HotTemplate.fromStack(stack);
    t.hasParameter('os_auth_url', { type: 'string', constraints: [{ allowed_pattern: Match.anyValue() }] });
    t.hasParameter('os_application_credential_id', {
      type: 'string',
      hidden: true,
      default: Match.absent(),
      constraints: [{ length: { min: 1 } }],
    });
    t.hasParameter('os_application_credential_secret', {
      type: 'string',
      hidden: true,
      default: Match.absent(),
      constraints: [{ length: { min: 1 } }],
    });
    expect(c.cloudProvider!.parameters.authUrl.props.value).toBe(AUTH);
    expect(c.cloudProvider!.parameters.applicationCredentialSecret.props.value).toBeUndefined();
    t.templateMatches({
      parameter_groups: Match.arrayWith([
        {
          label: 'OpenStack cloud provider',
          description: Match.anyValue(),
          parameters: ['os_auth_url', 'os_application_credential_id', 'os_application_credential_secret'],
        },
      ]),
    });
  });

  it('without cloudProvider: no such parameter, no cloud.conf, kubelets without --cloud-provider', () => {
    const { stack } = cluster();
    const params = Object.keys((stack.toTemplate() as { parameters: Doc }).parameters);
    expect(params.filter((p) => p.startsWith('os_'))).toEqual([]);
    expect(userData(stack, 'masters-nodes').text).not.toContain('auth-url=');
    expect(userData(stack, 'masters-nodes').text).not.toContain('__OS_');
    expect(userData(stack, 'masters-nodes').text).not.toContain('name: cloud-provider');
    expect(userData(stack, 'workers-default-workers-nodes').text).not.toContain('name: cloud-provider');
  });

  it('the authUrl may be left to the operator (a required parameter)', () => {
    const { stack } = cluster({ cloudProvider: {} });
    HotTemplate.fromStack(stack).hasParameter('os_auth_url', { default: Match.absent() });
  });
});

describe('cloudProvider: bootstrap wiring', () => {
  it('feeds the masters the credential, Keystone URL, floating network and subnet as deploy-time values, hidden where secret', () => {
    const { stack } = withCp();
    const { text, params } = userData(stack, 'masters-nodes');
    expect(params).toMatchObject({
      __OS_APPLICATION_CREDENTIAL_ID__: { get_param: 'os_application_credential_id' },
      __OS_APPLICATION_CREDENTIAL_SECRET__: { get_param: 'os_application_credential_secret' },
      __OS_AUTH_URL__: { get_param: 'os_auth_url' },
      __OS_FLOATING_NETWORK_ID__: { get_param: 'os_floating_network_id' },
      __OS_LB_SUBNET_ID__: { get_param: 'os_lb_subnet_id' },
    });
    for (const line of [
      'auth-url=__OS_AUTH_URL__',
      'application-credential-id=__OS_APPLICATION_CREDENTIAL_ID__',
      'application-credential-secret=__OS_APPLICATION_CREDENTIAL_SECRET__',
      'floating-network-id=__OS_FLOATING_NETWORK_ID__',
      'subnet-id=__OS_LB_SUBNET_ID__',
      'lb-provider=amphora',
      'manage-security-groups=false',
      'create-monitor=true',
    ]) {
      expect(text).toContain(line);
    }
    const member = HotTemplate.fromStack(nested(stack, 'masters-nodes'));
    member.hasParameter('os_application_credential_id', { hidden: true });
    member.hasParameter('os_application_credential_secret', { hidden: true });
    const f = feeds(stack, 'MastersNodes');
    expect(f).toMatchObject({
      os_application_credential_id: { get_param: 'os_application_credential_id' },
      os_application_credential_secret: { get_param: 'os_application_credential_secret' },
      os_auth_url: { get_param: 'os_auth_url' },
      os_floating_network_id: {
        get_attr: [expect.stringMatching(/^ClusterNetworkRouter[0-9A-F]{8}$/), 'external_gateway_info', 'network_id'],
      },
      os_lb_subnet_id: { get_resource: expect.stringMatching(/^ClusterNetworkSubnet/) },
    });
  });

  it('the controller and Cinder CSI carry the cluster name, so their load balancers are named kube_service_<cluster>_...', () => {
    const { stack, cluster: c } = withCp();
    const ccm = writtenFile(
      userData(stack, 'masters-nodes').text,
      '/etc/kubernetes/hotk8s/addons/20-openstack-cloud-controller-manager.yaml',
    );
    expect(ccm).toContain('--cluster-name=$(CLUSTER_NAME)');
    expect(ccm).toMatch(/name: CLUSTER_NAME\s+value: "k8s"/);
    expect(c.cloudProvider!.controllerClusterName).toBe('k8s');
  });

  it('controllerClusterName replaces the name the controller uses', () => {
    const { stack, cluster: c } = withCp({ controllerClusterName: 'prod-eu' });
    expect(
      writtenFile(userData(stack, 'masters-nodes').text, '/etc/kubernetes/hotk8s/addons/20-openstack-cloud-controller-manager.yaml'),
    ).toMatch(/name: CLUSTER_NAME\s+value: "prod-eu"/);
    HotTemplate.fromStack(stack).hasOutput('service_load_balancer_prefix', { value: 'kube_service_prod-eu_' });
    expect(c.cloudProvider!.resolved.controllerClusterName).toBe('prod-eu');
  });

  it('every kubelet runs with --cloud-provider=external (masters and workers)', () => {
    const { stack, cluster: c } = withCp({}, { workerGroups: [{ name: 'a' }, { name: 'b' }] });
    // every group's member template (group b uses group a's: they share one)
    for (const f of ['masters-nodes', ...c.workerGroups.map((g) => g.nodes.nodes.template)]) {
      expect(userData(stack, f).text, typeof f === 'string' ? f : f.node.path).toMatch(/- name: cloud-provider\s+value: "external"/);
    }
  });

  it('workers get no credential and no cloud.conf', () => {
    const { stack } = withCp();
    const { text, params } = userData(stack, 'workers-default-workers-nodes');
    expect(text).not.toContain('__OS_');
    expect(Object.keys(params).filter((k) => k.startsWith('__OS_'))).toEqual([]);
  });

  it('literal floatingNetworkId and subnetId go into cloud.conf at synth, with no deploy-time input', () => {
    const { stack } = withCp({ floatingNetworkId: 'ext-net-uuid', subnetId: 'subnet-uuid', region: 'RegionTwo' });
    const { text, params } = userData(stack, 'masters-nodes');
    expect(text).toContain('floating-network-id=ext-net-uuid');
    expect(text).toContain('subnet-id=subnet-uuid');
    expect(text).toContain('region=RegionTwo');
    expect(params).not.toHaveProperty('__OS_FLOATING_NETWORK_ID__');
    expect(params).not.toHaveProperty('__OS_LB_SUBNET_ID__');
    expect(feeds(stack, 'MastersNodes')).not.toHaveProperty('os_floating_network_id');
  });

  it('monitor, storage class, CA file and volume-AZ settings reach the rendered configuration', () => {
    const { stack, cluster: c } = withCp({
      monitor: { delaySec: 10, timeoutSec: 5, maxRetries: 2 },
      storageClassName: 'fast',
      caFile: '/etc/ssl/cloud-ca.pem',
      ignoreVolumeAz: true,
    });
    const { text } = userData(stack, 'masters-nodes');
    for (const line of [
      'monitor-delay=10s',
      'monitor-timeout=5s',
      'monitor-max-retries=2',
      'ca-file=/etc/ssl/cloud-ca.pem',
      'ignore-volume-az=true',
    ])
      expect(text).toContain(line);
    expect(writtenFile(text, '/etc/kubernetes/hotk8s/addons/30-cinder-csi.yaml')).toContain('name: fast');
    expect(c.cloudProvider!.resolved.storageClassName).toBe('fast');
  });

  it('a disabled monitor is written as such', () => {
    const { text } = userData(withCp({ monitor: { enabled: false } }).stack, 'masters-nodes');
    expect(text).toContain('create-monitor=false');
    expect(text).not.toContain('monitor-delay=');
  });

  it('ovn: the controller asks for ovn with SOURCE_IP_PORT and manages security groups', () => {
    const { stack, cluster: c } = withCp({ octaviaProvider: 'ovn' });
    const { text } = userData(stack, 'masters-nodes');
    expect(text).toContain('lb-provider=ovn');
    expect(text).toContain('lb-method=SOURCE_IP_PORT');
    expect(text).toContain('manage-security-groups=true');
    expect(c.cloudProvider!.manageSecurityGroups).toBe(true);
  });

  it("the provider follows the API load balancer's unless given", () => {
    expect(withCp({}, { loadBalancer: { provider: 'ovn' } }).cluster.cloudProvider!.provider).toBe('ovn');
    expect(withCp({ octaviaProvider: 'amphora' }, { loadBalancer: { provider: 'ovn' } }).cluster.cloudProvider!.provider).toBe('amphora');
    expect(withCp({}, { loadBalancer: false }).cluster.cloudProvider!.provider).toBe('amphora');
  });

  it('amphora with manageSecurityGroups true is allowed', () => {
    expect(userData(withCp({ manageSecurityGroups: true }).stack, 'masters-nodes').text).toContain('manage-security-groups=true');
  });

  it('an existing network needs the floating network id; its subnet is used as given', () => {
    const existing: ClusterProps = {
      existingNetwork: { networkId: 'net', subnetId: 'subnet-uuid', subnetCidr: '192.168.10.0/24' },
      loadBalancer: { vipAddress: '192.168.10.5' },
    };
    fails(() => withCp({}, existing), /cloudProvider.floatingNetworkId is required with existingNetwork/);
    const { stack } = withCp({ floatingNetworkId: 'ext-uuid' }, existing);
    const { text } = userData(stack, 'masters-nodes');
    expect(text).toContain('subnet-id=subnet-uuid');
    expect(text).toContain('floating-network-id=ext-uuid');
    HotTemplate.fromStack(stack).hasResourceProperties('OS::Neutron::SecurityGroupRule', {
      port_range_min: 30000,
      port_range_max: 32767,
      remote_ip_prefix: '192.168.10.0/24',
    });
  });

  it("does not lengthen the critical path (masters read the router's network id, which is ready in seconds)", () => {
    const plain = cluster().stack;
    const { stack } = withCp();
    const a = criticalPath(templates(plain), plain.fileName).totalSec;
    const b = criticalPath(templates(stack), stack.fileName).totalSec;
    expect(b).toBe(a);
  });
});

describe('cloudProvider: security groups and outputs', () => {
  const nodePortRules = (stack: HeatStack) =>
    Object.entries(resources(stack)).filter(
      ([, r]) => r.type === 'OS::Neutron::SecurityGroupRule' && r.properties?.port_range_min === 30000,
    );

  it("amphora: the NodePort range (tcp and udp) is open on the workers to the members' subnet only", () => {
    const rules = nodePortRules(withCp().stack);
    expect(rules.map(([, r]) => r.properties!.protocol).sort()).toEqual(['tcp', 'udp']);
    for (const [, r] of rules) {
      expect(r.properties).toMatchObject({
        direction: 'ingress',
        port_range_max: 32767,
        remote_ip_prefix: '10.0.0.0/24',
        security_group: { get_resource: expect.stringMatching(/SecurityGroupsWorker/) },
      });
    }
    expect(
      Object.values(resources(withCp().stack)).filter(
        (r) => r.type === 'OS::Neutron::SecurityGroup' && String(r.properties?.name).includes('service-lb'),
      ),
    ).toEqual([]);
  });

  it('no rule for the NodePort range without cloudProvider', () => {
    expect(nodePortRules(cluster().stack)).toEqual([]);
  });

  it("ovn with clientCidrs: the members' subnet rules plus a group for the clients, attached to every worker group", () => {
    const { stack } = withCp(
      { octaviaProvider: 'ovn', clientCidrs: ['192.0.2.0/24'] },
      { loadBalancer: { provider: 'ovn' }, workerGroups: [{ name: 'a' }, { name: 'b' }] },
    );
    expect(nodePortRules(stack)).toHaveLength(2);
    const t = HotTemplate.fromStack(stack);
    t.hasParameter('service_lb_client_cidrs', { type: 'comma_delimited_list' });
    const [sgId, sg] = Object.entries(resources(stack)).find(([id]) => id.includes('ServiceLbClients'))!;
    const repeatOf = (protocol: string) => ({
      repeat: {
        for_each: { '<%cidr%>': { get_param: 'service_lb_client_cidrs' } },
        template: {
          direction: 'ingress',
          ethertype: 'IPv4',
          protocol,
          port_range_min: 30000,
          port_range_max: 32767,
          remote_ip_prefix: '<%cidr%>',
        },
      },
    });
    expect(sg.properties).toEqual({
      name: 'k8s-service-lb-clients',
      description: expect.stringContaining('NodePorts (tcp)'),
      rules: { list_concat: [repeatOf('tcp'), repeatOf('udp')] },
    });
    for (const g of ['WorkersaWorkersPorts', 'WorkersbWorkersPorts'])
      expect(feeds(stack, g).security_groups).toContainEqual({ get_resource: sgId });
    expect(feeds(stack, 'MastersPorts').security_groups).not.toContainEqual({ get_resource: sgId });
  });

  it('ovn without clientCidrs adds no client group (the controller makes per-Service rules)', () => {
    const { stack } = withCp({ octaviaProvider: 'ovn' });
    expect(Object.keys(resources(stack)).filter((id) => id.includes('ServiceLbClients'))).toEqual([]);
    expect(Object.keys((stack.toTemplate() as { parameters: Doc }).parameters)).not.toContain('service_lb_client_cidrs');
  });

  it("outputs the controller's load balancer name prefix and the teardown commands", () => {
    const t = HotTemplate.fromStack(withCp().stack);
    t.hasOutput('service_load_balancer_prefix', { value: 'kube_service_k8s_' });
    t.hasOutput('service_load_balancer_teardown', { value: Match.stringLikeRegexp("awk -v prefix='kube_service_k8s_'") });
  });

  it('the teardown output skips security groups when the controller does not manage them', () => {
    const amphora = HotTemplate.fromStack(withCp().stack).document.outputs as Record<string, { value: string }>;
    expect(amphora.service_load_balancer_teardown!.value).not.toContain('openstack security group');
    const ovn = HotTemplate.fromStack(withCp({ octaviaProvider: 'ovn' }).stack).document.outputs as Record<string, { value: string }>;
    expect(ovn.service_load_balancer_teardown!.value).toContain('openstack security group delete');
  });

  it("keeps every existing resource: the cluster with cloudProvider only adds rules and changes the masters' and workers' inputs", () => {
    const before = resources(cluster().stack);
    const after = resources(withCp().stack);
    const changed = Object.keys(before).filter((id) => JSON.stringify(before[id]) !== JSON.stringify(after[id]));
    expect(Object.keys(before).every((id) => id in after)).toBe(true);
    expect(
      changed.every((id) => /MastersNodesGroup|WorkersdefaultWorkersNodesGroup/.test(id)),
      changed.join(', '),
    ).toBe(true);
    expect(
      Object.keys(after)
        .filter((id) => !(id in before))
        .sort(),
    ).toEqual([
      expect.stringMatching(/^ClusterSecurityGroupsworkernodeportstcpfromlbsubnet/),
      expect.stringMatching(/^ClusterSecurityGroupsworkernodeportsudpfromlbsubnet/),
    ]);
  });
});

describe('cloudProvider: validation', () => {
  it('fails when ovn is asked not to manage security groups', () =>
    fails(
      () => withCp({ octaviaProvider: 'ovn', manageSecurityGroups: false }),
      /manageSecurityGroups must be true with the ovn provider.*got false/,
    ));
  it('fails when clientCidrs are given with amphora', () =>
    fails(
      () => withCp({ clientCidrs: ['192.0.2.0/24'] }),
      /clientCidrs applies to the ovn provider.*got \["192.0.2.0\/24"\] with amphora/,
    ));
  it('fails when clientCidrs is empty', () =>
    fails(() => withCp({ octaviaProvider: 'ovn', clientCidrs: [] }), /clientCidrs must list at least one CIDR, or be left out; got \[\]/));
  it('fails when a client CIDR is malformed', () =>
    fails(
      () => withCp({ octaviaProvider: 'ovn', clientCidrs: ['192.0.2.0/33'] }),
      /clientCidrs entries must be an IPv4 CIDR like 10.0.0.0\/24; got "192.0.2.0\/33"/,
    ));
  it('fails when the provider is unknown', () =>
    fails(() => withCp({ octaviaProvider: 'f5' as never }), /cloudProvider.octaviaProvider must be one of "amphora", "ovn"; got "f5"/));
  it('fails when authUrl is not a URL', () =>
    fails(() => withCp({ authUrl: 'keystone:5000' }), /authUrl must be an http\(s\) URL of Keystone.*got "keystone:5000"/));
  it('fails when the monitor timeout exceeds its delay (with the construct path)', () =>
    fails(
      () => withCp({ monitor: { delaySec: 2, timeoutSec: 3 } }),
      /test\/Cluster\/CloudProvider.*monitor.timeoutSec \(3\) must not exceed delaySec \(2\)/,
    ));
  it('fails when a monitor value is not a positive integer', () =>
    fails(() => withCp({ monitor: { maxRetries: 0 } }), /cloudProvider.monitor.maxRetries must be a positive integer; got 0/));
  it('fails when the storage class is not a DNS label', () =>
    fails(() => withCp({ storageClassName: 'Fast_SSD' }), /storageClassName must be a DNS label; got "Fast_SSD"/));
  it('fails when the controller cluster name has other characters', () =>
    fails(
      () => withCp({ controllerClusterName: 'my cluster' }),
      /controllerClusterName must be letters, digits, '.', '_' or '-'; got "my cluster"/,
    ));
  it('fails when a literal subnet id spans lines', () =>
    fails(() => withCp({ subnetId: 'a\nb' }), /cloudProvider.subnetId must be one line/));
  it('fails when cloudProvider is not an object', () =>
    fails(
      () => cluster({ cloudProvider: 'yes' as never }),
      /cloudProvider must be an object \{ authUrl\?, region\?, octaviaProvider\?, .* \}; got "yes"/,
    ));
});
