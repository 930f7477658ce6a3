/**
 * Worker groups' `layout`: `split` (the default: a port member, a server member and one member per application pool
 * for each worker) against `compact` (one member per worker holding its port, server, wait condition and pool
 * members). What Heat runs is in test/heat/worker-layout.test.ts (validation) and test/twin/compact-workers.test.ts
 * (create, scale, removal by name).
 */
import { describe, expect, it } from 'vitest';
import { HotValidationError, type ClusterProps, type HeatStack, type WorkerGroupOptions } from '../../src/index.js';
import { criticalPath } from '../../src/k8s/private/critical-path.js';
import { cluster, failsWith, resourcesAtMax as total, templates } from './k8s-helpers.js';

type Doc = Record<string, any>;

const rootResources = (stack: HeatStack) => stack.toTemplate().resources as Record<string, Doc>;
const ids = (stack: HeatStack, prefix: string) =>
  Object.keys(rootResources(stack))
    .filter((id) => id.startsWith(prefix))
    .sort();
const memberOf = (stack: HeatStack, part: string) => stack.nestedStacks().find((s) => s.fileName.includes(part))!;
const withWorkers = (g: Partial<WorkerGroupOptions>, extra: ClusterProps = {}) =>
  cluster({ workerGroups: [{ name: 'general', ...g }], ...extra });

/** Whether one group of `maxSize` fits the default 1000-resource limit (the cluster's own check decides). */
function fits(layout: 'split' | 'compact', maxSize: number): boolean {
  try {
    withWorkers({ layout, size: 3, maxSize }, { nodeCidr: '10.0.0.0/22' }).stack.toTemplate();
    return true;
  } catch (e) {
    expect(e).toBeInstanceOf(HotValidationError);
    expect((e as HotValidationError).errors.map((x) => x.detail)).toEqual([expect.stringMatching(/max_resources_per_stack 1000/)]);
    return false;
  }
}

