/**
 * The autoscaling agent end to end on the local Heat twin (issue 14): examples/autoscaling is created on the real
 * heat-api and heat-engine, the shipped agent (the bundled program of src/autoscaling/agent.generated.ts, in a child
 * process, as the masters run it) gets a Keystone application credential made with the openstack CLI, talks to the
 * twin's Keystone, Heat and Nova through a recording proxy, and to the fake Kubernetes API of test/lib/autoscaling.ts.
 * A gRPC client built from src/autoscaling/externalgrpc.proto plays the cluster-autoscaler: a scale-up 3 -> 5 of
 * the group `general`, the deletion of one named node, and a NotReady node that the healing loop replaces. Every step
 * is checked against what the fake cloud recorded (summarize()), and the session is written as a transcript
 * (HOTK8S_TRANSCRIPT, default $TMPDIR/hotk8s-autoscaling-twin-transcript.md; docs/autoscaling-twin-transcript.md is one
 * run's).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthesize } from '../../src/index.js';
import { FakeKube, RecordingProxy, startAgent, until, type RunningAgent } from '../lib/autoscaling.js';
import { listPrograms, loadProgram } from '../lib/programs.js';
import { startTwin, summarize, type Twin, type TwinAction } from '../lib/twin.js';

const PROTO = fileURLToPath(new URL('../../src/autoscaling/externalgrpc.proto', import.meta.url));
const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(PROTO, { keepCase: true, longs: Number, enums: String })) as any;
type Client = Record<string, (req: unknown, cb: (e: grpc.ServiceError | null, r: any) => void) => void>;

const work = mkdtempSync(join(tmpdir(), 'hotk8s-twin-autoscaling-'));
const out = join(work, 'out');
const transcriptFile = resolve(process.env.HOTK8S_TRANSCRIPT ?? join(tmpdir(), 'hotk8s-autoscaling-twin-transcript.md'));
const STACK = 'prod';
const GROUP = 'general';
let twin: Twin;
let proxy: RecordingProxy;
let kube: FakeKube;
let agent: RunningAgent;
let client: Client;
let stackId = '';
let t0 = 0;
const started = Date.now();

// ---- the transcript: gRPC calls in, calls to Keystone/Heat/Nova out, the cloud's recorded actions, the agent's log
interface Entry {
  readonly at: number; // ms since the epoch
  readonly text: string;
}
const grpcLog: Entry[] = [];
const notes: Entry[] = [];
let actionsSeen: TwinAction[] = [];

async function call(method: string, req: Record<string, unknown> = {}): Promise<any> {
  const at = Date.now();
  try {
    const r = await new Promise<any>((res, rej) => client[method]!(req, (e, v) => (e ? rej(e) : res(v))));
    grpcLog.push({ at, text: `gRPC ${method} ${JSON.stringify(req)} -> ${JSON.stringify(r)} (${Date.now() - at} ms)` });
    return r;
  } catch (e) {
    const err = e as grpc.ServiceError;
    grpcLog.push({ at, text: `gRPC ${method} ${JSON.stringify(req)} -> error ${grpc.status[err.code]}: ${err.details}` });
    throw e;
  }
}

/** A section of the transcript, with the CPU time heat-all (heat-api and heat-engine) has used so far. */
function note(text: string): void {
  notes.push({ at: Date.now(), text: `${text} [heat-all CPU so far ${twin.engineCpuSeconds().toFixed(1)} s]` });
}

const clock = (ms: number): string => `+${((ms - t0) / 1000).toFixed(1).padStart(6)} s`;

