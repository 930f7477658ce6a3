/**
 * A worker group with `layout: 'compact'` on the local Heat twin (the real heat-api and heat-engine over a fake cloud,
 * test/lib/twin.md): created with the manifest's createCommand, scaled up by one, and one worker removed by name with
 * `workers_<g>_remove`: exactly that server and its port go, in the one member that held both. Twice: with the default
 * control plane (3 etcd, 3 masters, a load balancer) and with stacks/dev's (1 etcd, 1 master, no load balancer).
 *
 * The second is the case that failed with "ResourcePropertiesData with id 83 not found" (at the removal, once at the
 * scale-up) before the twin's sqlite stopped handing out deleted ids again (never_reuse_ids in
 * test/twin/server/heat_main.py): Heat deleted a member's attribute cache row by an id it still held after that row
 * was gone and the id given to another member's properties.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { App, Cluster, HeatStack, synthesize, type ClusterProps } from '../../src/index.js';
import { stackResources, startTwin, summarize, type Twin, type TwinAction } from '../lib/twin.js';

const pathsOf = (actions: readonly TwinAction[]) => [...new Set(actions.map((a) => a.path))].sort();

const CONTROL_PLANES: ReadonlyArray<{ readonly name: string; readonly stack: string; readonly props: Partial<ClusterProps> }> = [
  { name: 'the default control plane', stack: 'compact', props: {} },
  {
    name: "stacks/dev's control plane (1 etcd, 1 master, no load balancer)",
    stack: 'compactdev',
    props: { etcd: { size: 1 }, masters: { count: 1 }, loadBalancer: false },
  },
];

describe.each(CONTROL_PLANES)('compact worker layout on the twin, $name', ({ stack: STACK, props }) => {
  const work = mkdtempSync(join(tmpdir(), 'hotk8s-twin-compact-'));
  const out = join(work, 'out');
  let twin: Twin;
  let group: string; // the top-level ResourceGroup of the workers
  const log = (what: string, seconds: number) =>
    console.log(`twin: ${STACK}: ${what} in ${seconds.toFixed(1)} s (heat-all CPU so far ${twin.engineCpuSeconds().toFixed(1)} s)`);

  beforeAll(async () => {
    const app = new App();
    const stack = new HeatStack(app, STACK);
    new Cluster(stack, 'Cluster', { name: 'k8s', ...props, workerGroups: [{ name: 'general', size: 3, layout: 'compact' }] });
    await synthesize(app, { outdir: out, stateDir: join(work, 'state') });
    twin = await startTwin();
  });

  afterAll(async () => {
    await twin?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('creates: each worker is one member holding its port, server, handle and wait condition; every worker signals', async () => {
    const state = await twin.createStack({ outDir: out });
    log('create (3 compact workers)', state.seconds);
    expect(state.status, state.reason).toBe('CREATE_COMPLETE');
    const resources = await stackResources(twin, STACK);
    const groups = resources.filter((r) => r.stackName === STACK && r.resource_name.startsWith('ClusterWorkersgeneral'));
    expect(groups.filter((r) => r.resource_type === 'OS::Heat::ResourceGroup')).toHaveLength(1);
    group = groups.find((r) => r.resource_type === 'OS::Heat::ResourceGroup')!.resource_name;
    const actions = await twin.actions();
    const workers = actions.filter((a) => a.type === 'OS::Nova::Server' && a.action === 'create' && a.role === 'worker');
    expect(workers.map((a) => a.name).sort()).toEqual(['k8s-general-0', 'k8s-general-1', 'k8s-general-2']);
    for (const m of ['0', '1', '2']) {
      // the port and the server of member m are in the same member stack, and the server is on that port
      const port = actions.find((a) => a.type === 'OS::Neutron::Port' && a.action === 'create' && a.path === `${STACK}/${group}/${m}/Port`);
      const server = workers.find((a) => a.path === `${STACK}/${group}/${m}/Server`);
      expect(port, `member ${m} port`).toBeDefined();
      expect(server, `member ${m} server`).toBeDefined();
      expect(server!.ports).toEqual([port!.physicalId]);
      const signals = actions.filter((a) => a.action === 'signal' && a.physicalId === server!.physicalId);
      expect(signals.map((s) => [s.status, s.accepted])).toEqual([['SUCCESS', true]]);
    }
    const waits = resources.filter((r) => r.resource_type === 'OS::Heat::WaitCondition' && r.stackName.includes(group));
    expect(waits).toHaveLength(3);
    expect(waits.every((w) => w.resource_status === 'CREATE_COMPLETE')).toBe(true);
  });

  it('scales 3 -> 4: one new member with its port, server, handle user and signal; nothing else touched', async () => {
    const since = await twin.mark();
    const state = await twin.updateStack(STACK, ['--parameter', 'workers_general_count=4']);
    log('update workers 3 -> 4', state.seconds);
    expect(state.status, state.reason).toBe('UPDATE_COMPLETE');
    const window = await twin.actions({ since });
    expect(pathsOf(window)).toEqual([`${STACK}/${group}/3/Port`, `${STACK}/${group}/3/Server`, `${STACK}/${group}/3/WaitHandle`]);
    expect(window.map((a) => `${a.type} ${a.action}`).sort()).toEqual([
      'OS::Keystone::User create',
      'OS::Neutron::Port create',
      'OS::Nova::Server create',
      'OS::Nova::Server signal',
    ]);
    const summary = summarize(await twin.actions(), { since });
    expect([summary.deleted, summary.replaced, summary.updated]).toEqual([[], [], []]);
  });

  it('removes k8s-general-1 by name (count 4 -> 3): exactly that server and its port go', async () => {
    const since = await twin.mark();
    const args = ['--parameter', 'workers_general_count=3', '--parameter', 'workers_general_remove=k8s-general-1'];
    const state = await twin.updateStack(STACK, args);
    log('update removing k8s-general-1', state.seconds);
    expect(state.status, state.reason).toBe('UPDATE_COMPLETE');
    const window = await twin.actions({ since });
    const deleted = window.filter((a) => a.action === 'delete');
    expect(deleted.filter((a) => a.type === 'OS::Nova::Server').map((a) => a.name)).toEqual(['k8s-general-1']);
    expect(pathsOf(deleted.filter((a) => a.type !== 'OS::Keystone::User'))).toEqual([
      `${STACK}/${group}/1/Port`,
      `${STACK}/${group}/1/Server`,
    ]);
    expect(window.filter((a) => a.action === 'create')).toEqual([]);
    const servers = (await twin.nodes()).filter((n) => n.role === 'worker' && n.status !== 'DELETED').map((n) => n.name);
    expect(servers.sort()).toEqual(['k8s-general-0', 'k8s-general-2', 'k8s-general-3']);
    const members = (await stackResources(twin, STACK)).filter((r) => r.stackName.includes(group) && r.resource_name === 'Server');
    expect(members.map((m) => m.parent_resource).sort()).toEqual(['0', '2', '3']);
  });
});
