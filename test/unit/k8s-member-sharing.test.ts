/**
 * Worker groups of one shape share member templates: later groups build none of their own and feed the first group's
 * templates through its inputs. Sharing must change nothing synthesis writes: every file, byte for byte, is the same
 * as when each group builds its own and the share phase finds them identical. These tests synthesize the same
 * clusters with sharing on and off, and check that sharing did happen where it should.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { App, HeatStack, HotError, synthesize, type ClusterProps, type WorkerGroupOptions } from '../../src/index.js';
import { memberTemplateSharing } from '../../src/k8s/private/member-sharing.js';
import { TemplateGroup } from '../../src/k8s/private/template-group.js';
import { cluster, failsWith } from './k8s-helpers.js';

/** A cluster built by `extra` (groups added, applications exposed), synthesized without writing. */
async function synthOf(props: ClusterProps, extra: (c: ReturnType<typeof cluster>) => void, stateDir: string) {
  const built = cluster(props);
  extra(built);
  const result = await synthesize(built.app, { write: false, stateDir });
  return { built, files: result.files };
}

async function sameWithAndWithoutSharing(props: ClusterProps, extra: (c: ReturnType<typeof cluster>) => void = () => {}) {
  const stateDir = await mkdtemp(join(tmpdir(), 'hotk8s-sharing-'));
  memberTemplateSharing.enabled = false;
  const own = await synthOf(props, extra, stateDir);
  memberTemplateSharing.enabled = true;
  const shared = await synthOf(props, extra, stateDir);
  expect([...shared.files.keys()].sort()).toEqual([...own.files.keys()].sort());
  for (const [f, text] of own.files) expect(shared.files.get(f), f).toBe(text);
  // without sharing no group refers to another's templates
  for (const g of own.built.cluster.workerGroups) expect(g.nodes.nodes.sharesTemplateOf, g.name).toBeUndefined();
  return shared.built.cluster;
}

const sharers = (c: { workerGroups: readonly { name: string; nodes: { nodes: TemplateGroup } }[] }) =>
  Object.fromEntries(
    c.workerGroups.map((g) => [
      g.name,
      g.nodes.nodes.sharesTemplateOf?.node.path.replace(/^test\/Cluster\/Workers-|\/Workers\/Nodes$/g, '') ?? null,
    ]),
  );

describe('worker groups sharing member templates', () => {
  afterEach(() => {
    memberTemplateSharing.enabled = true;
  });

  it('groups that differ only in what reaches members as inputs share; every written file is unchanged', async () => {
    const groups: WorkerGroupOptions[] = [
      { name: 'zeta', size: 2 },
      { name: 'alpha', flavor: 'm1.xlarge', image: 'debian-12', labels: { 'example.org/x': 'y' } },
      { name: 'tainted', taints: [{ key: 'k', effect: 'NoSchedule' }], rollingUpdate: { maxBatchSize: 2 } },
      { name: 'zone-a', availabilityZone: 'az1' },
      { name: 'zone-b', availabilityZone: 'az2', size: 0, maxSize: 40 },
      { name: 'boot', bootVolume: { sizeGiB: 50 } },
      { name: 'boot-same', bootVolume: { sizeGiB: 50 }, labels: { a: 'b' } },
      { name: 'boot-typed-a', bootVolume: { sizeGiB: 50, volumeType: 'ssd' }, availabilityZone: 'az1' },
      { name: 'boot-typed-b', bootVolume: { sizeGiB: 50, volumeType: 'ssd' }, availabilityZone: 'az2' },
      { name: 'boot-typed-c', bootVolume: { sizeGiB: 50, volumeType: 'ssd' }, availabilityZone: 'az1' },
      { name: 'no-group', serverGroupPolicy: false },
      { name: 'affine', serverGroupPolicy: 'affinity' },
      { name: 'compact', layout: 'compact' },
      { name: 'compact-too', layout: 'compact' },
      { name: 'own', shareMemberTemplates: false },
    ];
    const c = await sameWithAndWithoutSharing({ workerGroups: groups, maxResourcesPerStack: 3000 });
    expect(sharers(c)).toEqual({
      zeta: null,
      alpha: 'zeta',
      tainted: 'zeta',
      'zone-a': null,
      'zone-b': 'zone-a',
      boot: null,
      'boot-same': 'boot',
      'boot-typed-a': null,
      'boot-typed-b': null, // the zone is a literal of the typed boot volume
      'boot-typed-c': 'boot-typed-a',
      'no-group': null,
      affine: 'zeta',
      compact: null, // a compact member template grows with each pool membership: never shared
      'compact-too': null,
      own: null,
    });
  });

  it('with exposed applications on some groups, groups added later and several clusters per stack, nothing written changes', async () => {
    const c = await sameWithAndWithoutSharing({ workerGroups: [{ name: 'a' }, { name: 'b' }, { name: 'c', layout: 'compact' }] }, (b) => {
      const [ga, , gc] = b.cluster.workerGroups;
      b.cluster.exposeNodePort('web', { port: 80, nodePort: 30080, workerGroups: [ga!, gc!] });
      b.cluster.exposeNodePort('all', { port: 443, nodePort: 30443 });
      b.cluster.addWorkerGroup({ name: 'late', flavor: 'm1.small' });
      b.cluster.addWorkerGroup({ name: 'late-compact', layout: 'compact' });
    });
    expect(sharers(c)).toEqual({ a: null, b: 'a', c: null, late: 'a', 'late-compact': null });
  });

  it('the shared file takes the first name in sort order and the manifest lists every group it stands for', async () => {
    const { app } = cluster({ workerGroups: [{ name: 'zz' }, { name: 'mm' }, { name: 'aa' }] });
    const m = (await app.synth({ write: false, checkers: [] })).manifest.stacks[0]!;
    expect(m.sharedFiles['test.cluster-workers-aa-workers-nodes-member.yaml']).toEqual([
      'test/Cluster/Workers-aa/Workers/Nodes/Member',
      'test/Cluster/Workers-mm/Workers/Nodes/Member',
      'test/Cluster/Workers-zz/Workers/Nodes/Member',
    ]);
    expect(m.files.filter((f) => f.includes('workers'))).toEqual([
      'test.cluster-workers-aa-workers-nodes-member.yaml',
      'test.cluster-workers-aa-workers-ports-member.yaml',
    ]);
  });

  it('shareMemberTemplates: false gives a group templates of its own, which an escape hatch changes alone', async () => {
    const { app, cluster: c } = cluster({ workerGroups: [{ name: 'a' }, { name: 'b' }, { name: 'c', shareMemberTemplates: false }] });
    const [a, b, own] = c.workerGroups;
    expect(b!.nodes.nodes.template).toBe(a!.nodes.nodes.template);
    expect(own!.nodes.nodes.template).not.toBe(a!.nodes.nodes.template);
    (
      own!.nodes.nodes.template.node.findChild('Server') as unknown as { addPropertyOverride(k: string, v: unknown): void }
    ).addPropertyOverride('config_drive', true);
    const result = await app.synth({ write: false, checkers: [] });
    const ownFile = result.files.get('test.cluster-workers-c-workers-nodes-member.yaml')!;
    expect(ownFile).toContain('config_drive: true');
    expect(result.files.get('test.cluster-workers-a-workers-nodes-member.yaml')).not.toContain('config_drive');
  });
});