function writeTranscript(): void {
  const entries: (Entry & { kind: string })[] = [
    ...notes.map((e) => ({ ...e, kind: '' })),
    ...grpcLog.map((e) => ({ ...e, kind: 'in ' })),
    ...proxy.calls.map((c) => ({
      at: c.start,
      kind: 'out',
      text: `${c.service} ${c.method} ${c.path.replace(stackId, '<id>')}${c.requestBody && c.method !== 'POST' ? ` ${JSON.stringify(c.requestBody)}` : ''} -> ${c.status} (${c.end - c.start} ms)`,
    })),
    ...actionsSeen.map((a) => ({
      at: a.start * 1000,
      kind: 'cloud',
      text: `${a.action} ${a.type} ${a.name ?? a.physicalId} ${a.path ?? ''}${a.action === 'signal' ? ` ${a.status} ${a.reason}` : ''} (${((a.end - a.start) * 1000).toFixed(0)} ms)`,
    })),
    ...agent.lines.map((l) => {
      const at = Date.parse(l.slice(0, 24));
      return { at: Number.isNaN(at) ? 0 : at, kind: 'agent', text: l.slice(25) };
    }),
  ].sort((x, y) => x.at - y.at);
  // the agent polls the stack while an update runs: repeated identical calls are folded into one line
  const lines: string[] = [];
  let last = '';
  let repeat = 0;
  const flush = (): void => {
    if (repeat > 0) lines.push(`${' '.repeat(16)}(the same call ${repeat} more time${repeat > 1 ? 's' : ''})`);
    repeat = 0;
  };
  for (const e of entries) {
    const key = `${e.kind} ${e.text.replace(/ \(\d+ ms\)$/, '')}`;
    if (key === last && e.kind === 'out') {
      repeat++;
      continue;
    }
    flush();
    last = key;
    lines.push(e.kind ? `${clock(e.at)}  ${e.kind.padEnd(5)} ${e.text}` : `\n## ${e.text}\n`);
  }
  flush();
  writeFileSync(
    transcriptFile,
    [
      '# The autoscaling agent on the local Heat twin: one session',
      '',
      'Written by `test/twin/autoscaling-e2e.test.ts` (`HOTK8S_TRANSCRIPT=<file> npx vitest run --project twin',
      'test/twin/autoscaling-e2e.test.ts`); not edited by hand. Columns: time since the agent started; `in` a call of',
      "the cluster-autoscaler's protocol (a gRPC client built from src/autoscaling/externalgrpc.proto), `out` a call",
      "the agent made to Keystone, Heat or Nova (through a recording proxy), `cloud` an action the twin's fake cloud",
      "recorded (Heat 19's heat-engine creating and deleting servers, ports, pool members; the nodes' signals),",
      "`agent` the agent's own log line (each is also a Kubernetes Event).",
      '',
      '```text',
      ...lines,
      '```',
      '',
    ].join('\n'),
  );
}

// ---- helpers over the twin
const serverPath = (member: string): RegExp => new RegExp(`^${STACK}/ClusterWorkers${GROUP}\\w*/${member}/Server$`);

async function servers(): Promise<Map<string, string>> {
  const { body } = await twin.heat<{ resources: never }>('GET', `/stacks/${STACK}/${stackId}/outputs/hotk8s_autoscaling`);
  const view = (body as unknown as { output: { output_value: { groups: Record<string, { servers: Record<string, string> }> } } }).output
    .output_value;
  return new Map(Object.entries(view.groups[GROUP]!.servers).map(([m, id]) => [`${STACK}-${GROUP}-${m}`, id]));
}

async function stackParams(): Promise<Record<string, string>> {
  const { body } = await twin.heat<{ stack: { parameters: Record<string, string> } }>(
    'GET',
    `/stacks/${STACK}/${stackId}?resolve_outputs=false`,
  );
  return body.stack.parameters;
}

/** Registers every member of the group as a Ready node (what its kubelet does once it joined). */
async function registerNodes(): Promise<void> {
  for (const name of (await servers()).keys()) if (!kube.nodes.has(name)) kube.setNode(name);
}

/** Waits until the agent logged the end of a stack update begun after log line `from`, then for Heat's own state. */
async function updateDone(from: number): Promise<string> {
  const line = await until(
    () => agent.lines.slice(from).some((l) => /StackUpdate(Complete|Failed)/.test(l)),
    150_000,
    'the update to end',
  ).then(() => agent.lines.slice(from).find((l) => /StackUpdate(Complete|Failed)/.test(l))!);
  const state = await twin.waitForStack(STACK, { timeoutSec: 60 });
  expect(state.status).toBe('UPDATE_COMPLETE');
  return line;
}

/**
 * While its update runs the agent polls the stack's status only: the output makes heat-engine resolve every group's
 * members (0.3 to 6.5 s a read here, before the agent did so). Reads of the output in the window: the one after the
 * update ended, and those of the healing rounds (every intervalSec, 30 s in the example).
 */
