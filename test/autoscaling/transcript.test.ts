/**
 * One story, printed: a scale-up, a scale-down of a named node and a healing replacement, as the agent logs them, with
 * the PATCH bodies Heat received and the members after each update (against the fake Heat API of
 * test/lib/autoscaling.ts; the same story runs on the Heat twin once it is on main).
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, describe, expect, it } from 'vitest';
import { FakeKube, FakeOpenStack, startAgent, until, type RunningAgent } from '../lib/autoscaling.js';

const PROTO = fileURLToPath(new URL('../../src/autoscaling/externalgrpc.proto', import.meta.url));
const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(PROTO, { keepCase: true, longs: Number, enums: String })) as any;
type Client = Record<string, (req: unknown, cb: (e: grpc.ServiceError | null, r: any) => void) => void>;
const call = (c: Client, method: string, req: unknown = {}): Promise<any> =>
  new Promise((resolve, reject) => c[method]!(req, (e, r) => (e ? reject(e) : resolve(r))));

const transcript: string[] = [];
let os: FakeOpenStack;
let kube: FakeKube;
let agent: RunningAgent;
let client: Client;

afterAll(async () => {
  (client as unknown as grpc.Client | undefined)?.close();
  await agent?.stop();
  await os?.stop();
  await kube?.stop();
  console.log(`\n---- transcript (fake Heat API) ----\n${transcript.join('\n')}\n---- end ----`);
});

describe('transcript', () => {
  it('scale up, scale down a named node, heal a NotReady node', async () => {
    os = await new FakeOpenStack({ general: { size: 2, min: 1, max: 6 } }).start();
    os.heal = { notReadySec: 2, maxUnhealthy: '40%', intervalSec: 1 };
    kube = await new FakeKube().start();
    for (const n of os.names('general')) kube.setNode(n, { providerID: `openstack:///${os.serverOf(n)}` });
    agent = await startAgent(os, kube, { heal: true });
    client = new pkg.clusterautoscaler.cloudprovider.v1.externalgrpc.CloudProvider(
      `127.0.0.1:${agent.grpcPort}`,
      grpc.credentials.createInsecure(),
    );
    await agent.waitFor(/holds the lease/);
    const step = async (title: string, action: () => Promise<unknown>, done: () => boolean): Promise<void> => {
      const from = agent.lines.length;
      const patches = os.patches().length;
      transcript.push(`\n# ${title}`, `members before: ${os.names('general').join(' ')}`);
      await action();
      await until(() => os.patches().length > patches && os.status === 'UPDATE_COMPLETE' && done(), 15_000, title);
      await until(() => agent.lines.slice(from).some((l) => /StackUpdateComplete/.test(l)), 5000, 'the log line of the update');
      for (const p of os.patches().slice(patches)) transcript.push(`PATCH ${p.path} ${JSON.stringify(p.body)}`);
      transcript.push(...agent.lines.slice(from).map((l) => `agent: ${l}`), `members after: ${os.names('general').join(' ')}`);
    };

    await step(
      'the autoscaler asks for 2 more nodes (NodeGroupIncreaseSize)',
      () => call(client, 'NodeGroupIncreaseSize', { id: 'general', delta: 2 }),
      () => os.names('general').length === 4,
    );
    for (const n of os.names('general')) if (!kube.nodes.has(n)) kube.setNode(n, { providerID: `openstack:///${os.serverOf(n)}` });

    const victim = 'demo-general-1';
    await step(
      `the autoscaler removes the drained node ${victim} (NodeGroupDeleteNodes)`,
      () =>
        call(client, 'NodeGroupDeleteNodes', {
          id: 'general',
          nodes: [{ name: victim, providerID: kube.nodes.get(victim).spec.providerID }],
        }),
      () => !os.names('general').includes(victim),
    );
    await until(() => !kube.nodes.has(victim), 5000, 'the Node object to go');
    transcript.push(`Node ${victim} deleted from Kubernetes by the agent`);

    const sick = 'demo-general-2';
    kube.setNode(sick, { ready: 'False', since: Date.now() });
    await step(
      `${sick} goes NotReady; after the 2 s grace period the agent replaces it`,
      () => Promise.resolve(),
      () => !os.names('general').includes(sick),
    );
    expect(os.names('general')).toEqual(['demo-general-0', 'demo-general-3', 'demo-general-4']);
    expect(os.patches().map((p) => p.body.parameters)).toEqual([
      { workers_general_count: '4' },
      { workers_general_count: '3', workers_general_remove: victim },
      { workers_general_count: '3', workers_general_remove: `${victim},${sick}` },
    ]);
  });
});
