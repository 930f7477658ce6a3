/**
 * How the agent changes the stack, against a fake Heat API (test/lib/autoscaling.ts): one update at a time, queued
 * changes wait while the stack is *_IN_PROGRESS (the agent's own update or a user's), a user's parameters survive, and a
 * refused or failed update is reported (gRPC error, Event, log line, instance errors for the autoscaler).
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeKube, FakeOpenStack, startAgent, until, type RunningAgent } from '../lib/autoscaling.js';

const PROTO = fileURLToPath(new URL('../../src/autoscaling/externalgrpc.proto', import.meta.url));
const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(PROTO, { keepCase: true, longs: Number, enums: String })) as any;
const CloudProvider = pkg.clusterautoscaler.cloudprovider.v1.externalgrpc.CloudProvider;
type Client = Record<string, (req: unknown, cb: (e: grpc.ServiceError | null, r: any) => void) => void>;
const call = (c: Client, method: string, req: unknown = {}): Promise<any> =>
  new Promise((resolve, reject) => c[method]!(req, (e, r) => (e ? reject(e) : resolve(r))));

let os: FakeOpenStack;
let kube: FakeKube;
let agent: RunningAgent;
let client: Client;

beforeEach(async () => {
  os = await new FakeOpenStack({ default: { size: 3, min: 1, max: 6 }, gpu: { size: 0, max: 2 } }).start();
  kube = await new FakeKube().start();
  agent = await startAgent(os, kube);
  client = new CloudProvider(`127.0.0.1:${agent.grpcPort}`, grpc.credentials.createInsecure()) as Client;
  await agent.waitFor(/holds the lease/);
});

afterEach(async () => {
  (client as unknown as grpc.Client).close();
  await agent.stop();
  await os.stop();
  await kube.stop();
});

/** Every PATCH was sent while no update ran: each after the previous one's update window. */
function assertSerial(): void {
  const patches = os.patches();
  for (let i = 1; i < patches.length; i++) {
    expect(patches[i]!.at - patches[i - 1]!.at, `PATCH ${i} overlapped the update of PATCH ${i - 1}`).toBeGreaterThanOrEqual(os.updateMs);
  }
  expect(os.requests.filter((r) => r.method === 'PATCH').length).toBe(patches.length);
}