describe('worker group layout', () => {
  it('split is the default: a ports group and a nodes group per worker group, the member finds its port in a map', () => {
    const { stack, cluster: c } = withWorkers({});
    expect(c.workerGroups[0]!.layout).toBe('split');
    const groups = ids(stack, 'ClusterWorkersgeneral').filter((id) => rootResources(stack)[id]!.type === 'OS::Heat::ResourceGroup');
    expect(groups).toEqual([
      expect.stringMatching(/^ClusterWorkersgeneralWorkersNodesGroup/),
      expect.stringMatching(/^ClusterWorkersgeneralWorkersPortsGroup/),
    ]);
    const member = memberOf(stack, 'workers-general-workers-nodes').toTemplate() as Doc;
    expect(Object.keys(member.parameters)).toEqual(expect.arrayContaining(['port_id_map', 'address_map']));
    expect(Object.values(member.resources as Doc).map((r: Doc) => r.type)).not.toContain('OS::Neutron::Port');
  });

  it('compact: one group; its member holds the port, the server on that port, the handle and the wait condition', () => {
    const { stack, cluster: c } = withWorkers({ layout: 'compact' });
    const g = c.workerGroups[0]!;
    expect(g.layout).toBe('compact');
    expect(g.nodes.ports).toBe(g.nodes.nodes);
    const groups = ids(stack, 'ClusterWorkersgeneral').filter((id) => rootResources(stack)[id]!.type === 'OS::Heat::ResourceGroup');
    expect(groups).toEqual([expect.stringMatching(/^ClusterWorkersgeneralWorkersNodesGroup/)]);
    const member = memberOf(stack, 'workers-general-workers-nodes').toTemplate() as Doc;
    const types = Object.fromEntries(Object.entries(member.resources as Record<string, Doc>).map(([id, r]) => [id, r.type]));
    expect(types).toEqual({
      Port: 'OS::Neutron::Port',
      WaitHandle: 'OS::Heat::WaitConditionHandle',
      Server: 'OS::Nova::Server',
      WaitCondition: 'OS::Heat::WaitCondition',
    });
    expect(member.parameters.port_id_map).toBeUndefined();
    expect(member.parameters.address_map).toBeUndefined();
    const server = member.resources.Server.properties;
    expect(server.networks).toEqual([{ port: { get_resource: 'Port' } }]);
    expect(server.name).toEqual({
      list_join: ['-', [{ get_param: 'name_prefix' }, { str_replace: { template: '%i', params: { '%i': { get_param: 'index' } } } }]],
    });
    // the port keeps its split name and settings: <cluster>-<group>-port-<i>, the workers' security groups
    expect(member.resources.Port.properties).toMatchObject({
      name: {
        list_join: [
          '-',
          [{ get_param: 'name_prefix' }, { str_replace: { template: 'port-%i', params: { '%i': { get_param: 'index' } } } }],
        ],
      },
      network: { get_param: 'network' },
      fixed_ips: [{ subnet: { get_param: 'subnet' } }],
      security_groups: { get_param: 'security_groups' },
    });
    expect(member.outputs.address.value).toEqual({ get_attr: ['Port', 'fixed_ips', 0, 'ip_address'] });
    expect(Object.keys(member.outputs).sort()).toEqual(['address', 'name', 'port_id', 'server_id']);
  });

  it('compact: workers_<g>_remove drives the one group directly (no removed_rsrc_list hop); outputs read the same group', () => {
    const { stack } = withWorkers({ layout: 'compact' });
    const root = stack.toTemplate() as Doc;
    const [nodesId] = ids(stack, 'ClusterWorkersgeneralWorkersNodesGroup');
    const policies = root.resources[nodesId!].properties.removal_policies;
    expect(JSON.stringify(policies)).toContain('"get_param":"workers_general_remove"');
    expect(JSON.stringify(policies)).not.toContain('removed_rsrc_list');
    expect(root.outputs.workers_general_addresses.value).toEqual({ get_attr: [nodesId, 'address'] });
  });

  it('compact: an application pool member sits in the worker member, on its own port address, not in a group of its own', () => {
    const split = withWorkers({});
    split.cluster.exposeNodePort('web', { port: 80, nodePort: 30080 });
    expect(ids(split.stack, 'ClusterWorkersgeneralWorkersAppwebMembersGroup')).toHaveLength(1);

    const { stack, cluster: c } = withWorkers({ layout: 'compact' });
    c.exposeNodePort('web', { port: 80, nodePort: 30080 });
    c.exposeNodePort('mail', { port: 25, nodePort: 30025 });
    expect(ids(stack, 'ClusterWorkersgeneralWorkersApp')).toEqual([]);
    const member = memberOf(stack, 'workers-general-workers-nodes').toTemplate() as Doc;
    const members = Object.entries(member.resources as Record<string, Doc>).filter(([, r]) => r.type === 'OS::Octavia::PoolMember');
    expect(members.map(([id]) => id).sort()).toEqual(['AppmailMembersMember', 'AppwebMembersMember']);
    for (const [, m] of members) {
      expect(m.properties.address).toEqual({ get_attr: ['Port', 'fixed_ips', 0, 'ip_address'] });
      expect(m.properties.subnet).toEqual({ get_param: 'subnet' });
    }
    expect(members.map(([, m]) => m.properties.protocol_port).sort()).toEqual([30025, 30080]);
    expect(Object.keys(member.parameters)).toEqual(expect.arrayContaining(['pool_app_web_members', 'pool_app_mail_members']));
  });

  it('compact costs 5 resources and 1 nested stack per worker instead of 6 and 2; 183 workers fit 1000 resources instead of 152', () => {
    const at = (layout: 'split' | 'compact', maxSize: number) => total(withWorkers({ layout, maxSize }, { nodeCidr: '10.0.0.0/22' }).stack);
    expect(at('split', 11) - at('split', 10)).toBe(6);
    expect(at('compact', 11) - at('compact', 10)).toBe(5);
    // one ResourceGroup less, and the ports members gone
    expect(at('split', 100) - at('compact', 100)).toBe(101);
    expect([fits('split', 152), fits('split', 153)]).toEqual([true, false]);
    expect([fits('compact', 183), fits('compact', 184)]).toEqual([true, false]);
  });

  it('keeps the creation critical path of a cluster without applications; with one, the workers wait for its pool', () => {
    const path = (layout: 'split' | 'compact', app: boolean) => {
      const { stack, cluster: c } = withWorkers({ layout });
      if (app) c.exposeNodePort('web', { port: 80, nodePort: 30080 });
      return criticalPath(templates(stack), stack.fileName);
    };
    const compact = path('compact', false);
    expect(compact.steps.filter((s) => s.type === 'OS::Nova::Server')).toHaveLength(1);
    expect(compact.totalSec).toBe(path('split', false).totalSec);
    // a compact member takes the application's pool id as a property, so Heat creates it once the pool exists:
    // the load balancer, its listener and pool (120 + 10 + 10 s in the model) come before the workers' boot
    expect(path('compact', true).totalSec).toBe(path('split', true).totalSec + 140);
  });

  it('etcd and masters stay split (an etcd member needs every peer address before boot)', () => {
    const { cluster: c } = withWorkers({ layout: 'compact' });
    expect(c.etcd.nodes.layout).toBe('split');
    expect(c.masters.nodes.layout).toBe('split');
  });

  it('rejects an unknown layout', () => {
    failsWith(() => withWorkers({ layout: 'tight' as never }), 'test/Cluster', /layout.*(split|compact)/);
  });
});
