/**
 * The autoscaling agent's hard cases on the local Heat twin (issue 14), which test/autoscaling covers against a fake
 * Heat API only: the shipped agent (the bundled program of src/autoscaling/agent.generated.ts, in a child process)
 * changes a stack on the twin's real heat-api and heat-engine, with a Keystone application credential, while a gRPC
 * client built from src/autoscaling/externalgrpc.proto plays the cluster-autoscaler and test/lib/autoscaling.ts's fake
 * Kubernetes API holds the nodes.
 *
 * One twin and one small stack (1 etcd, 1 master, no load balancer, the group `general` of 3) for the whole file, the
 * cases in an order that reuses the state each leaves: a request while a user's own `openstack stack update` runs;
 * two concurrent requests (serialized behind the running update, the user's parameter kept); a flapping node (not
 * replaced); two NotReady nodes against maxUnhealthy 1 (paused, then replaced one after the other); a failed update
 * (a worker whose bootstrap signals FAILURE) reported to the autoscaler. Pauses are the agent's test knobs
 * (HOTK8S_RETRY_MS, HOTK8S_ACCEPT_WAIT_MS, HOTK8S_HEAL_INTERVAL_MS).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { App, Cluster, HeatStack, synthesize } from '../../src/index.js';
import { FakeKube, RecordingProxy, startAgent, until, type RunningAgent } from '../lib/autoscaling.js';
import { startTwin, type Twin, type TwinAction } from '../lib/twin.js';

const PROTO = fileURLToPath(new URL('../../src/autoscaling/externalgrpc.proto', import.meta.url));
const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(PROTO, { keepCase: true, longs: Number, enums: String })) as any;
type Client = Record<string, (req: unknown, cb: (e: grpc.ServiceError | null, r: any) => void) => void>;

const STACK = 'prod';
const GROUP = 'general';
const COUNT = `workers_${GROUP}_count`;
const REMOVE = `workers_${GROUP}_remove`;
const USER_CIDR = '192.0.2.0/24';
const NOT_READY_SEC = 60;
const work = mkdtempSync(join(tmpdir(), 'hotk8s-twin-autoscaling-cases-'));
const out = join(work, 'out');
let twin: Twin;
let proxy: RecordingProxy;
let kube: FakeKube;
let agent: RunningAgent;
let client: Client;
let stackId = '';
const started = Date.now();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const call = (method: string, req: Record<string, unknown> = {}): Promise<any> =>
  new Promise((res, rej) => client[method]!(req, (e, v) => (e ? rej(e) : res(v))));

/** The cluster: as small as a cluster with autoscaling and healing gets, so that each stack update is short. */
function program(): App {
  const app = new App();
  const stack = new HeatStack(app, STACK, { description: 'hotk8s: autoscaling cases on the twin' });
  new Cluster(stack, 'Cluster', {
    name: STACK,
    etcd: { size: 1 },
    masters: { count: 1 },
    loadBalancer: false,
    workerGroups: [{ name: GROUP, size: 3, minSize: 1, maxSize: 8 }],
    autoscaling: { authUrl: 'https://keystone.example.org:5000/v3' },
    autoHealing: { notReadySec: NOT_READY_SEC, maxUnhealthy: 1, intervalSec: 10 },
  });
  return app;
}

/** Member name -> server id, from the output the agent reads. */
async function servers(): Promise<Map<string, string | null>> {
  const { body } = await twin.heat('GET', `/stacks/${STACK}/${stackId}/outputs/hotk8s_autoscaling`);
  const view = body.output.output_value as { groups: Record<string, { servers: Record<string, string | null> }> };
  return new Map(Object.entries(view.groups[GROUP]!.servers).map(([m, id]) => [`${STACK}-${GROUP}-${m}`, id]));
}

async function stack(): Promise<{ status: string; params: Record<string, string> }> {
  const { body } = await twin.heat('GET', `/stacks/${STACK}/${stackId}?resolve_outputs=false`);
  return { status: body.stack.stack_status, params: body.stack.parameters };
}

/** Registers every member of the group as a Ready node (what its kubelet does once it joined). */
async function registerNodes(): Promise<void> {
  for (const name of (await servers()).keys()) if (!kube.nodes.has(name)) kube.setNode(name);
}

const patches = (): { start: number; end: number; body: any }[] =>
  proxy.calls.filter((c) => c.method === 'PATCH').map((c) => ({ start: c.start, end: c.end, body: c.requestBody }));

