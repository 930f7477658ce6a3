/**
 * Self-healing against a fake Kubernetes API and a fake Heat/Nova (test/lib/autoscaling.ts), with the shipped agent:
 * a node NotReady (or whose server is gone or in ERROR) past the grace period is replaced through Heat (named in the
 * removal list, count kept), one at a time, never beyond maxUnhealthy, never twice; masters are never touched; every
 * action is an Event and a log line; Node objects of removed members are deleted, nodes get their provider id.
 */
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { AUTOSCALER_AGENT } from '../../src/autoscaling/agent.generated.js';
import { FakeKube, FakeOpenStack, startAgent, until, type RunningAgent } from '../lib/autoscaling.js';

let os: FakeOpenStack;
let kube: FakeKube;
let agent: RunningAgent;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function setUp(size: number, maxUnhealthy = '40%'): Promise<void> {
  os = await new FakeOpenStack({ default: { size, min: 1, max: 10 }, gpu: { size: 1, heal: false } }).start();
  os.heal = { notReadySec: 2, maxUnhealthy, intervalSec: 1 };
  kube = await new FakeKube().start();
  for (const n of [...os.names('default'), ...os.names('gpu'), 'demo-master-0'])
    kube.setNode(n, { providerID: `openstack:///${os.serverOf(n) ?? 'm0'}` });
  agent = await startAgent(os, kube, { grpc: false, heal: true });
  await agent.waitFor(/holds the lease/);
}

afterEach(async () => {
  await agent.stop();
  await os.stop();
  await kube.stop();
});

const removals = (): string[][] => os.patches().map((p) => (p.body.parameters.workers_default_remove ?? '').split(','));

