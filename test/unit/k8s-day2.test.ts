/**
 * Day-2 safety in the synthesized template (issue 12): rolling update policies per role, per-role images,
 * the API listener admitting the nodes whatever api_allowed_cidrs says. The behaviour under Heat
 * itself is test/twin/day2.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { HotTemplate } from '../../src/assertions/index.js';
import type { HeatParameter } from '../../src/index.js';
import { cluster, failsWith } from './k8s-helpers.js';

type Doc = Record<string, unknown>;
type Res = { type: string; properties: Record<string, unknown>; update_policy?: Record<string, unknown> };

const resources = (doc: Doc) => doc.resources as Record<string, Res>;
function group(doc: Doc, prefix: string): Res {
  const found = Object.entries(resources(doc)).filter(([id]) => id.startsWith(prefix));
  expect(found, prefix).toHaveLength(1);
  return found[0]![1];
}
const rootDoc = (props: Parameters<typeof cluster>[0] = {}) => {
  const { stack } = cluster(props);
  return HotTemplate.fromStack(stack).document as Doc;
};

describe('rolling update policies', () => {
  it('etcd and masters: one member at a time, never an extra member, the pause a parameter (300 s by default)', () => {
    const doc = rootDoc();
    expect(group(doc, 'ClusterEtcdMembersNodesGroup').update_policy).toEqual({
      rolling_update: { max_batch_size: 1, min_in_service: 0, pause_time: { get_param: 'etcd_update_pause' } },
    });
    expect(group(doc, 'ClusterControlMastersNodesGroup').update_policy).toEqual({
      rolling_update: { max_batch_size: 1, min_in_service: 0, pause_time: { get_param: 'master_update_pause' } },
    });
    const params = doc.parameters as Record<string, { type: string; default: unknown; constraints: unknown[] }>;
    expect(params.etcd_update_pause).toMatchObject({ type: 'number', default: 300, constraints: [{ range: { min: 0, max: 3600 } }] });
    expect(params.master_update_pause).toMatchObject({ type: 'number', default: 300 });
  });

  it('worker groups roll only when they opt in: batches of maxBatchSize with a pause parameter (defaults 1 and 60 s)', () => {
    const doc = rootDoc({
      workerGroups: [
        { name: 'a' },
        { name: 'b', maxSize: 20, rollingUpdate: { maxBatchSize: 4, pauseSeconds: 15 } },
        { name: 'c', rollingUpdate: {} },
      ],
    });
    // without a policy a scale-up creates every new worker at once (Heat batches any change of the members'
    // definition under a rolling policy, and a scale-up changes the port and address maps every member carries)
    expect(group(doc, 'ClusterWorkersaWorkersNodesGroup').update_policy).toBeUndefined();
    expect(group(doc, 'ClusterWorkersbWorkersNodesGroup').update_policy).toEqual({
      rolling_update: { max_batch_size: 4, min_in_service: 0, pause_time: { get_param: 'workers_b_update_pause' } },
    });
    expect(group(doc, 'ClusterWorkerscWorkersNodesGroup').update_policy).toEqual({
      rolling_update: { max_batch_size: 1, min_in_service: 0, pause_time: { get_param: 'workers_c_update_pause' } },
    });
    const params = doc.parameters as Record<string, { default: unknown }>;
    expect(params.workers_a_update_pause).toBeUndefined();
    expect(params.workers_b_update_pause!.default).toBe(15);
    expect(params.workers_c_update_pause!.default).toBe(60);
  });

  it('creation stays parallel: no batch_create; the ports and pool-membership groups and default worker groups have no policy', () => {
    const doc = rootDoc();
    const policies = Object.entries(resources(doc))
      .filter(([, r]) => r.update_policy !== undefined)
      .map(([id]) => id.replace(/[0-9A-F]{8}$/, ''))
      .sort();
    // the default worker group has no rolling policy (opt-in): its scale-ups stay one parallel batch
    expect(policies).toEqual(['ClusterControlMastersNodesGroup', 'ClusterEtcdMembersNodesGroup']);
    expect(JSON.stringify(doc)).not.toContain('batch_create');
  });

  it('refuses a batch larger than the group or a pause outside 0..3600, naming the construct', () => {
    failsWith(
      () => cluster({ workerGroups: [{ name: 'a', maxSize: 5, rollingUpdate: { maxBatchSize: 6 } }] }),
      'test/Cluster/Workers-a',
      /rollingUpdate.maxBatchSize must be a whole number 1..5; got 6/,
    );
    failsWith(
      () => cluster({ workerGroups: [{ name: 'a', rollingUpdate: { pauseSeconds: -1 } }] }),
      'test/Cluster/Workers-a',
      /rollingUpdate.pauseSeconds must be a whole number 0..3600; got -1/,
    );
    failsWith(
      () => cluster({ etcd: { updatePauseSeconds: 4000 } }),
      'test/Cluster',
      /etcd.updatePauseSeconds must be a whole number 0..3600; got 4000/,
    );
  });
});

describe('per-role images', () => {
  const imageOf = (doc: Doc, prefix: string) =>
    (group(doc, prefix).properties.resource_def as { properties: { image: unknown } }).properties.image;

  it('etcd, masters and every worker group take their own image parameter, empty by default, falling back to image', () => {
    const doc = rootDoc({ workerGroups: [{ name: 'a' }, { name: 'b' }] });
    const params = doc.parameters as Record<string, { type: string; default?: unknown }>;
    const conditions = doc.conditions as Record<string, unknown>;
    for (const [prefix, param] of [
      ['ClusterEtcdMembersNodesGroup', 'etcd_image'],
      ['ClusterControlMastersNodesGroup', 'master_image'],
      ['ClusterWorkersaWorkersNodesGroup', 'workers_a_image'],
      ['ClusterWorkersbWorkersNodesGroup', 'workers_b_image'],
    ] as const) {
      expect(params[param], param).toMatchObject({ type: 'string', default: '' });
      const value = imageOf(doc, prefix) as { if: [string, unknown, unknown] };
      expect(value.if.slice(1)).toEqual([{ get_param: param }, { get_param: 'image' }]);
      expect(conditions[value.if[0]]).toEqual({ not: { equals: [{ get_param: param }, ''] } });
    }
    // the shared image stays a required site parameter: existing create commands and environments keep working
    expect(params.image).not.toHaveProperty('default');
  });

  it('props give the per-role values in the environment file, never in the template', () => {
    const { stack, cluster: c } = cluster({ etcd: { image: 'debian-12-etcd' }, masters: { image: 'debian-12-cp' } });
    const doc = HotTemplate.fromStack(stack).document as Doc;
    expect((doc.parameters as Record<string, { default: unknown }>).etcd_image!.default).toBe('');
    const valueOf = (id: string) => (c.node.findChild(id) as HeatParameter).props.value;
    expect(valueOf('EtcdImage')).toBe('debian-12-etcd');
    expect(valueOf('MasterImage')).toBe('debian-12-cp');
  });

  it('refuses an empty role image (it would silently mean the shared image)', () => {
    failsWith(
      () => cluster({ etcd: { image: '' } }),
      'test/Cluster',
      /the image of the etcd members must be a non-empty image name or id; got ""/,
    );
  });
});

describe('the API stays reachable by the nodes (issue 12 item 9)', () => {
  const listener = (doc: Doc) => {
    const found = Object.values(resources(doc)).filter((r) => r.type === 'OS::Octavia::Listener');
    expect(found).toHaveLength(1);
    return found[0]!.properties;
  };

  it('amphora: the listener admits the node subnet beside api_allowed_cidrs (an office range cannot lock the nodes out)', () => {
    const doc = rootDoc({ apiAllowedCidrs: ['198.51.100.0/24'], nodeCidr: '10.20.0.0/24' });
    expect(listener(doc).allowed_cidrs).toEqual({ list_concat_unique: [{ get_param: 'api_allowed_cidrs' }, ['10.20.0.0/24']] });
  });

  it('an existing network: its subnet CIDR is the one admitted', () => {
    const doc = rootDoc({
      apiAllowedCidrs: ['198.51.100.0/24'],
      existingNetwork: { networkId: 'n', subnetId: 's', subnetCidr: '192.168.10.0/24' },
      loadBalancer: { vipAddress: '192.168.10.5' },
    });
    expect(listener(doc).allowed_cidrs).toEqual({ list_concat_unique: [{ get_param: 'api_allowed_cidrs' }, ['192.168.10.0/24']] });
  });

  it("ovn: no listener restriction; the masters' security group admits the node subnet on 6443 beside the client CIDRs", () => {
    const { stack } = cluster({ apiAllowedCidrs: ['198.51.100.0/24'], loadBalancer: { provider: 'ovn' } });
    const doc = HotTemplate.fromStack(stack).document as Doc;
    expect(listener(doc).allowed_cidrs).toBeUndefined();
    const rules = Object.values(resources(doc)).filter(
      (r) =>
        r.type === 'OS::Neutron::SecurityGroupRule' &&
        r.properties.port_range_min === 6443 &&
        r.properties.remote_ip_prefix === '10.0.0.0/24',
    );
    expect(rules).toHaveLength(1);
  });
});
