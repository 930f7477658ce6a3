/**
 * The externalgrpc provider against its protocol: a gRPC client built by @grpc/grpc-js from the same
 * src/autoscaling/externalgrpc.proto calls every method the cluster-autoscaler uses, with the payloads it sends, against
 * the shipped agent (the bundled program, in a child process) and a fake Heat/Keystone/Nova and Kubernetes API.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeKube, FakeOpenStack, startAgent, until, type RunningAgent } from '../lib/autoscaling.js';

const PROTO = fileURLToPath(new URL('../../src/autoscaling/externalgrpc.proto', import.meta.url));
const definition = protoLoader.loadSync(PROTO, { keepCase: true, longs: Number, enums: String, defaults: false });
const pkg = grpc.loadPackageDefinition(definition) as any;
const CloudProvider = pkg.clusterautoscaler.cloudprovider.v1.externalgrpc.CloudProvider;
const Node = protobuf.loadSync(PROTO).lookupType('clusterautoscaler.cloudprovider.v1.externalgrpc.Node');

type Client = Record<string, (req: unknown, cb: (e: grpc.ServiceError | null, r: any) => void) => void>;
const call = (c: Client, method: string, req: unknown = {}): Promise<any> =>
  new Promise((resolve, reject) => c[method]!(req, (e, r) => (e ? reject(e) : resolve(r))));

let os: FakeOpenStack;
let kube: FakeKube;
let agent: RunningAgent;
let client: Client;

beforeEach(async () => {
  os = await new FakeOpenStack({
    default: { size: 3, min: 1, max: 5 },
    gpu: { size: 0, min: 0, max: 2, taints: [{ key: 'nvidia.com/gpu', value: 'present', effect: 'NoSchedule' }] },
    fixed: { size: 1, autoscale: false },
  }).start();
  os.params.workers_gpu_flavor = 'g1.large';
  os.params.workers_default_remove = 'demo-default-77'; // a user's own entry: it must survive
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

describe('externalgrpc provider (the shipped agent, a grpc-js client from our .proto)', () => {
  it('lists the autoscaled groups with their parameter ranges, and finds a node by provider id or name', async () => {
    expect((await call(client, 'NodeGroups')).nodeGroups).toEqual([
      { id: 'default', minSize: 1, maxSize: 5, debug: expect.stringContaining('workers_default_count') },
      { id: 'gpu', maxSize: 2, debug: expect.any(String) },
    ]);
    const [s0, s1] = [os.serverOf('demo-default-0'), os.serverOf('demo-default-1')];
    // what the autoscaler sends: provider id, name, labels and annotations of a registered node
    const byId = await call(client, 'NodeGroupForNode', {
      node: {
        providerID: `openstack:///${s1}`,
        name: 'anything',
        labels: { 'kubernetes.io/os': 'linux' },
        annotations: { 'node.alpha.kubernetes.io/ttl': '0' },
      },
    });
    expect(byId.nodeGroup).toMatchObject({ id: 'default', minSize: 1, maxSize: 5 });
    expect((await call(client, 'NodeGroupForNode', { node: { name: 'demo-default-0', providerID: '' } })).nodeGroup.id).toBe('default');
    // masters, a group that opted out, a node of another cluster: not ours (an empty id)
    for (const name of ['demo-master-0', 'demo-fixed-0', 'other-default-0', 'demo-default-9']) {
      expect((await call(client, 'NodeGroupForNode', { node: { name } })).nodeGroup.id ?? '').toBe('');
    }
    expect(s0).toBeTruthy();
  });

  it('reports target sizes and instances (provider ids of the members)', async () => {
    expect((await call(client, 'NodeGroupTargetSize', { id: 'default' })).targetSize).toBe(3);
    expect((await call(client, 'NodeGroupTargetSize', { id: 'gpu' })).targetSize ?? 0).toBe(0);
    const nodes = await call(client, 'NodeGroupNodes', { id: 'default' });
    expect(nodes.instances).toEqual(
      os.names('default').map((n) => ({ id: `openstack:///${os.serverOf(n)}`, status: { instanceState: 'instanceRunning' } })),
    );
    await expect(call(client, 'NodeGroupTargetSize', { id: 'fixed' })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  it('gives a template node for scale-from-zero: the flavor from Nova, the group labels and taints, both encodings', async () => {
    const r = await call(client, 'NodeGroupTemplateNodeInfo', { id: 'gpu' });
    const node = r.nodeInfo;
    expect(node.metadata.labels).toMatchObject({
      'hotk8s.io/worker-group': 'gpu',
      'kubernetes.io/arch': 'amd64',
      'node.kubernetes.io/instance-type': 'g1.large',
    });
    expect(node.spec.taints).toEqual([{ key: 'nvidia.com/gpu', value: 'present', effect: 'NoSchedule' }]);
    expect(node.status.capacity).toEqual({ cpu: { string: '8' }, memory: { string: '32768Mi' }, pods: { string: '110' } });
    expect(node.status.allocatable.memory).toEqual({ string: '32668Mi' });
    expect(node.status.conditions).toEqual([{ type: 'Ready', status: 'True' }]);
    // the 1.34+ field: the same Node as bytes
    expect(Node.toObject(Node.decode(r.nodeBytes))).toEqual(Node.toObject(Node.fromObject(node)));
    expect(os.requests.filter((q) => q.path === '/nova/v2.1/flavors/detail')).toHaveLength(1);
    await call(client, 'NodeGroupTemplateNodeInfo', { id: 'gpu' });
    expect(os.requests.filter((q) => q.path === '/nova/v2.1/flavors/detail')).toHaveLength(1); // cached by flavor
  });

  it('returns the options the autoscaler sent (legacy and current duration fields), answers the small calls', async () => {
    const defaults = {
      scaleDownUtilizationThreshold: 0.5,
      scaleDownGpuUtilizationThreshold: 0.5,
      scaleDownUnneededTime: { duration: 600e9 },
      scaleDownUnreadyTime: { duration: 1200e9 },
      maxNodeProvisionTime: { duration: 900e9 },
      scaleDownUnneededDuration: { seconds: 600 },
      scaleDownUnreadyDuration: { seconds: 1200 },
      maxNodeProvisionDuration: { seconds: 900 },
      ignoreDaemonSetsUtilization: true,
    };
    const r = await call(client, 'NodeGroupGetOptions', { id: 'default', defaults });
    expect(r.nodeGroupAutoscalingOptions).toEqual(defaults);
    expect(await call(client, 'GPULabel')).toEqual({});
    expect(await call(client, 'GetAvailableGPUTypes')).toEqual({});
    expect(await call(client, 'Cleanup')).toEqual({});
    expect(await call(client, 'Refresh')).toEqual({});
    await expect(call(client, 'PricingNodePrice', { node: { name: 'demo-default-0' } })).rejects.toMatchObject({
      code: grpc.status.UNIMPLEMENTED,
    });
    await expect(call(client, 'PricingPodPrice', {})).rejects.toMatchObject({ code: grpc.status.UNIMPLEMENTED });
  });

  it('scales up with a PATCH that raises only the count, and the new members appear as instances', async () => {
    await call(client, 'NodeGroupIncreaseSize', { id: 'default', delta: 2 });
    expect(os.patches().map((p) => p.body)).toEqual([{ parameters: { workers_default_count: '5' } }]);
    expect((await call(client, 'NodeGroupTargetSize', { id: 'default' })).targetSize).toBe(5);
    await until(() => os.status === 'UPDATE_COMPLETE');
    await agent.waitFor(/StackUpdateComplete/);
    await call(client, 'Refresh');
    expect((await call(client, 'NodeGroupNodes', { id: 'default' })).instances).toHaveLength(5);
    expect(os.params.image).toBe('debian-12');
    // the update is a Kubernetes Event as well as a log line
    expect(kube.events.map((e) => e.reason)).toEqual(expect.arrayContaining(['StackUpdate', 'StackUpdateComplete']));
    await expect(call(client, 'NodeGroupIncreaseSize', { id: 'default', delta: 1 })).rejects.toMatchObject({
      code: grpc.status.FAILED_PRECONDITION,
      details: expect.stringMatching(/exceeds its maximum 5/),
    });
  });

  it('deletes the named nodes: their server names join the removal list (the user entry kept), the count drops as much', async () => {
    const victim = 'demo-default-1';
    const id = os.serverOf(victim);
    // as the autoscaler sends them: provider id and name of the drained node, its labels and annotations
    await call(client, 'NodeGroupDeleteNodes', {
      id: 'default',
      nodes: [{ providerID: `openstack:///${id}`, name: victim, labels: { 'hotk8s.io/worker-group': 'default' }, annotations: {} }],
    });
    expect(os.patches().map((p) => p.body.parameters)).toEqual([
      { workers_default_count: '2', workers_default_remove: `demo-default-77,${victim}` },
    ]);
    await until(() => os.status === 'UPDATE_COMPLETE');
    expect(os.names('default')).toEqual(['demo-default-0', 'demo-default-2']);
    await expect(
      call(client, 'NodeGroupDeleteNodes', { id: 'default', nodes: [{ name: 'demo-master-0', providerID: 'openstack:///x' }] }),
    ).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    await call(client, 'NodeGroupDeleteNodes', { id: 'default', nodes: [{ name: 'demo-default-0' }] });
    await until(() => os.status === 'UPDATE_COMPLETE' && os.patches().length === 2);
    await expect(call(client, 'NodeGroupDeleteNodes', { id: 'default', nodes: [{ name: 'demo-default-2' }] })).rejects.toMatchObject({
      code: grpc.status.FAILED_PRECONDITION,
      details: expect.stringMatching(/below its minimum 1/),
    });
  });

  it('lowers a target it raised without touching registered nodes, and refuses when it would', async () => {
    os.updateMs = 500;
    await call(client, 'NodeGroupIncreaseSize', { id: 'default', delta: 2 }); // members 3 and 4, not registered
    await until(() => os.status === 'UPDATE_COMPLETE', 5000);
    for (const n of os.names('default').slice(0, 3)) kube.setNode(n);
    await call(client, 'Refresh');
    await call(client, 'NodeGroupDecreaseTargetSize', { id: 'default', delta: -1 });
    expect(os.patches().at(-1)!.body.parameters.workers_default_count).toBe('4');
    await until(() => os.status === 'UPDATE_COMPLETE', 5000);
    kube.setNode('demo-default-3');
    await call(client, 'Refresh');
    await expect(call(client, 'NodeGroupDecreaseTargetSize', { id: 'default', delta: -1 })).rejects.toMatchObject({
      code: grpc.status.FAILED_PRECONDITION,
      details: expect.stringMatching(/would delete registered nodes \(demo-default-3\)/),
    });
    await expect(call(client, 'NodeGroupDecreaseTargetSize', { id: 'default', delta: 1 })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
  });
});

describe('externalgrpc provider: what the protocol layer refuses', () => {
  let raw: grpc.Client;

  it('answers UNIMPLEMENTED for a method of another service, and never crashes on junk', async () => {
    raw = new grpc.Client(`127.0.0.1:${agent.grpcPort}`, grpc.credentials.createInsecure());
    const unary = (path: string, bytes: Buffer): Promise<Buffer> =>
      new Promise((resolve, reject) =>
        raw.makeUnaryRequest(
          path,
          (b: Buffer) => b,
          (b: Buffer) => b,
          bytes,
          (e, r) => (e ? reject(e) : resolve(r!)),
        ),
      );
    await expect(unary('/other.Service/NodeGroups', Buffer.alloc(0))).rejects.toMatchObject({ code: grpc.status.UNIMPLEMENTED });
    await expect(
      unary('/clusterautoscaler.cloudprovider.v1.externalgrpc.CloudProvider/NodeGroupTargetSize', Buffer.from([0x0a, 0x50, 0x01])),
    ).rejects.toMatchObject({ code: grpc.status.INTERNAL, details: expect.stringMatching(/malformed protobuf/) });
    expect((await call(client, 'NodeGroupTargetSize', { id: 'default' })).targetSize).toBe(3);
    raw.close();
  });
});
