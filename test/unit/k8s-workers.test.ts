import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { HotTemplate, Match } from '../../src/assertions/index.js';
import { type HeatStack, type WorkerGroupOptions } from '../../src/index.js';
import { cluster, failsWith } from './k8s-helpers.js';

type Doc = Record<string, unknown>;
type Res = { type: string; properties: Record<string, unknown> };

const resources = (doc: Doc) => doc.resources as Record<string, Res>;
const groupOf = (doc: Doc, prefix: string) => Object.entries(resources(doc)).find(([id]) => id.startsWith(prefix));
const member = (stack: HeatStack, part: string) => stack.nestedStacks().find((s) => s.fileName.includes(part))!;
const def = (r: Res) => (r.properties.resource_def as { properties: Record<string, unknown> }).properties;
const withGroup = (g: WorkerGroupOptions) => cluster({ workerGroups: [g] });
const groupPath = (name: string) => `test/Cluster/Workers-${name}`;

function expandedUserData(doc: Doc): string {
  const text = JSON.stringify(doc);
  return [text, ...[...text.matchAll(/H4sI[A-Za-z0-9+/=]+/g)].map((m) => gunzipSync(Buffer.from(m[0], 'base64')).toString('utf8'))].join(
    '\n',
  );
}

describe('WorkerGroup', () => {
  it('default group: 3 workers, count parameter with range 0..10, flavor parameter, the cluster image', () => {
    const { stack, cluster: c } = cluster();
    const g = c.workerGroups[0]!;
    expect([g.name, g.size, g.minSize, g.maxSize]).toEqual(['default', 3, 0, 10]);
    const t = HotTemplate.fromStack(stack);
    t.hasParameter('workers_default_count', { type: 'number', constraints: [Match.objectLike({ range: { min: 0, max: 10 } })] });
    t.hasParameter('workers_default_flavor', { type: 'string', constraints: [{ custom_constraint: 'nova.flavor' }] });
    t.hasParameter('workers_default_image', { type: 'string', default: '' }); // empty: the cluster's image
    const doc = stack.toTemplate();
    for (const part of ['ClusterWorkersdefaultWorkersPortsGroup', 'ClusterWorkersdefaultWorkersNodesGroup']) {
      expect(groupOf(doc, part)![1].properties.count, part).toEqual({ get_param: 'workers_default_count' });
    }
    const nodes = def(groupOf(doc, 'ClusterWorkersdefaultWorkersNodesGroup')![1]);
    expect(nodes).toMatchObject({
      flavor: { get_param: 'workers_default_flavor' },
      image: {
        if: [expect.stringMatching(/^ClusterWorkersdefaultImageGiven/), { get_param: 'workers_default_image' }, { get_param: 'image' }],
      },
      name_prefix: 'k8s-default',
      api_address: '10.0.0.2',
    });
    expect(nodes.availability_zone).toBeUndefined();
    expect(g.countParameter.props.value).toBe(3);
  });

  it('every worker: RAW user-data, IGNORE on user-data change (running workers are kept on update), own TOKEN_SIGNAL wait condition, worker role', () => {
    const { stack, cluster: c } = cluster();
    const t = HotTemplate.fromStack(member(stack, 'workers-default-workers-nodes'));
    t.hasResourceProperties('OS::Nova::Server', {
      user_data_format: 'RAW',
      user_data_update_policy: 'IGNORE',
      metadata: { 'hotk8s-role': 'worker' },
      availability_zone: Match.absent(),
    });
    t.hasResourceProperties('OS::Heat::WaitCondition', {
      handle: { get_resource: 'WaitHandle' },
      count: 1,
      timeout: c.workerGroups[0]!.nodes.waitTimeoutSec,
    });
    t.hasResourceProperties('OS::Heat::WaitConditionHandle', { signal_transport: 'TOKEN_SIGNAL' });
  });

  it('size, minSize and maxSize make the count parameter and its range', () => {
    const { stack, cluster: c } = withGroup({ name: 'big', size: 4, minSize: 2, maxSize: 30 });
    expect(c.workerGroups.map((g) => [g.name, g.size, g.minSize, g.maxSize])).toEqual([['big', 4, 2, 30]]);
    HotTemplate.fromStack(stack).hasParameter('workers_big_count', {
      type: 'number',
      constraints: [Match.objectLike({ range: { min: 2, max: 30 } })],
    });
  });

  it('maxSize defaults to size when size is above 10', () => {
    const { cluster: c } = withGroup({ name: 'big', size: 14 });
    expect(c.workerGroups[0]!.maxSize).toBe(14);
  });

  it('size 0 is allowed (a group scaled to nothing)', () => {
    const { stack } = withGroup({ name: 'idle', size: 0 });
    expect(groupOf(stack.toTemplate(), 'ClusterWorkersidleWorkersNodesGroup')![1].properties.count).toEqual({
      get_param: 'workers_idle_count',
    });
  });

  it('a name with dashes gives parameters with underscores and servers named <cluster>-<name>-<i>', () => {
    const { stack } = withGroup({ name: 'gpu-a100' });
    const t = HotTemplate.fromStack(stack);
    t.hasParameter('workers_gpu_a100_count');
    t.hasParameter('workers_gpu_a100_flavor');
    t.hasOutput('workers_gpu_a100_addresses');
    expect(def(groupOf(stack.toTemplate(), 'ClusterWorkersgpua100WorkersNodesGroup')![1]).name_prefix).toBe('k8s-gpu-a100');
  });

  it('flavor and image: parameter values; the group image parameter falls back to the cluster image when empty', () => {
    const { stack, cluster: c } = withGroup({ name: 'gpu', flavor: 'g1.large', image: 'ubuntu-gpu' });
    const g = c.workerGroups[0]!;
    expect(g.flavorParameter.props.value).toBe('g1.large');
    expect(g.imageParameter.props.value).toBe('ubuntu-gpu');
    HotTemplate.fromStack(stack).hasParameter('workers_gpu_image', { type: 'string', default: '' });
    expect(def(groupOf(stack.toTemplate(), 'ClusterWorkersgpuWorkersNodesGroup')![1]).image).toEqual({
      if: [expect.stringMatching(/^ClusterWorkersgpuImageGiven/), { get_param: 'workers_gpu_image' }, { get_param: 'image' }],
    });
  });

  it('availabilityZone: an input of the member template', () => {
    const { stack } = withGroup({ name: 'z', availabilityZone: 'az2' });
    expect(def(groupOf(stack.toTemplate(), 'ClusterWorkerszWorkersNodesGroup')![1]).availability_zone).toBe('az2');
    HotTemplate.fromStack(member(stack, 'workers-z-workers-nodes')).hasResourceProperties('OS::Nova::Server', {
      availability_zone: { get_param: 'availability_zone' },
    });
  });

  it('bootVolume: boots from a volume of the group image', () => {
    const { stack } = withGroup({ name: 'v', bootVolume: { sizeGiB: 100 } });
    HotTemplate.fromStack(member(stack, 'workers-v-workers-nodes')).hasResourceProperties('OS::Nova::Server', {
      image: Match.absent(),
      block_device_mapping_v2: [
        Match.objectLike({ boot_index: 0, volume_size: 100, image: { get_param: 'image' }, delete_on_termination: true }),
      ],
    });
  });

  it('serverGroupPolicy: default soft anti-affinity per group; anti-affinity; false', () => {
    const { stack } = cluster({
      workerGroups: [{ name: 'a' }, { name: 'b', serverGroupPolicy: 'anti-affinity' }, { name: 'c', serverGroupPolicy: false }],
    });
    const t = HotTemplate.fromStack(stack);
    t.hasResourceProperties('OS::Nova::ServerGroup', { name: 'k8s-a-group', policies: ['soft-anti-affinity'] });
    t.hasResourceProperties('OS::Nova::ServerGroup', { name: 'k8s-b-group', policies: ['anti-affinity'] });
    const names = Object.values(t.findResources('OS::Nova::ServerGroup')).map((r) => (r.properties as { name: string }).name);
    expect(names).not.toContain('k8s-c-group');
    HotTemplate.fromStack(member(stack, 'workers-c-workers-nodes')).hasResourceProperties('OS::Nova::Server', {
      scheduler_hints: Match.absent(),
    });
  });

  it('labels and taints reach the kubelet configuration of that group only, as deploy-time values', () => {
    const { stack, cluster: c } = cluster({
      workerGroups: [
        { name: 'plain' },
        {
          name: 'gpu',
          labels: { 'hotk8s.io/pool': 'gpu', 'node.kubernetes.io/instance-kind': 'big' },
          taints: [
            { key: 'nvidia.com/gpu', value: 'present', effect: 'NoSchedule' },
            { key: 'dedicated', effect: 'NoExecute' },
          ],
        },
      ],
    });
    const doc = stack.toTemplate();
    expect(def(groupOf(doc, 'ClusterWorkersgpuWorkersNodesGroup')![1])).toMatchObject({
      node_labels: 'hotk8s.io/pool=gpu,hotk8s.io/worker-group=gpu,node.kubernetes.io/instance-kind=big',
      node_taints: '[{"key":"nvidia.com/gpu","value":"present","effect":"NoSchedule"},{"key":"dedicated","effect":"NoExecute"}]',
    });
    expect(def(groupOf(doc, 'ClusterWorkersplainWorkersNodesGroup')![1])).toMatchObject({
      node_labels: 'hotk8s.io/worker-group=plain',
      node_taints: '[]',
    });
    // the member template carries only the placeholders, fed from those parameters: both groups use the one template
    const [plainGroup, gpuGroup] = c.workerGroups;
    expect(gpuGroup!.nodes.nodes.template).toBe(plainGroup!.nodes.nodes.template);
    const gpu = gpuGroup!.nodes.nodes.template.toTemplate();
    const text = expandedUserData(gpu);
    for (const w of ['value: \\"__NODE_LABELS__\\"', 'taints: __NODE_TAINTS__']) expect(text, w).toContain(w);
    for (const w of ['hotk8s.io/pool', 'nvidia.com/gpu', 'NoExecute']) expect(text, w).not.toContain(w);
    const server = (gpu.resources as Record<string, Res>).Server!.properties;
    expect((server.user_data as { str_replace: { params: Record<string, unknown> } }).str_replace.params).toMatchObject({
      __NODE_LABELS__: { get_param: 'node_labels' },
      __NODE_TAINTS__: { get_param: 'node_taints' },
    });
  });

  it('groups that differ in name, labels, taints, flavor and image share one member template file', async () => {
    const { app } = cluster({
      workerGroups: [
        { name: 'a' },
        { name: 'b', flavor: 'm1.xlarge', image: 'debian-12', labels: { 'example.org/x': 'y' } },
        { name: 'c', taints: [{ key: 'k', effect: 'NoSchedule' }] },
        { name: 'd', bootVolume: { sizeGiB: 50 } },
      ],
    });
    const m = (await app.synth({ write: false, checkers: [] })).manifest.stacks[0]!;
    expect(m.sharedFiles['test.cluster-workers-a-workers-nodes-member.yaml']).toEqual([
      'test/Cluster/Workers-a/Workers/Nodes/Member',
      'test/Cluster/Workers-b/Workers/Nodes/Member',
      'test/Cluster/Workers-c/Workers/Nodes/Member',
    ]);
    // a boot volume changes the server's shape (so does a zone, which adds a property): its own file
    expect(m.files).toContain('test.cluster-workers-d-workers-nodes-member.yaml');
  });

  it('refuses the reserved group label', () => {
    failsWith(
      () => withGroup({ name: 'x', labels: { 'hotk8s.io/worker-group': 'y' } }),
      'test/Cluster/Workers-x',
      /worker label hotk8s.io\/worker-group is set by hotk8s to the group's name; choose another key/,
    );
  });

  it('each group gets its parameter group, its addresses output and its own ResourceGroups, over shared member templates', () => {
    const { stack } = cluster({ workerGroups: [{ name: 'a' }, { name: 'b' }] });
    const t = HotTemplate.fromStack(stack);
    expect(
      (t.document.parameter_groups as { label: string; parameters: string[] }[]).filter((g) => g.label.startsWith('Worker group')),
    ).toEqual([
      {
        label: 'Worker group a',
        parameters: ['workers_a_count', 'workers_a_flavor', 'workers_a_image', 'workers_a_remove'],
      },
      {
        label: 'Worker group b',
        parameters: ['workers_b_count', 'workers_b_flavor', 'workers_b_image', 'workers_b_remove'],
      },
    ]);
    t.hasOutput('workers_a_addresses');
    t.hasOutput('workers_b_addresses');
    const doc = stack.toTemplate();
    for (const [group, part] of [
      ['a', 'Nodes'],
      ['a', 'Ports'],
      ['b', 'Nodes'],
      ['b', 'Ports'],
    ]) {
      const [, r] = groupOf(doc, `ClusterWorkers${group}Workers${part}Group`)!;
      expect((r.properties.resource_def as { type: string }).type).toBe(`test.cluster-workers-a-workers-${part.toLowerCase()}-member.yaml`);
    }
    expect(
      stack
        .nestedStacks()
        .map((s) => s.fileName)
        .filter((f) => f.includes('workers')),
    ).toEqual(['test.cluster-workers-a-workers-ports-member.yaml', 'test.cluster-workers-a-workers-nodes-member.yaml']);
  });

  it('adding a group keeps every existing logical id, parameter, output and member file name', () => {
    const a = cluster({ workerGroups: [{ name: 'a' }] });
    const b = cluster({ workerGroups: [{ name: 'a' }] });
    b.cluster.addWorkerGroup({ name: 'zz', size: 1 });
    const da = a.stack.toTemplate();
    const db = b.stack.toTemplate();
    for (const section of ['resources', 'parameters', 'outputs'] as const) {
      for (const k of Object.keys(da[section] as object)) expect(Object.keys(db[section] as object), `${section} ${k}`).toContain(k);
    }
    expect(b.stack.nestedStacks().map((s) => s.fileName)).toEqual(expect.arrayContaining(a.stack.nestedStacks().map((s) => s.fileName)));
    // the existing group's definition itself is unchanged
    const id = groupOf(da, 'ClusterWorkersaWorkersNodesGroup')![0];
    expect(resources(db)[id]).toEqual(resources(da)[id]);
  });
});