function expectStatusPolling(fromCall: number): void {
  const calls = proxy.calls.slice(fromCall);
  const patch = calls.find((c) => c.method === 'PATCH')!;
  const doneLine = agent.lines.find((l) => /StackUpdate(Complete|Failed)/.test(l) && Date.parse(l.slice(0, 24)) >= patch.end)!;
  const done = Date.parse(doneLine.slice(0, 24));
  const during = calls.filter((c) => c.start >= patch.end && c.start <= done);
  const outputs = during.filter((c) => c.path.endsWith('/outputs/hotk8s_autoscaling')).length;
  expect(during.filter((c) => c.path.endsWith('?resolve_outputs=false')).length).toBeGreaterThan(outputs);
  expect(outputs).toBeLessThanOrEqual(2 + Math.floor((done - patch.end) / 30_000));
}

const physicalServers = (actions: readonly TwinAction[], action: string): TwinAction[] =>
  actions.filter((a) => a.type === 'OS::Nova::Server' && a.action === action);

beforeAll(async () => {
  const program = listPrograms().find((p) => p.kind === 'examples' && p.name === 'autoscaling')!;
  await synthesize(await loadProgram(program), { outdir: out, stateDir: join(work, 'state') });
  twin = await startTwin();
  // the application credential the agent uses, made as the README says, by the user that creates the stack
  const cred = JSON.parse((await twin.openstack(['application', 'credential', 'create', 'prod-autoscaler', '-f', 'json'])).stdout) as {
    id: string;
    secret: string;
  };
  const created = await twin.createStack({
    outDir: out,
    parameters: {
      [`workers_${GROUP}_count`]: 3,
      autoscaler_application_credential_id: cred.id,
      autoscaler_application_credential_secret: cred.secret,
    },
    timeoutSec: 300,
  });
  expect(created.status).toBe('CREATE_COMPLETE');
  stackId = created.id!;
  console.log(`twin: started in ${twin.startSeconds} s, ${STACK} created in ${created.seconds.toFixed(1)} s`);

  kube = await new FakeKube().start();
  for (const m of [0, 1, 2]) kube.setNode(`${STACK}-master-${m}`);
  kube.setNode(`${STACK}-batch-0`);
  await registerNodes();
  proxy = await new RecordingProxy(twin.env.OS_AUTH_URL!).start();
  actionsSeen = await twin.actions();
  t0 = Date.now();
  note('the agent starts (leader election on the fake Kubernetes API, then the externalgrpc provider)');
  agent = await startAgent({ url: '' }, kube, {
    heal: true,
    env: {
      OS_AUTH_URL: proxy.authUrl,
      OS_APPLICATION_CREDENTIAL_ID: cred.id,
      OS_APPLICATION_CREDENTIAL_SECRET: cred.secret,
      HOTK8S_STACK: `${STACK}/${stackId}`,
      // a cloud's pace rather than the unit tests' 100 ms: the agent polls heat-api while an update runs
      HOTK8S_RETRY_MS: '1000',
      HOTK8S_ACCEPT_WAIT_MS: '10000',
    },
  });
  client = new pkg.clusterautoscaler.cloudprovider.v1.externalgrpc.CloudProvider(
    `127.0.0.1:${agent.grpcPort}`,
    grpc.credentials.createInsecure(),
  ) as Client;
  await agent.waitFor(/holds the lease/);
}, 600_000);

afterAll(async () => {
  try {
    if (twin && proxy && agent) {
      note('end of the session');
      actionsSeen = (await twin.actions()).filter((a) => a.start * 1000 >= t0);
      writeTranscript();
      console.log(`transcript: ${transcriptFile}`);
    }
  } finally {
    (client as unknown as grpc.Client | undefined)?.close();
    await agent?.stop();
    await proxy?.stop();
    await kube?.stop();
    await twin?.stop();
    rmSync(work, { recursive: true, force: true });
    console.log(`autoscaling e2e: ${((Date.now() - started) / 1000).toFixed(1)} s in all`);
  }
});