/** The time (ms) of the agent's log line matching `re`, the n-th one from log line `from`. */
function lineAt(re: RegExp, from = 0, n = 0): number {
  const l = agent.lines.slice(from).filter((x) => re.test(x))[n];
  if (!l) throw new Error(`no agent line ${re} (from ${from}, #${n})`);
  return Date.parse(l.slice(0, 24));
}

/** Waits for the n-th agent line matching `re` from log line `from`. */
const waitLine = (re: RegExp, from: number, ms: number, n = 0): Promise<void> =>
  until(() => agent.lines.slice(from).filter((x) => re.test(x)).length > n, ms, `agent line ${re}`);

/** Healing rounds seen since proxy call `from`: each begins with a read of the output. */
const rounds = (from: number): number => proxy.calls.slice(from).filter((c) => c.path.endsWith('/outputs/hotk8s_autoscaling')).length;

/** The agent's node lists so far (one per healing round when no gRPC call asks for nodes). */
const nodeLists = (): number => kube.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/api/v1/nodes')).length;

const serverActions = (all: readonly TwinAction[], since: number, action: string): TwinAction[] =>
  all.filter((a) => a.seq > since && a.type === 'OS::Nova::Server' && a.action === action);

beforeAll(async () => {
  await synthesize(program(), { outdir: out, stateDir: join(work, 'state') });
  twin = await startTwin();
  const cred = JSON.parse((await twin.openstack(['application', 'credential', 'create', 'prod-autoscaler', '-f', 'json'])).stdout) as {
    id: string;
    secret: string;
  };
  const created = await twin.createStack({
    outDir: out,
    parameters: { autoscaler_application_credential_id: cred.id, autoscaler_application_credential_secret: cred.secret },
    timeoutSec: 300,
  });
  expect(created.status).toBe('CREATE_COMPLETE');
  stackId = created.id!;
  console.log(`twin: started in ${twin.startSeconds} s, ${STACK} created in ${created.seconds.toFixed(1)} s`);

  kube = await new FakeKube().start();
  kube.setNode(`${STACK}-master-0`);
  await registerNodes();
  proxy = await new RecordingProxy(twin.env.OS_AUTH_URL!).start();
  agent = await startAgent({ url: '' }, kube, {
    heal: true,
    env: {
      OS_AUTH_URL: proxy.authUrl,
      OS_APPLICATION_CREDENTIAL_ID: cred.id,
      OS_APPLICATION_CREDENTIAL_SECRET: cred.secret,
      HOTK8S_STACK: `${STACK}/${stackId}`,
      // the agent's test knobs: Heat polled every 0.5 s, a call returns after 3 s with its change queued, a healing
      // round every 2 s (synth keeps intervalSec at 10 s or more; the agent skips rounds while its own update runs)
      HOTK8S_RETRY_MS: '500',
      HOTK8S_ACCEPT_WAIT_MS: '3000',
      HOTK8S_HEAL_INTERVAL_MS: '2000',
    },
  });
  client = new pkg.clusterautoscaler.cloudprovider.v1.externalgrpc.CloudProvider(
    `127.0.0.1:${agent.grpcPort}`,
    grpc.credentials.createInsecure(),
  ) as Client;
  await agent.waitFor(/holds the lease/);
  await until(() => rounds(0) > 0, 60_000, 'the first healing round');
}, 400_000);

afterAll(async () => {
  try {
    if (agent && process.env.HOTK8S_AGENT_LOG) console.log(agent.lines.join('\n'));
    // the figure that does not depend on the machine's load: what Heat itself spent
    if (twin) console.log(`heat-all CPU: ${twin.engineCpuSeconds().toFixed(1)} s`);
  } finally {
    (client as unknown as grpc.Client | undefined)?.close();
    await agent?.stop();
    await proxy?.stop();
    await kube?.stop();
    await twin?.stop();
    rmSync(work, { recursive: true, force: true });
    console.log(`autoscaling cases: ${((Date.now() - started) / 1000).toFixed(1)} s in all`);
  }
});