describe('WorkerGroup validation', () => {
  it('fails when the name is not a DNS label', () =>
    failsWith(() => withGroup({ name: 'GPU' }), groupPath('GPU'), /^name must be a DNS label .*at most 20 characters\); got "GPU"$/));
  it('fails when the name is longer than 20', () =>
    failsWith(() => withGroup({ name: 'a'.repeat(21) }), groupPath('a'.repeat(21)), /^name must be a DNS label .*; got "a{21}"$/));
  it('fails when the name ends with a dash', () => failsWith(() => withGroup({ name: 'gpu-' }), groupPath('gpu-'), /got "gpu-"$/));
  it('fails when the name is empty', () => failsWith(() => withGroup({ name: '' }), groupPath(''), /got ""$/));
  it('fails when the name is missing', () =>
    failsWith(() => withGroup({} as never), 'test/Cluster', /^workerGroups\[0\].name is required; got undefined$/));
  it('fails when names repeat', () =>
    failsWith(
      () => cluster({ workerGroups: [{ name: 'a' }, { name: 'a' }] }),
      'test/Cluster',
      /^worker group names must be unique; "a" exists already$/,
    ));
  it('fails when size is negative', () =>
    failsWith(() => withGroup({ name: 'a', size: -1 }), groupPath('a'), /^size must be a whole number >= 0; got -1$/));
  it('fails when size is fractional', () =>
    failsWith(() => withGroup({ name: 'a', size: 1.5 }), groupPath('a'), /^size must be a whole number >= 0; got 1.5$/));
  it('fails when minSize is negative', () =>
    failsWith(() => withGroup({ name: 'a', minSize: -2 }), groupPath('a'), /^minSize must be a whole number >= 0; got -2$/));
  it('fails when maxSize is 0', () =>
    failsWith(() => withGroup({ name: 'a', size: 0, maxSize: 0 }), groupPath('a'), /^maxSize must be a whole number >= 1; got 0$/));
  it('fails when size is above maxSize', () =>
    failsWith(
      () => withGroup({ name: 'a', size: 12, maxSize: 10 }),
      groupPath('a'),
      /^size must lie within minSize..maxSize \(0..10\); got 12$/,
    ));
  it('fails when size is below minSize', () =>
    failsWith(
      () => withGroup({ name: 'a', size: 1, minSize: 2 }),
      groupPath('a'),
      /^size must lie within minSize..maxSize \(2..10\); got 1$/,
    ));
  it('fails when a label key is malformed', () =>
    failsWith(
      () => withGroup({ name: 'a', labels: { 'bad key': 'x' } }),
      groupPath('a'),
      /^label key must be \[prefix\/\]name .*; got "bad key"$/,
    ));
  it('fails when a label prefix is not a DNS subdomain', () =>
    failsWith(
      () => withGroup({ name: 'a', labels: { 'Example.COM/x': 'y' } }),
      groupPath('a'),
      /^label key must be .*; got "Example.COM\/x"$/,
    ));
  it('fails when a label value is too long', () =>
    failsWith(
      () => withGroup({ name: 'a', labels: { pool: 'x'.repeat(64) } }),
      groupPath('a'),
      /^label pool value must be at most 63 .*; got "x{64}"$/,
    ));
  it('fails when a label value has a space', () =>
    failsWith(() => withGroup({ name: 'a', labels: { pool: 'a b' } }), groupPath('a'), /^label pool value must be .*; got "a b"$/));
  it('fails when a label is under kubernetes.io (NodeRestriction)', () =>
    failsWith(
      () => withGroup({ name: 'a', labels: { 'node-role.kubernetes.io/worker': '' } }),
      groupPath('a'),
      /label node-role.kubernetes.io\/worker: .*may not set labels under .*NodeRestriction/,
    ));
  it('accepts labels under node.kubernetes.io', () =>
    expect(() => withGroup({ name: 'a', labels: { 'node.kubernetes.io/pool': 'x' } })).not.toThrow());
  it('fails when a label is under k8s.io', () =>
    failsWith(
      () => withGroup({ name: 'a', labels: { 'k8s.io/x': 'y' } }),
      groupPath('a'),
      /under k8s.io \(NodeRestriction admission\);.*; got "k8s.io\/x"$/,
    ));
  it('fails when a taint key is malformed', () =>
    failsWith(
      () => withGroup({ name: 'a', taints: [{ key: '-x', effect: 'NoSchedule' }] }),
      groupPath('a'),
      /^taint key must be .*; got "-x"$/,
    ));
  it('fails when a taint value is malformed', () =>
    failsWith(
      () => withGroup({ name: 'a', taints: [{ key: 'x', value: 'a/b', effect: 'NoSchedule' }] }),
      groupPath('a'),
      /^taint x value must be .*; got "a\/b"$/,
    ));
  it('fails when a taint effect is unknown', () =>
    failsWith(
      () => withGroup({ name: 'a', taints: [{ key: 'x', effect: 'Never' as never }] }),
      'test/Cluster',
      /^workerGroups\[0\].taints\[0\].effect must be one of "NoSchedule", "PreferNoSchedule", "NoExecute"; got "Never"$/,
    ));
  it('fails when a taint is not an object', () =>
    failsWith(
      () => withGroup({ name: 'a', taints: [null as never] }),
      'test/Cluster',
      /^workerGroups\[0\].taints\[0\] must be an object \{ key, value\?, effect \}; got null$/,
    ));
  it('fails when the boot volume size is fractional', () =>
    failsWith(
      () => withGroup({ name: 'a', bootVolume: { sizeGiB: 2.5 } }),
      `${groupPath('a')}/Workers`,
      /^bootVolume.sizeGiB must be a whole number 1..16384; got 2.5$/,
    ));
  it('fails when the server group policy is unknown', () =>
    failsWith(
      () => withGroup({ name: 'a', serverGroupPolicy: 'pack' as never }),
      'test/Cluster',
      /^workerGroups\[0\].serverGroupPolicy must be one of .*; got "pack"$/,
    ));
});