describe('the autoscaling agent against the real Heat engine (examples/autoscaling on the twin)', () => {
  it("serves the node groups of the created stack and sets the nodes' provider ids from Nova's servers", async () => {
    note("the cluster-autoscaler's first loop: Refresh, NodeGroups, NodeGroupForNode, NodeGroupTargetSize, NodeGroupNodes");
    await call('Refresh');
    const groups = (await call('NodeGroups')).nodeGroups as { id: string; minSize: number; maxSize: number }[];
    expect(groups.map((g) => [g.id, g.minSize ?? 0, g.maxSize]).sort()).toEqual([
      ['batch', 1, 6],
      ['general', 2, 12],
      ['gpu', 0, 4],
    ]);
    const members = await servers();
    expect([...members.keys()]).toEqual(['prod-general-0', 'prod-general-1', 'prod-general-2']);
    // the agent gives nodes the provider id of their server (no cloud-controller-manager in this example)
    await until(() => [...members].every(([n, id]) => kube.nodes.get(n)?.spec.providerID === `openstack:///${id}`), 60_000, 'provider ids');
    for (const [name, id] of members) {
      expect((await call('NodeGroupForNode', { node: { name, providerID: `openstack:///${id}` } })).nodeGroup.id).toBe(GROUP);
    }
    expect((await call('NodeGroupForNode', { node: { name: 'prod-master-0', providerID: '' } })).nodeGroup.id ?? '').toBe('');
    expect((await call('NodeGroupTargetSize', { id: GROUP })).targetSize).toBe(3);
    const instances = (await call('NodeGroupNodes', { id: GROUP })).instances as { id: string; status: { instanceState: string } }[];
    expect(instances.map((i) => [i.id, i.status.instanceState])).toEqual(
      [...members.values()].map((id) => [`openstack:///${id}`, 'instanceRunning']),
    );
    // scale from zero: the gpu group's template node from the twin Nova's flavor
    const info = await call('NodeGroupTemplateNodeInfo', { id: 'gpu' });
    expect(info.nodeInfo ?? info.nodeBytes).toBeTruthy();
  });

  it('scale-up 3 -> 5 (NodeGroupIncreaseSize) is one stack update that creates exactly two workers', async () => {
    const since = await twin.mark();
    const before = await servers();
    const from = agent.lines.length;
    const fromCall = proxy.calls.length;
    note('the cluster-autoscaler asks for 2 more nodes of general (NodeGroupIncreaseSize)');
    await call('NodeGroupIncreaseSize', { id: GROUP, delta: 2 });
    expect((await call('NodeGroupTargetSize', { id: GROUP })).targetSize).toBe(5);
    expect(await updateDone(from)).toMatch(/StackUpdateComplete.*workers_general_count=5/);
    expectStatusPolling(fromCall);
    await call('Refresh');

    const all = await twin.actions();
    const s = summarize(all, { since });
    const created = s.created.filter((p) => /\/Server$/.test(p));
    expect(created).toHaveLength(2);
    expect(created.every((p) => serverPath('[34]').test(p))).toBe(true);
    expect(
      physicalServers(
        all.filter((a) => a.seq > since),
        'delete',
      ),
    ).toEqual([]);
    expect(s.maxOutOfService).toEqual({ etcd: 0, master: 0, worker: 0 });
    const after = await servers();
    expect([...after.keys()]).toEqual(['prod-general-0', 'prod-general-1', 'prod-general-2', 'prod-general-3', 'prod-general-4']);
    for (const [n, id] of before) expect(after.get(n)).toBe(id); // the others keep their servers
    const instances = (await call('NodeGroupNodes', { id: GROUP })).instances as { id: string }[];
    expect(instances.map((i) => i.id)).toEqual([...after.values()].map((id) => `openstack:///${id}`));
    expect((await stackParams())[`workers_${GROUP}_count`]).toBe('5');
    await registerNodes();
  });

  it('scale-down of a named node (NodeGroupDeleteNodes) removes exactly that server', async () => {
    const victim = `${STACK}-${GROUP}-1`;
    const since = await twin.mark();
    const before = await servers();
    const from = agent.lines.length;
    const fromCall = proxy.calls.length;
    note(`the cluster-autoscaler deletes the drained node ${victim} (NodeGroupDeleteNodes)`);
    await call('NodeGroupDeleteNodes', {
      id: GROUP,
      nodes: [{ name: victim, providerID: `openstack:///${before.get(victim)}`, labels: { 'hotk8s.io/worker-group': GROUP } }],
    });
    expect(await updateDone(from)).toMatch(/StackUpdateComplete.*workers_general_count=4 workers_general_remove=prod-general-1/);
    expectStatusPolling(fromCall);

    const all = await twin.actions();
    const s = summarize(all, { since });
    const window = all.filter((a) => a.seq > since);
    expect(physicalServers(window, 'delete').map((a) => a.physicalId)).toEqual([before.get(victim)]);
    expect(physicalServers(window, 'create')).toEqual([]);
    expect(s.removed).toHaveLength(1);
    expect(s.removed[0]).toMatch(serverPath('1'));
    expect(s.maxOutOfService.etcd).toBe(0);
    expect(s.maxOutOfService.master).toBe(0);
    const after = await servers();
    expect([...after.keys()]).toEqual(['prod-general-0', 'prod-general-2', 'prod-general-3', 'prod-general-4']);
    for (const [n, id] of after) expect(before.get(n)).toBe(id);
    const params = await stackParams();
    expect([params[`workers_${GROUP}_count`], params[`workers_${GROUP}_remove`]]).toEqual(['4', victim]);
    expect((await call('NodeGroupTargetSize', { id: GROUP })).targetSize).toBe(4);
    // the agent deletes the Node object of the removed server on its next round (checked in the next test)
  });

  it('healing: a node NotReady beyond notReadySec is replaced, exactly that server, the count kept', async () => {
    const sick = `${STACK}-${GROUP}-3`;
    const since = await twin.mark();
    const before = await servers();
    const from = agent.lines.length;
    const fromCall = proxy.calls.length;
    // NotReady for 6 minutes already (the example's notReadySec is 300): the next healing round acts
    note(`${sick} has been NotReady for 6 minutes (notReadySec 300); the next healing round replaces it`);
    kube.setNode(sick, { ready: 'False', since: Date.now() - 360_000 });
    expect(await updateDone(from)).toMatch(
      /StackUpdateComplete.*workers_general_count=4 workers_general_remove=prod-general-1,prod-general-3/,
    );
    expectStatusPolling(fromCall);
    expect(agent.lines.slice(from).filter((l) => /NodeRepair /.test(l))).toHaveLength(1);
    expect(kube.nodes.get(sick)?.spec.unschedulable ?? !kube.nodes.has(sick)).toBe(true); // cordoned first
    // the round before the repair deleted the Node object of the server removed by the scale-down (no cloud-controller-manager)
    expect(kube.nodes.has(`${STACK}-${GROUP}-1`)).toBe(false);
    expect(agent.lines.some((l) => /NodeDeleted: deleted Node prod-general-1/.test(l))).toBe(true);

    const all = await twin.actions();
    const s = summarize(all, { since });
    const window = all.filter((a) => a.seq > since);
    expect(physicalServers(window, 'delete').map((a) => a.physicalId)).toEqual([before.get(sick)]);
    const created = physicalServers(window, 'create');
    expect(created).toHaveLength(1);
    expect(created[0]!.path).toMatch(serverPath('5'));
    expect(s.maxOutOfService.etcd).toBe(0);
    expect(s.maxOutOfService.master).toBe(0);
    const after = await servers();
    expect([...after.keys()]).toEqual(['prod-general-0', 'prod-general-2', 'prod-general-4', 'prod-general-5']);
    expect(after.get(`${STACK}-${GROUP}-5`)).toBe(created[0]!.physicalId);
    for (const n of ['prod-general-0', 'prod-general-2', 'prod-general-4']) expect(after.get(n)).toBe(before.get(n));
    expect((await stackParams())[`workers_${GROUP}_count`]).toBe('4');
    expect((await call('NodeGroupTargetSize', { id: GROUP })).targetSize).toBe(4);
    // the agent went through its credential's token only: Keystone, then Heat and Nova from that token's catalog
    expect(new Set(proxy.calls.map((c) => c.service))).toEqual(new Set(['identity', 'orchestration', 'compute']));
    expect(proxy.calls.filter((c) => c.method === 'PATCH').map((c) => c.requestBody)).toEqual([
      { parameters: { workers_general_count: '5' } },
      { parameters: { workers_general_count: '4', workers_general_remove: 'prod-general-1' } },
      { parameters: { workers_general_count: '4', workers_general_remove: 'prod-general-1,prod-general-3' } },
    ]);
  });
});