describe('self-healing (fake Kubernetes API, fake Heat)', () => {
  it('replaces a NotReady node after the grace period, keeping the count; deletes its Node object afterwards', async () => {
    await setUp(3);
    kube.setNode('demo-default-1', { ready: 'False', since: Date.now() });
    kube.setNode('demo-master-0', { ready: 'Unknown', since: Date.now() - 3600_000 }); // never a master
    await sleep(1200);
    expect(os.patches()).toHaveLength(0); // still within its grace period
    await until(() => os.patches().length === 1, 8000, 'the repair');
    expect(os.patches()[0]!.body.parameters).toEqual({ workers_default_count: '3', workers_default_remove: 'demo-default-1' });
    expect(kube.nodes.get('demo-default-1')!.spec.unschedulable).toBe(true); // cordoned first
    const repair = kube.events.find((e) => e.reason === 'NodeRepair')!;
    expect(repair).toMatchObject({ type: 'Warning', involvedObject: { kind: 'Node', name: 'demo-default-1' } });
    expect(repair.message).toMatch(
      /replacing demo-default-1 of worker group default \(Ready is False since .*\): removed from the stack, count kept/,
    );
    await agent.waitFor(/warning NodeRepair Node\/demo-default-1: replacing demo-default-1/);
    await until(() => os.status === 'UPDATE_COMPLETE');
    expect(os.names('default')).toEqual(['demo-default-0', 'demo-default-2', 'demo-default-3']);
    await until(() => !kube.nodes.has('demo-default-1'), 5000, 'the Node object of the removed member to go');
    await agent.waitFor(/NodeDeleted: deleted Node demo-default-1/);
    await sleep(1500);
    expect(os.patches()).toHaveLength(1);
    expect(kube.nodes.get('demo-master-0')).toBeDefined();
  });

  it('replaces a node whose server is in ERROR or gone, after the grace period', async () => {
    await setUp(5); // two unhealthy of five: within 40%
    os.serverStatus.set(os.serverOf('demo-default-2')!, 'ERROR');
    os.gone.add(os.serverOf('demo-default-3')!);
    await until(() => os.patches().length === 1, 8000, 'the first repair');
    expect(os.patches()[0]!.body.parameters.workers_default_remove).toMatch(/^demo-default-[23]$/);
    await until(() => os.patches().length === 2, 8000, 'the second repair, after the first update');
    expect(removals()[1]!.sort()).toEqual(['demo-default-2', 'demo-default-3']);
    expect(os.patches()[1]!.at - os.patches()[0]!.at).toBeGreaterThanOrEqual(os.updateMs);
    expect(kube.events.filter((e) => e.reason === 'NodeRepair').map((e) => e.message)).toEqual([
      expect.stringMatching(/is (in ERROR|gone)/),
      expect.stringMatching(/is (in ERROR|gone)/),
    ]);
  });

  it('two at once: beyond maxUnhealthy nothing is replaced (an Event says why); within it, one at a time', async () => {
    await setUp(5, '1'); // at most one unhealthy node of five is repaired
    kube.setNode('demo-default-1', { ready: 'False', since: Date.now() - 60_000 });
    kube.setNode('demo-default-3', { ready: 'Unknown', since: Date.now() - 60_000 });
    await agent.waitFor(
      /warning RepairPaused: worker group default: 2 unhealthy and 0 being replaced of 5, more than maxUnhealthy 1 allows \(1\)/,
    );
    await sleep(2500);
    expect(os.patches()).toHaveLength(0);
    expect(kube.events.filter((e) => e.reason === 'RepairPaused')).toHaveLength(1); // said once, not every round
    // one comes back: the other is within the limit now
    kube.setNode('demo-default-3', { ready: 'True', since: Date.now() });
    await until(() => os.patches().length === 1, 8000, 'the repair of demo-default-1');
    expect(removals()).toEqual([['demo-default-1']]);
  });

  it('two at once within maxUnhealthy: replaced one after the other, the second only after the first update ended', async () => {
    await setUp(5); // 40% of 5: two
    os.updateMs = 1500;
    kube.setNode('demo-default-0', { ready: 'False', since: Date.now() - 60_000 });
    kube.setNode('demo-default-4', { ready: 'False', since: Date.now() - 30_000 });
    await until(() => os.patches().length === 2, 15_000, 'both repairs');
    expect(removals()).toEqual([['demo-default-0'], ['demo-default-0', 'demo-default-4']]); // the longest unhealthy first
    expect(os.patches()[1]!.at - os.patches()[0]!.at).toBeGreaterThanOrEqual(1500);
  });

  it('does not replace a flapping node twice, nor one whose NotReady spells stay short', async () => {
    await setUp(3);
    os.updateMs = 2000;
    kube.setNode('demo-default-0', { ready: 'False', since: Date.now() - 10_000 });
    await until(() => os.patches().length === 1, 8000, 'the repair');
    // while its replacement runs the old node flaps: Ready, NotReady again, long past the grace period
    kube.setNode('demo-default-0', { ready: 'True', since: Date.now() });
    await sleep(300);
    kube.setNode('demo-default-0', { ready: 'False', since: Date.now() - 60_000 });
    // another node flaps with NotReady spells shorter than the grace period
    const flap = setInterval(() => {
      const n = kube.nodes.get('demo-default-2');
      const ready = n?.status.conditions[0].status === 'True';
      kube.setNode('demo-default-2', { ready: ready ? 'False' : 'True', since: Date.now() });
    }, 700);
    try {
      await until(() => os.status === 'UPDATE_COMPLETE', 8000);
      await sleep(4000);
    } finally {
      clearInterval(flap);
    }
    expect(os.patches()).toHaveLength(1);
    expect(kube.events.filter((e) => e.reason === 'NodeRepair').map((e) => e.involvedObject.name)).toEqual(['demo-default-0']);
  });

  it('skips its rounds while its own update runs: no read of the output (heat-engine resolves it) until the update ended', async () => {
    await setUp(3);
    os.updateMs = 2500; // two or three rounds (intervalSec 1) fall in the update
    const output = (r: { path: string }): boolean => r.path.endsWith('/outputs/hotk8s_autoscaling');
    kube.setNode('demo-default-1', { ready: 'False', since: Date.now() - 60_000 });
    await until(() => os.patches().length === 1, 8000, 'the repair');
    const patchAt = os.patches()[0]!.at;
    await agent.waitFor(/StackUpdateComplete/);
    const during = os.requests.filter((r) => r.at > patchAt && r.at < patchAt + os.updateMs);
    expect(during.filter((r) => r.path.endsWith('?resolve_outputs=false')).length).toBeGreaterThanOrEqual(3); // its polls
    expect(during.filter(output)).toEqual([]);
    await until(() => !kube.nodes.has('demo-default-1'), 5000, 'the round after the update'); // upkeep resumed
  });

  it('does not act again on a member whose replacement failed: the name stays listed, the count unchanged', async () => {
    await setUp(5); // room for two unhealthy members, so only the removal list keeps it from a second repair
    os.failNext = 'Resource UPDATE failed: Forbidden: quota';
    os.failUntouched = true; // Heat failed before the group removed anything: the member and its NotReady node stay
    kube.setNode('demo-default-1', { ready: 'False', since: Date.now() - 60_000 });
    await until(() => os.patches().length === 1, 8000, 'the repair');
    await agent.waitFor(/StackUpdateFailed/);
    await sleep(3500); // several rounds with the member still NotReady
    expect(os.patches()).toHaveLength(1);
    expect(os.params).toMatchObject({ workers_default_count: '5', workers_default_remove: 'demo-default-1' });
    expect(kube.events.filter((e) => e.reason === 'NodeRepair')).toHaveLength(1);
  });

  it('leaves groups that opted out, and nodes annotated hotk8s.io/auto-repair=false, alone', async () => {
    await setUp(3);
    kube.setNode('demo-gpu-0', { ready: 'False', since: Date.now() - 60_000 });
    kube.setNode('demo-default-2', { ready: 'False', since: Date.now() - 60_000, annotations: { 'hotk8s.io/auto-repair': 'false' } });
    await sleep(3000);
    expect(os.patches()).toHaveLength(0);
  });

  it('sets provider ids when no cloud-controller-manager does, and only on nodes without one', async () => {
    os = await new FakeOpenStack({ default: { size: 2 } }).start();
    os.providerIds = true;
    kube = await new FakeKube().start();
    kube.setNode('demo-default-0');
    kube.setNode('demo-default-1', { providerID: 'openstack:///already-set' });
    agent = await startAgent(os, kube, { grpc: false });
    await until(() => kube.nodes.get('demo-default-0')!.spec.providerID === `openstack:///${os.serverOf('demo-default-0')}`, 5000);
    expect(kube.nodes.get('demo-default-1')!.spec.providerID).toBe('openstack:///already-set');
    expect(kube.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith('demo-default-1'))).toHaveLength(0);
  });

  it('acts only while it holds the lease: a second agent repairs nothing', async () => {
    await setUp(3);
    const second = await startAgent(os, kube, { grpc: false, heal: true, name: 'agent-1' });
    try {
      await second.waitFor(/agent-1 does not hold the lease/);
      kube.setNode('demo-default-1', { ready: 'False', since: Date.now() - 60_000 });
      await until(() => os.patches().length === 1, 8000);
      await sleep(2500);
      expect(os.patches()).toHaveLength(1);
      expect(second.lines.join('\n')).not.toMatch(/NodeRepair/);
    } finally {
      await second.stop();
    }
  });
});

describe('the loader (what the masters carry) runs the program the stack holds', () => {
  it('starts the agent from the resource AutoscalerProgram, and the agent exits when the stack holds another one', async () => {
    os = await new FakeOpenStack({ default: { size: 2 } }).start();
    kube = await new FakeKube().start();
    agent = await startAgent(os, kube, { viaLoader: true, env: { HOTK8S_PROGRAM_CHECK_MS: '300' } });
    await agent.waitFor(/agent-0 holds the lease/);
    expect(os.requests.filter((r) => r.path.endsWith('/resources/AutoscalerProgram')).length).toBeGreaterThanOrEqual(1);
    await sleep(700);
    expect(agent.exitCode).toBeUndefined(); // the same program: it keeps running
    // a stack update brought a new agent program: the running one ends, its container's restart loads the new one
    os.program = gzipSync(`${AUTOSCALER_AGENT}\n// next release\n`, { level: 9 }).toString('base64');
    await agent.waitFor(/the stack holds a new agent program \(sha256 [0-9a-f]{12}\); restarting/);
    await until(() => agent.exitCode === 0, 5000, 'the agent to exit');
  });
});