describe('TemplateGroup sharing a member template', () => {
  function twoGroups() {
    const app = new App();
    const stack = new HeatStack(app, 'demo');
    const lead = new TemplateGroup(stack, 'Lead', { count: 1, maxCount: 1, description: 'member' });
    lead.input('flavor', { type: 'string' }, 'm1.small');
    lead.output('name', 'x', 'a name');
    const follow = new TemplateGroup(stack, 'Follow', { count: 2, maxCount: 2, description: 'member', shareTemplateOf: lead });
    return { app, stack, lead, follow };
  }

  it('refuses an input the shared template does not have, and an output it does not have', () => {
    const { follow } = twoGroups();
    failsWith(
      () => follow.input('image', { type: 'string' }, 'x'),
      'demo/Follow',
      /input "image" is not a parameter of the shared member template/,
    );
    failsWith(() => follow.output('address', 'x', 'y'), 'demo/Follow', /the shared member template has no output "address"/);
  });

  it('refuses a different description', () => {
    const { stack, lead } = twoGroups();
    failsWith(
      () => new TemplateGroup(stack, 'Other', { count: 1, maxCount: 1, description: 'another', shareTemplateOf: lead }),
      'demo/Other',
      /a shared member template must have the same description; got "another"/,
    );
  });

  it('fails synthesis, naming the group, when an input of the shared template is not fed', async () => {
    const { app } = twoGroups();
    const err = await app.synth({ write: false, checkers: [] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HotError);
    expect(String((err as Error).message)).toMatch(/demo\/Follow.*the shared member template's inputs flavor are not fed/s);
  });

  it('feeds its own values into the shared template, which is written once', async () => {
    const { app, follow } = twoGroups();
    follow.input('flavor', { type: 'string' }, 'm1.large');
    const result = await app.synth({ write: false, checkers: [] });
    const root = result.files.get('demo.yaml')!;
    expect(result.manifest.stacks[0]!.files).toEqual(['demo.follow-member.yaml']);
    expect(root.match(/type: demo\.follow-member\.yaml/g)).toHaveLength(2);
    expect(root).toContain('flavor: m1.small');
    expect(root).toContain('flavor: m1.large');
    expect(result.manifest.stacks[0]!.sharedFiles).toEqual({ 'demo.follow-member.yaml': ['demo/Follow/Member', 'demo/Lead/Member'] });
  });
});
