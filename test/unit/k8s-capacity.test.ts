import { describe, expect, it } from 'vitest';
import { HeatStack, HotError, HotValidationError, type ClusterProps } from '../../src/index.js';
import defaultStack from '../../stacks/default.js';
import { cluster, countAtMax, resourcesAtMax as total, templates } from './k8s-helpers.js';

type Res = { type: string; properties?: Record<string, unknown> };

function validationErrors(f: () => unknown): HotError[] {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(HotValidationError);
    return [...(e as HotValidationError).errors];
  }
  return [];
}

const build = (props: ClusterProps) => cluster(props).stack;

describe('capacity: max_resources_per_stack', () => {
  it('the default cluster holds 143 resources at every maximum (3 etcd, 3 masters, 10 workers)', () => {
    // root 41 + etcd 3x(1+1) + 3x(1+3) + masters 3x(1+1) + 3x(1+3) + api members 3x(1+1) + workers 10x(1+1) + 10x(1+3)
    expect(total(build({}))).toBe(41 + 6 + 12 + 6 + 12 + 6 + 20 + 40);
  });

  it('each extra worker of maxSize adds 6 (member port stack, port, member node stack, server, handle, wait condition)', () => {
    const a = total(build({ workerGroups: [{ name: 'a', maxSize: 10 }] }));
    const b = total(build({ workerGroups: [{ name: 'a', maxSize: 11 }] }));
    expect(b - a).toBe(6);
  });

  it('an etcd data volume adds 2 per member (volume and attachment)', () => {
    expect(total(build({ etcd: { dataVolume: { sizeGiB: 10 } } })) - total(build({}))).toBe(6);
  });

  it('passes at exactly the limit and fails one below it, with the count and the limit in the message', () => {
    const props: ClusterProps = { workerGroups: [{ name: 'big', size: 3, maxSize: 120 }], nodeCidr: '10.0.0.0/22' };
    const n = total(build(props));
    expect(n).toBeGreaterThan(700);
    expect(validationErrors(() => build({ ...props, maxResourcesPerStack: n }).toTemplate())).toEqual([]);
    const errors = validationErrors(() => build({ ...props, maxResourcesPerStack: n - 1 }).toTemplate());
    expect(errors.map((e) => e.message)).toEqual([
      `test/Cluster: at every group's maximum the stack holds ${n} resources (nested ones included), above max_resources_per_stack ${n - 1}: lower maxSize or set maxResourcesPerStack to the cloud's limit`,
    ]);
  });

  it("uses Heat's default of 1000", () => {
    const props: ClusterProps = { workerGroups: [{ name: 'big', size: 3, maxSize: 200 }], nodeCidr: '10.0.0.0/22' };
    const n = total(build({ ...props, maxResourcesPerStack: 1e6 }));
    expect(n).toBeGreaterThan(1000);
    const errors = validationErrors(() => build(props).toTemplate());
    expect(errors.map((e) => e.detail)).toEqual([
      expect.stringMatching(new RegExp(`holds ${n} resources .*above max_resources_per_stack 1000:`)),
    ]);
  });

  it('counts every group of several worker groups', () => {
    const props: ClusterProps = {
      workerGroups: [
        { name: 'a', maxSize: 60 },
        { name: 'b', maxSize: 60 },
        { name: 'c', maxSize: 60 },
      ],
      nodeCidr: '10.0.0.0/22',
    };
    const n = total(build({ ...props, maxResourcesPerStack: 1e6 }));
    // root: 41 - 3 (the default group's ports, nodes and server groups) + 3 x 3
    expect(n).toBe(41 - 3 + 9 + 6 + 12 + 6 + 12 + 6 + 3 * 60 * 6);
    expect(validationErrors(() => build({ ...props, maxResourcesPerStack: n }).toTemplate())).toEqual([]);
    expect(validationErrors(() => build({ ...props, maxResourcesPerStack: n - 1 }).toTemplate())).toHaveLength(1);
  });

  for (const bad of [0, -5, 1.5, '1000']) {
    it(`fails when maxResourcesPerStack is ${JSON.stringify(bad)}`, () => {
      let err: unknown;
      try {
        build({ maxResourcesPerStack: bad as never });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(HotError);
      expect((err as Error).message).toBe(
        typeof bad === 'string'
          ? `test/Cluster: maxResourcesPerStack must be a number; got ${JSON.stringify(bad)}`
          : `test/Cluster: maxResourcesPerStack must be a whole number >= 1; got ${bad}`,
      );
    });
  }
});

describe('capacity: addresses and pod CIDR', () => {
  it('reports every capacity problem at once', () => {
    const errors = validationErrors(() =>
      build({ flannel: { podCidr: '10.244.0.0/21', subnetLength: 24 }, nodeCidr: '10.0.0.0/28' }).toTemplate(),
    );
    expect(errors.map((e) => e.message)).toEqual([
      "test/Cluster: the pod CIDR 10.244.0.0/21 with /24 per node serves 8 nodes; the groups' maxima allow 13 (masters and workers): widen the pod CIDR, lengthen subnetLength or lower maxSize",
      "test/Cluster: the node subnet 10.0.0.0/28 gives 9 addresses; the groups' maxima need 20 (nodes, etcd, load balancer and DHCP ports)",
    ]);
  });

  it('fails when the pod CIDR is too small for the maxima', () => {
    const errors = validationErrors(() =>
      build({ flannel: { podCidr: '10.244.0.0/21', subnetLength: 24 }, workerGroups: [{ name: 'a', maxSize: 6 }] }).toTemplate(),
    );
    expect(errors.map((e) => e.message)).toEqual([
      "test/Cluster: the pod CIDR 10.244.0.0/21 with /24 per node serves 8 nodes; the groups' maxima allow 9 (masters and workers): widen the pod CIDR, lengthen subnetLength or lower maxSize",
    ]);
  });

  it('passes when the pod CIDR serves exactly the maxima', () => {
    expect(
      validationErrors(() =>
        build({ flannel: { podCidr: '10.244.0.0/21', subnetLength: 24 }, workerGroups: [{ name: 'a', maxSize: 5 }] }).toTemplate(),
      ),
    ).toEqual([]);
  });

  it('fails when an existing subnet is too small for the maxima', () => {
    const errors = validationErrors(() =>
      build({
        existingNetwork: { networkId: 'n', subnetId: 's', subnetCidr: '192.168.0.0/28' },
        loadBalancer: { vipAddress: '192.168.0.4' },
      }).toTemplate(),
    );
    expect(errors.map((e) => e.detail)).toEqual([
      "the node subnet 192.168.0.0/28 gives 13 addresses; the groups' maxima need 20 (nodes, etcd, load balancer and DHCP ports)",
    ]);
  });
});

describe('stacks/default', () => {
  const app = defaultStack();
  const stack = app.node.children.find((c): c is HeatStack => c instanceof HeatStack)!;
  const files = templates(stack);
  const root = files.get('default.yaml')!;

  it('pins the logical ids of the root template (a rename makes Heat replace the resource)', () => {
    expect(Object.keys(root.resources as object).sort()).toEqual([
      'ClusterApiLoadBalancerApiF6580C3F',
      'ClusterApiLoadBalancerApiPool29B660C6',
      'ClusterApiLoadBalancerApiPoolHealthMonitorC798A723',
      'ClusterApiLoadBalancerD8DC9706',
      'ClusterApiLoadBalancerFloatingIp85DCFF66',
      'ClusterApiLoadBalancerFloatingIpAssociation9C98AABE',
      'ClusterBootstrapTokenId9DBE9E28',
      'ClusterBootstrapTokenSecret9F6FD9F4',
      'ClusterControlMastersApiPoolMembersGroup1FB6583A',
      'ClusterControlMastersNodesGroupB0A86F7D',
      'ClusterControlMastersPortsGroup7FBECD66',
      'ClusterControlMastersServerGroup70D11782',
      'ClusterEtcdMembersNodesGroupFFD18568',
      'ClusterEtcdMembersPortsGroup675516DA',
      'ClusterEtcdMembersServerGroupBA67168B',
      'ClusterNetworkNet7A0A213C',
      'ClusterNetworkRouter691DDA4F',
      'ClusterNetworkRouterInterfaceFC7FFF5D',
      'ClusterNetworkSubnet2B9B39A1',
      'ClusterSecurityGroupsEtcd3064F782',
      'ClusterSecurityGroupsMaster2A38091D',
      'ClusterSecurityGroupsSsh45707F97',
      'ClusterSecurityGroupsWorker697B5A8D',
      'ClusterSecurityGroupsetcdfrometcdtcp23792380C7BB2774',
      'ClusterSecurityGroupsetcdfrommastertcp237967BB1914',
      'ClusterSecurityGroupsmasterapifromlbsubnet244DC8E2',
      'ClusterSecurityGroupsmasterfrommastericmp72568BAC',
      'ClusterSecurityGroupsmasterfrommastertcp102502636049E',
      'ClusterSecurityGroupsmasterfrommastertcp644383E77028',
      'ClusterSecurityGroupsmasterfrommasterudp8472F8311D90',
      'ClusterSecurityGroupsmasterfromworkericmpE0472DCB',
      'ClusterSecurityGroupsmasterfromworkertcp6443C0DB5E66',
      'ClusterSecurityGroupsmasterfromworkerudp847216A1476A',
      'ClusterSecurityGroupsworkerfrommastericmp70B70A39',
      'ClusterSecurityGroupsworkerfrommastertcp102503DCCF47F',
      'ClusterSecurityGroupsworkerfrommasterudp847278B05D9F',
      'ClusterSecurityGroupsworkerfromworkericmpD5C2CAFE',
      'ClusterSecurityGroupsworkerfromworkerudp847201FB1960',
      'ClusterWorkersdefaultWorkersNodesGroup54E6E5F0',
      'ClusterWorkersdefaultWorkersPortsGroupE23E35DD',
      'ClusterWorkersdefaultWorkersServerGroupD0225202',
    ]);
  });

  it('pins the member template file names and their resources', () => {
    const members = Object.fromEntries(
      [...files].filter(([f]) => f !== 'default.yaml').map(([f, d]) => [f, Object.keys(d.resources as object).sort()]),
    );
    expect(members).toEqual({
      'default.cluster-etcd-members-ports-member.yaml': ['Port'],
      'default.cluster-etcd-members-nodes-member.yaml': ['Server', 'WaitCondition', 'WaitHandle'],
      'default.cluster-control-masters-ports-member.yaml': ['Port'],
      'default.cluster-control-masters-nodes-member.yaml': ['Server', 'WaitCondition', 'WaitHandle'],
      'default.cluster-control-masters-api-pool-members-member.yaml': ['Member'],
      'default.cluster-workers-default-workers-ports-member.yaml': ['Port'],
      'default.cluster-workers-default-workers-nodes-member.yaml': ['Server', 'WaitCondition', 'WaitHandle'],
    });
  });

  it('every server in every template: RAW user-data and a wait condition of its own; no OS::Heat::None', () => {
    let servers = 0;
    for (const [file, doc] of files) {
      const res = Object.values(doc.resources as Record<string, Res>);
      expect(JSON.stringify(doc), file).not.toContain('OS::Heat::None');
      const s = res.filter((r) => r.type === 'OS::Nova::Server');
      servers += s.length;
      for (const r of s) expect(r.properties!.user_data_format, file).toBe('RAW');
      expect(res.filter((r) => r.type === 'OS::Heat::WaitCondition').length, file).toBe(s.length);
      expect(res.filter((r) => r.type === 'OS::Heat::WaitConditionHandle').length, file).toBe(s.length);
    }
    expect(servers).toBe(3);
  });

  it("worker counts are number parameters with a range; the capacity is below Heat's default", () => {
    const params = root.parameters as Record<string, { type: string; constraints?: { range?: { min: number; max: number } }[] }>;
    const counts = Object.entries(params).filter(([n]) => /^workers_.*_count$/.test(n));
    expect(counts.length).toBeGreaterThan(0);
    for (const [n, p] of counts) {
      expect(p.type, n).toBe('number');
      expect(
        p.constraints?.some((c) => c.range && c.range.min >= 0 && c.range.max >= c.range.min),
        n,
      ).toBe(true);
    }
    expect(countAtMax(files, 'default.yaml')).toBeLessThanOrEqual(1000);
  });

  it('reports: 41 root resources, one to three per member, 31 root parameters', () => {
    expect(Object.keys(root.resources as object)).toHaveLength(41);
    // 28, and the etcd client certificate in three parts for the masters' metadata
    expect(Object.keys(root.parameters as object)).toHaveLength(31);
  });
});