describe('stack updates (fake Heat API)', () => {
  it('serializes concurrent requests: one update at a time, later changes coalesced into the next one', async () => {
    // long enough that the calls surely return while the first update still runs, even on a loaded machine
    os.updateMs = 2000;
    const victim = 'demo-default-2';
    // three requests at once: one PATCH carries them all
    await Promise.all([
      call(client, 'NodeGroupIncreaseSize', { id: 'default', delta: 1 }),
      call(client, 'NodeGroupIncreaseSize', { id: 'gpu', delta: 1 }),
      call(client, 'NodeGroupDeleteNodes', { id: 'default', nodes: [{ name: victim, providerID: `openstack:///${os.serverOf(victim)}` }] }),
    ]);
    expect(os.patches()).toHaveLength(1);
    expect(os.status).toBe('UPDATE_IN_PROGRESS');
    // two more while that update runs: they wait for it, then go together in the next PATCH
    await Promise.all([
      call(client, 'NodeGroupIncreaseSize', { id: 'gpu', delta: 1 }),
      call(client, 'NodeGroupDeleteNodes', { id: 'default', nodes: [{ name: 'demo-default-0' }] }),
    ]);
    await until(
      () => os.patches().length === 2 && os.status === 'UPDATE_COMPLETE',
      20_000,
      `two PATCHes; agent log:\n${agent.lines.join('\n')}`,
    );
    await agent.waitFor(/StackUpdateComplete: stack update .*workers_default_remove=demo-default-2,demo-default-0/);
    assertSerial();
    expect(os.patches().map((p) => p.body.parameters)).toEqual([
      { workers_default_count: '3', workers_default_remove: victim, workers_gpu_count: '1' },
      { workers_default_count: '2', workers_default_remove: `${victim},demo-default-0`, workers_gpu_count: '2' },
    ]);
    expect(os.names('default')).toEqual(['demo-default-1', 'demo-default-3']);
  });

  it("waits while a user's update runs, then changes only its own parameters (the user's kept)", async () => {
    os.status = 'UPDATE_IN_PROGRESS'; // an operator's `openstack stack update` is running
    const r = await call(client, 'NodeGroupIncreaseSize', { id: 'default', delta: 2 });
    expect(r).toEqual({}); // queued: the call returns within the autoscaler's timeout
    expect(os.patches()).toHaveLength(0);
    expect((await call(client, 'NodeGroupTargetSize', { id: 'default' })).targetSize).toBe(5);
    await new Promise((res) => setTimeout(res, 500));
    expect(os.patches()).toHaveLength(0);
    // the user's update ends; it changed the flavor and named a worker to remove, by hand
    os.params.workers_default_flavor = 'g1.large';
    os.params.workers_default_remove = 'demo-default-0';
    os.status = 'UPDATE_COMPLETE';
    await until(() => os.patches().length === 1, 5000, 'the queued PATCH');
    expect(os.patches()[0]!.body).toEqual({ parameters: { workers_default_count: '5' } });
    await until(() => os.status === 'UPDATE_COMPLETE');
    expect(os.params.workers_default_flavor).toBe('g1.large');
    expect(agent.lines.join('\n')).toMatch(/StackBusy: stack is UPDATE_IN_PROGRESS: 1 change\(s\) wait for it/);
  });

  it('retries a PATCH that Heat answers 409 (in progress after all) or 503', async () => {
    os.patchAnswers.push(409, 503);
    await call(client, 'NodeGroupIncreaseSize', { id: 'default', delta: 1 });
    await until(() => os.status === 'UPDATE_COMPLETE', 5000);
    expect(os.requests.filter((q) => q.method === 'PATCH')).toHaveLength(3);
    expect(os.params.workers_default_count).toBe('4');
    expect(agent.lines.join('\n')).toMatch(/StackUpdateRetry: stack update workers_default_count=4 not accepted yet: 409/);
  });

  it('reports a refused update to the caller, in an Event and in the log', async () => {
    os.patchAnswers.push(400);
    await expect(call(client, 'NodeGroupIncreaseSize', { id: 'default', delta: 1 })).rejects.toMatchObject({
      code: grpc.status.FAILED_PRECONDITION,
      details: expect.stringMatching(/Heat refused stack update workers_default_count=4: 400 forced answer 400$/),
    });
    expect(os.params.workers_default_count).toBe('3');
    expect(kube.events.find((e) => e.reason === 'StackUpdateRefused')).toMatchObject({
      type: 'Warning',
      involvedObject: { kind: 'ConfigMap', name: 'hotk8s-autoscaler', namespace: 'kube-system' },
    });
  });

  it('reports a failed update: Event, log line, and the new members as instances in error for the autoscaler', async () => {
    os.failNext = 'Resource CREATE failed: Quota exceeded for cores';
    await call(client, 'NodeGroupIncreaseSize', { id: 'default', delta: 2 });
    await agent.waitFor(
      /warning StackUpdateFailed: stack update workers_default_count=5: UPDATE_FAILED: Resource CREATE failed: Quota exceeded/,
    );
    await until(() => kube.events.some((e) => e.reason === 'StackUpdateFailed' && e.type === 'Warning'), 5000, 'the Warning event');
    await call(client, 'Refresh');
    const instances = (await call(client, 'NodeGroupNodes', { id: 'default' })).instances;
    expect(instances.slice(3)).toEqual([
      {
        id: 'hotk8s:///default/3',
        status: {
          instanceState: 'instanceCreating',
          errorInfo: {
            errorCode: 'HEAT_UPDATE_FAILED',
            errorMessage: 'Resource CREATE failed: Quota exceeded for cores',
            instanceErrorClass: 99,
          },
        },
      },
      expect.objectContaining({ id: 'hotk8s:///default/4' }),
    ]);
    // the autoscaler then deletes what it sees in error, by that id: the members go, the count drops
    await call(client, 'NodeGroupDeleteNodes', {
      id: 'default',
      nodes: [
        { name: 'hotk8s:///default/3', providerID: 'hotk8s:///default/3' },
        { name: 'hotk8s:///default/4', providerID: 'hotk8s:///default/4' },
      ],
    });
    await until(() => os.patches().length === 2 && os.status === 'UPDATE_COMPLETE', 5000);
    expect(os.patches()[1]!.body.parameters).toEqual({
      workers_default_count: '3',
      workers_default_remove: 'demo-default-3,demo-default-4',
    });
    expect(os.names('default')).toEqual(['demo-default-0', 'demo-default-1', 'demo-default-2']);
  });

  it('reports the members of a failed update that have a server but no registered Node (a bootstrap that failed) as in error', async () => {
    // on Heat a worker whose bootstrap signalled FAILURE keeps its Nova server: the id alone says nothing of its health
    for (const n of os.names('default')) kube.setNode(n);
    os.failNext = 'WaitConditionFailure: demo-default-3: kubeadm-join: API not reachable';
    os.failWithServers = true;
    await call(client, 'NodeGroupIncreaseSize', { id: 'default', delta: 2 });
    await agent.waitFor(/StackUpdateFailed: stack update workers_default_count=5: UPDATE_FAILED: WaitConditionFailure/);
    await call(client, 'Refresh');
    // demo-default-4 came up and registered; demo-default-3 never did
    kube.setNode('demo-default-4');
    const instances = (await call(client, 'NodeGroupNodes', { id: 'default' })).instances as {
      id: string;
      status: { instanceState: string; errorInfo?: unknown };
    }[];
    const server = (n: string): string => `openstack:///${os.serverOf(n)}`;
    expect(instances.map((i) => i.id)).toEqual(os.names('default').map(server));
    expect(instances.filter((i) => i.status.instanceState !== 'instanceRunning')).toEqual([
      {
        id: server('demo-default-3'),
        status: {
          instanceState: 'instanceCreating',
          errorInfo: {
            errorCode: 'HEAT_UPDATE_FAILED',
            errorMessage: 'WaitConditionFailure: demo-default-3: kubeadm-join: API not reachable',
            instanceErrorClass: 99,
          },
        },
      },
    ]);
    expect(instances.every((i) => i.status.instanceState === 'instanceCreating' || i.status.errorInfo === undefined)).toBe(true);
    // the autoscaler deletes it by that id: exactly that member goes, and the error with it once the update completed
    await call(client, 'NodeGroupDeleteNodes', {
      id: 'default',
      nodes: [{ name: 'demo-default-3', providerID: server('demo-default-3') }],
    });
    await until(() => os.patches().length === 2 && os.status === 'UPDATE_COMPLETE', 5000);
    expect(os.patches()[1]!.body.parameters).toEqual({ workers_default_count: '4', workers_default_remove: 'demo-default-3' });
    await agent.waitFor(/StackUpdateComplete: stack update workers_default_count=4/);
    const after = (await call(client, 'NodeGroupNodes', { id: 'default' })).instances as { status: { instanceState: string } }[];
    expect(after.map((i) => i.status.instanceState)).toEqual(Array(4).fill('instanceRunning'));
  });

  it('refuses changes when another agent holds the lease', async () => {
    const other = await startAgent(os, kube, { name: 'agent-1' });
    const c2 = new CloudProvider(`127.0.0.1:${other.grpcPort}`, grpc.credentials.createInsecure()) as Client;
    try {
      await other.waitFor(/agent-1 does not hold the lease/);
      await expect(call(c2, 'NodeGroupIncreaseSize', { id: 'default', delta: 1 })).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
      expect((await call(c2, 'NodeGroupTargetSize', { id: 'default' })).targetSize).toBe(3); // reading is fine
      expect(os.patches()).toHaveLength(0);
    } finally {
      (c2 as unknown as grpc.Client).close();
      await other.stop();
    }
  });

  it('watches its update by the stack status alone: the output (resolved by heat-engine) is read once it ended', async () => {
    // on the Heat twin each read of the output took 0.3 to 6.5 s of heat-engine while the update ran
    os.updateMs = 1500;
    const output = (r: { path: string }) => r.path.endsWith('/outputs/hotk8s_autoscaling');
    const status = (r: { path: string }) => r.path.endsWith('?resolve_outputs=false');
    const from = os.requests.length;
    await call(client, 'NodeGroupIncreaseSize', { id: 'default', delta: 1 });
    const patchAt = os.patches()[0]!.at;
    await agent.waitFor(/StackUpdateComplete/);
    const during = os.requests.slice(from).filter((r) => r.at > patchAt);
    const done = during.findIndex((r) => status(r) && r.at >= patchAt + os.updateMs);
    expect(during.slice(0, done).filter(status).length).toBeGreaterThanOrEqual(5); // polled every 100 ms
    expect(during.slice(0, done).filter(output)).toEqual([]);
    expect(during.slice(done).filter(output)).toHaveLength(1); // the new members, for the autoscaler's next calls
    expect((await call(client, 'NodeGroupTargetSize', { id: 'default' })).targetSize).toBe(4);
    expect(during.slice(done).filter(output)).toHaveLength(1);
  });
});