describe('autoscaling and healing cases against the real Heat engine (one stack on the twin)', () => {
  it("a request while a user's own stack update runs waits for it (no PATCH meanwhile), then is applied", async () => {
    const from = agent.lines.length;
    await twin.openstack(['stack', 'update', '--existing', '--parameter', `ssh_allowed_cidrs=${USER_CIDR}`, STACK]);
    // the autoscaler's call returns once the change waited HOTK8S_ACCEPT_WAIT_MS; the target counts it already
    await call('NodeGroupIncreaseSize', { id: GROUP, delta: 1 });
    expect((await call('NodeGroupTargetSize', { id: GROUP })).targetSize).toBe(4);
    await waitLine(/info StackBusy: stack is UPDATE_IN_PROGRESS: 1 change\(s\) wait for it/, from, 10_000);
    await waitLine(/info StackUpdate: stack update workers_general_count=4 \(scale up general by 1\)/, from, 120_000);
    // the user's update had ended when the agent sent its own, and Heat accepted it the first time
    const events = (await twin.heat('GET', `/stacks/${STACK}/${stackId}/events?resource_name=${STACK}&sort_dir=asc`)).body.events as {
      resource_status: string;
      event_time: string;
    }[];
    const t = events.find((e) => e.resource_status === 'UPDATE_COMPLETE')!.event_time;
    const userUpdateEnd = Date.parse(/(Z|[+-]\d\d:\d\d)$/.test(t) ? t : `${t}Z`);
    expect(patches()).toHaveLength(1);
    expect(patches()[0]!.start).toBeGreaterThanOrEqual(userUpdateEnd - 1000); // Heat's event times are whole seconds
    expect(patches()[0]!.body).toEqual({ parameters: { [COUNT]: '4' } });
    expect(agent.lines.slice(from).filter((l) => /StackUpdateRetry|StackUpdateRefused/.test(l))).toEqual([]);
  });

  it("two concurrent requests during the agent's update: one update at a time, the user's parameter kept", async () => {
    const from = agent.lines.length;
    const before = await servers();
    expect([...before.keys()]).toHaveLength(3); // the scale-up to 4 still runs
    const victim = `${STACK}-${GROUP}-1`;
    // the autoscaler's two calls at once, while the previous update runs: one more node, and a drained node deleted
    await Promise.all([
      call('NodeGroupIncreaseSize', { id: GROUP, delta: 1 }),
      call('NodeGroupDeleteNodes', { id: GROUP, nodes: [{ name: victim, providerID: `openstack:///${before.get(victim)}` }] }),
    ]);
    expect((await call('NodeGroupTargetSize', { id: GROUP })).targetSize).toBe(4); // 4 + 1 - 1
    await waitLine(/StackUpdateComplete: stack update workers_general_count=4:/, 0, 120_000);
    await waitLine(/StackUpdateComplete: stack update workers_general_count=4 workers_general_remove=prod-general-1:/, from, 120_000);
    const p = patches();
    expect(p.map((x) => x.body)).toEqual([
      { parameters: { [COUNT]: '4' } },
      { parameters: { [COUNT]: '4', [REMOVE]: victim } }, // both queued changes, computed from Heat's parameters then
    ]);
    // serialized: the second PATCH went after the first update had ended
    expect(p[1]!.start).toBeGreaterThanOrEqual(lineAt(/StackUpdateComplete/, 0, 0));
    const s = await stack();
    expect(s.status).toBe('UPDATE_COMPLETE');
    expect(s.params).toMatchObject({ [COUNT]: '4', [REMOVE]: victim, ssh_allowed_cidrs: USER_CIDR }); // the user's parameter survived
    const after = await servers();
    expect([...after.keys()]).toEqual([`${STACK}-${GROUP}-0`, `${STACK}-${GROUP}-2`, `${STACK}-${GROUP}-3`, `${STACK}-${GROUP}-4`]);
    for (const n of [`${STACK}-${GROUP}-0`, `${STACK}-${GROUP}-2`]) expect(after.get(n)).toBe(before.get(n));
    await registerNodes();
  });

  it('a flapping node (NotReady spells shorter than notReadySec, longer in sum) is not replaced', async () => {
    const from = agent.lines.length;
    const fromCall = proxy.calls.length;
    const flapper = `${STACK}-${GROUP}-2`;
    for (let spell = 0; spell < 2; spell++) {
      // NotReady for 30 s already; back to Ready after the next healing round has seen it: well under 60 s
      kube.setNode(flapper, { ready: 'False', since: Date.now() - 30_000 });
      // a round has seen it when it listed the nodes (after its read of the stack, which heat-engine may take seconds for)
      const mark = nodeLists();
      await until(() => nodeLists() > mark, 20_000, 'a healing round');
      await sleep(200);
      kube.setNode(flapper, { ready: 'True', since: Date.now() });
    }
    await until(() => rounds(fromCall) >= 3, 20_000, 'a round after the flaps');
    expect(patches()).toHaveLength(2);
    expect(agent.lines.slice(from).filter((l) => /NodeRepair/.test(l))).toEqual([]);
  });

  it('two NotReady nodes with maxUnhealthy 1: paused while both are; then replaced one after the other, never both at once', async () => {
    const from = agent.lines.length;
    const since = await twin.mark();
    const before = await servers();
    const [a, b] = [`${STACK}-${GROUP}-2`, `${STACK}-${GROUP}-3`];
    const longAgo = Date.now() - 10 * NOT_READY_SEC * 1000;
    kube.setNode(a, { ready: 'False', since: longAgo });
    kube.setNode(b, { ready: 'Unknown', since: longAgo });
    await waitLine(
      /warning RepairPaused: worker group general: 2 unhealthy and 0 being replaced of 4, more than maxUnhealthy 1 allows \(1\)/,
      from,
      30_000,
    );
    expect(patches()).toHaveLength(2);
    // b comes back: a alone is within the limit and is replaced
    kube.setNode(b, { ready: 'True', since: Date.now() });
    await waitLine(/info StackUpdate: .*\(repair prod-general-2\)/, from, 30_000);
    // b fails again while a's replacement runs: both unhealthy, but b waits for a's update to end
    kube.setNode(b, { ready: 'False', since: longAgo });
    await waitLine(/info StackUpdate: .*\(repair prod-general-3\)/, from, 150_000);
    await waitLine(/StackUpdateComplete: .*workers_general_remove=prod-general-1,prod-general-2,prod-general-3:/, from, 150_000);
    const p = patches().slice(2);
    expect(p.map((x) => x.body)).toEqual([
      { parameters: { [COUNT]: '4', [REMOVE]: `${STACK}-${GROUP}-1,${a}` } },
      { parameters: { [COUNT]: '4', [REMOVE]: `${STACK}-${GROUP}-1,${a},${b}` } },
    ]);
    expect(p[1]!.start).toBeGreaterThanOrEqual(lineAt(/StackUpdateComplete: .*remove=prod-general-1,prod-general-2:/, from));
    expect(
      agent.lines
        .slice(from)
        .filter((l) => /NodeRepair /.test(l))
        .map((l) => / NodeRepair Node\/(\S+):/.exec(l)![1]),
    ).toEqual([a, b]);
    // on the cloud: a's server deleted and its replacement created before b's server was touched
    const all = await twin.actions();
    const deleted = serverActions(all, since, 'delete');
    const created = serverActions(all, since, 'create');
    expect(deleted.map((x) => x.physicalId)).toEqual([before.get(a), before.get(b)]);
    expect(created).toHaveLength(2);
    expect(created[0]!.end).toBeLessThan(deleted[1]!.start);
    expect(deleted[0]!.end).toBeLessThan(deleted[1]!.start);
    const after = await servers();
    expect([...after.keys()]).toEqual([`${STACK}-${GROUP}-0`, `${STACK}-${GROUP}-4`, `${STACK}-${GROUP}-5`, `${STACK}-${GROUP}-6`]);
    expect((await stack()).params[COUNT]).toBe('4');
    await registerNodes();
  });

  it('a failed update (a new worker whose bootstrap signals FAILURE) is reported: Event, and the member in error', async () => {
    const from = agent.lines.length;
    const fresh = `${STACK}-${GROUP}-7`;
    twin.control({ nodes: { [fresh]: { status: 'FAILURE', phase: 'kubeadm-join', reason: 'API not reachable', on: ['create'] } } });
    await call('NodeGroupIncreaseSize', { id: GROUP, delta: 1 });
    await waitLine(/warning StackUpdateFailed: stack update workers_general_count=5: UPDATE_FAILED: .*API not reachable/, from, 150_000);
    await until(() => kube.events.some((e) => e.reason === 'StackUpdateFailed' && e.type === 'Warning'), 10_000, 'the Warning event');
    expect((await stack()).status).toBe('UPDATE_FAILED');
    await call('Refresh');
    const members = await servers();
    expect(members.get(fresh)).toBeTruthy(); // Nova built its server: only its bootstrap failed
    const instances = (await call('NodeGroupNodes', { id: GROUP })).instances as {
      id: string;
      status: { instanceState: string; errorInfo?: { errorCode: string; errorMessage: string; instanceErrorClass: number } };
    }[];
    expect(instances.map((i) => i.id)).toEqual([...members.values()].map((id) => `openstack:///${id}`));
    const failed = instances.filter((i) => i.status.instanceState !== 'instanceRunning');
    expect(failed).toEqual([
      {
        id: `openstack:///${members.get(fresh)}`,
        status: {
          instanceState: 'instanceCreating',
          errorInfo: { errorCode: 'HEAT_UPDATE_FAILED', errorMessage: expect.stringMatching(/API not reachable/), instanceErrorClass: 99 },
        },
      },
    ]);
    expect(instances.filter((i) => i.status.errorInfo)).toHaveLength(1);
  });
});
