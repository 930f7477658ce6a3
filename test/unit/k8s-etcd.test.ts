import { describe, expect, it } from 'vitest';
import { HotTemplate, Match } from '../../src/assertions/index.js';
import {
  App,
  ClusterNetwork,
  ClusterSecurityGroups,
  EtcdCluster,
  HeatStack,
  HotError,
  SERVER_BOOT_ALLOWANCE_SEC,
  type EtcdClusterProps,
} from '../../src/index.js';
import { mkdtemp, readFile, readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { synthesize } from '../../src/index.js';
import { SWIFT_TEMP_URL_KEY_FILE, loadOrCreateSwiftTempUrlKey } from '../../src/bootstrap/pki.js';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { collectAnnotations } from '../../src/core/annotations.js';
import { ClusterSecrets } from '../../src/k8s/private/secrets.js';
import { cluster, failsWith } from './k8s-helpers.js';

type Doc = Record<string, unknown>;
type Res = { type: string; deletion_policy?: string; properties: Record<string, unknown> };

/** An EtcdCluster alone in a root stack `s` (construct path `s/Etcd`). */
function etcd(props: Partial<EtcdClusterProps> = {}) {
  const stack = new HeatStack(new App(), 's');
  const network = new ClusterNetwork(stack, 'Net', { namePrefix: 'demo', externalNetwork: 'public' });
  const securityGroups = new ClusterSecurityGroups(stack, 'Sg', { namePrefix: 'demo' });
  const secrets = new ClusterSecrets(stack, 'Secrets', 'demo');
  const e = new EtcdCluster(stack, 'Etcd', {
    clusterName: 'demo',
    kubernetesVersion: '1.32.5',
    podCidr: '10.244.0.0/16',
    network,
    securityGroups,
    secrets,
    flavor: 'm1.small',
    image: 'ubuntu',
    ...props,
  });
  const member = (part: string) => stack.nestedStacks().find((s) => s.fileName.includes(part))!;
  return { stack, etcd: e, nodes: member('etcd-members-nodes'), ports: member('etcd-members-ports') };
}

const resources = (doc: Doc) => doc.resources as Record<string, Res>;
const groupOf = (doc: Doc, prefix: string) => Object.entries(resources(doc)).find(([id]) => id.startsWith(prefix))!;

describe('EtcdCluster', () => {
  it('defaults: 3 members, ports created first, a soft anti-affinity server group', () => {
    const { stack, etcd: e } = etcd();
    expect(e.size).toBe(3);
    const doc = stack.toTemplate();
    const t = HotTemplate.fromStack(stack);
    const [portsId, ports] = groupOf(doc, 'EtcdMembersPortsGroup');
    const [, nodes] = groupOf(doc, 'EtcdMembersNodesGroup');
    expect(ports.properties.count).toBe(3);
    expect(nodes.properties.count).toBe(3);
    t.hasResourceProperties('OS::Nova::ServerGroup', { name: 'demo-etcd-group', policies: ['soft-anti-affinity'] });
    expect(JSON.stringify(nodes.properties)).toContain(portsId);
  });

  for (const size of [1, 3, 5, 7]) {
    it(`size ${size}: every member gets an initial cluster of ${size} peers, each named <cluster>-etcd-<i> at its port's address`, () => {
      const { stack, etcd: e } = etcd({ size });
      expect(e.size).toBe(size);
      const doc = stack.toTemplate();
      const [portsId, ports] = groupOf(doc, 'EtcdMembersPortsGroup');
      const [, nodes] = groupOf(doc, 'EtcdMembersNodesGroup');
      expect(ports.properties.count).toBe(size);
      expect(nodes.properties.count).toBe(size);
      const ic = (nodes.properties.resource_def as { properties: { initial_cluster: { list_join: [string, unknown[]] } } }).properties
        .initial_cluster;
      expect(ic.list_join[0]).toBe(',');
      expect(ic.list_join[1]).toEqual(
        Array.from({ length: size }, (_, i) => ({
          list_join: ['', [`demo-etcd-${i}=https://`, { get_attr: [portsId, `resource.${i}`, 'address'] }, ':2380']],
        })),
      );
    });
  }

  it('boots each member with RAW user-data, its own TOKEN_SIGNAL wait condition and no discovery service', () => {
    const { nodes, etcd: e } = etcd();
    const t = HotTemplate.fromStack(nodes);
    t.resourceCountIs('OS::Nova::Server', 1);
    t.resourceCountIs('OS::Heat::WaitCondition', 1);
    t.hasResourceProperties('OS::Nova::Server', {
      user_data_format: 'RAW',
      user_data_update_policy: 'IGNORE',
      metadata: { 'hotk8s-role': 'etcd' },
      flavor: { get_param: 'flavor' },
      image: { get_param: 'image' },
      key_name: Match.absent(),
      scheduler_hints: { group: { get_param: 'server_group' } },
      user_data: {
        str_replace: {
          params: Match.objectLike({
            __ETCD_INITIAL_CLUSTER__: { get_param: 'initial_cluster' },
            __ETCD_CA_KEY__: { get_param: 'etcd_ca_key' },
          }),
        },
      },
    });
    t.hasResourceProperties('OS::Heat::WaitConditionHandle', { signal_transport: 'TOKEN_SIGNAL' });
    t.hasResourceProperties('OS::Heat::WaitCondition', {
      handle: { get_resource: 'WaitHandle' },
      count: 1,
      timeout: e.nodes.waitTimeoutSec,
    });
    t.hasParameter('etcd_ca_key', { hidden: true });
    expect(e.nodes.waitTimeoutSec).toBeGreaterThan(SERVER_BOOT_ALLOWANCE_SEC);
    expect(JSON.stringify(nodes.toTemplate())).not.toMatch(/discovery\.etcd\.io|OS::Heat::None/);
  });

  it('no member waits for another member: the nodes group depends on ports only', () => {
    const { stack } = etcd({ size: 5 });
    const doc = stack.toTemplate();
    const [nodesId, nodes] = groupOf(doc, 'EtcdMembersNodesGroup');
    const refs = [...JSON.stringify(nodes).matchAll(/"get_(?:resource|attr)":\[?"([^"]+)"/g)].map((m) => m[1]!);
    expect(refs).not.toContain(nodesId);
    for (const id of refs) expect(resources(doc)[id]!.type, id).not.toBe('OS::Heat::WaitCondition');
    expect(nodes).not.toHaveProperty('depends_on');
  });

  it('keyName becomes a key_name input', () => {
    const { nodes } = etcd({ keyName: 'me' });
    HotTemplate.fromStack(nodes).hasResourceProperties('OS::Nova::Server', { key_name: { get_param: 'key_name' } });
  });

  it('serverGroupPolicy: anti-affinity', () => {
    const { stack } = etcd({ serverGroupPolicy: 'anti-affinity' });
    HotTemplate.fromStack(stack).hasResourceProperties('OS::Nova::ServerGroup', { policies: ['anti-affinity'] });
  });

  it('serverGroupPolicy: false gives no server group and no scheduler hint', () => {
    const { stack, nodes } = etcd({ serverGroupPolicy: false });
    HotTemplate.fromStack(stack).resourceCountIs('OS::Nova::ServerGroup', 0);
    HotTemplate.fromStack(nodes).hasResourceProperties('OS::Nova::Server', { scheduler_hints: Match.absent() });
  });

  it('dataVolume: a Cinder volume per member, kept on delete by a snapshot, attached to the server, its id in the user-data', () => {
    const { nodes } = etcd({ dataVolume: { sizeGiB: 20 } });
    const t = HotTemplate.fromStack(nodes);
    t.hasResource('OS::Cinder::Volume', {
      deletion_policy: 'Snapshot',
      properties: Match.objectLike({ size: 20, volume_type: Match.absent() }),
    });
    t.hasResourceProperties('OS::Cinder::VolumeAttachment', {
      instance_uuid: { get_resource: 'Server' },
      volume_id: { get_resource: 'DataVolume' },
    });
    t.hasResourceProperties('OS::Nova::Server', {
      user_data: { str_replace: { params: Match.objectLike({ __ETCD_VOLUME_ID__: { get_resource: 'DataVolume' } }) } },
    });
  });

  it('dataVolume: Retain and a volume type', () => {
    const { nodes } = etcd({ dataVolume: { sizeGiB: 50, volumeType: 'ssd', deletionPolicy: 'Retain' } });
    HotTemplate.fromStack(nodes).hasResource('OS::Cinder::Volume', {
      deletion_policy: 'Retain',
      properties: Match.objectLike({ size: 50, volume_type: 'ssd' }),
    });
  });

  it('without dataVolume: no volume and no volume placeholder', () => {
    const { nodes } = etcd();
    const t = HotTemplate.fromStack(nodes);
    t.resourceCountIs('OS::Cinder::Volume', 0);
    t.resourceCountIs('OS::Cinder::VolumeAttachment', 0);
    expect(JSON.stringify(nodes.toTemplate())).not.toContain('__ETCD_VOLUME_ID__');
  });

  it('gives every member the same cluster token, made from the root stack id (unique per stack)', () => {
    const { stack, nodes } = etcd();
    const [, group] = groupOf(stack.toTemplate(), 'EtcdMembersNodesGroup');
    const props = (group.properties.resource_def as { properties: Record<string, unknown> }).properties;
    expect(props.etcd_cluster_token).toEqual({ list_join: ['-', ['demo-etcd', { get_param: 'OS::stack_id' }]] });
    HotTemplate.fromStack(nodes).hasResourceProperties('OS::Nova::Server', {
      user_data: { str_replace: { params: Match.objectLike({ __ETCD_CLUSTER_TOKEN__: { get_param: 'etcd_cluster_token' } }) } },
    });
  });

  it('backup: a second Cinder volume per member, attached after the data volume, its id in the user-data', () => {
    const { nodes, etcd: e } = etcd({ dataVolume: { sizeGiB: 20 }, backup: { volumeSizeGiB: 30, volumeType: 'bulk', retain: 5 } });
    const t = HotTemplate.fromStack(nodes);
    t.resourceCountIs('OS::Cinder::Volume', 2);
    t.hasResource('OS::Cinder::Volume', {
      deletion_policy: 'Snapshot',
      properties: Match.objectLike({ size: 30, volume_type: 'bulk', name: { list_join: ['-', [Match.anyValue(), 'backup']] } }),
    });
    const doc = nodes.toTemplate() as { resources: Record<string, { depends_on?: unknown; properties: Record<string, unknown> }> };
    expect(doc.resources['BackupVolumeAttachment']?.properties).toEqual({
      instance_uuid: { get_resource: 'Server' },
      volume_id: { get_resource: 'BackupVolume' },
    });
    expect(doc.resources['BackupVolumeAttachment']?.depends_on).toEqual(['DataVolumeAttachment']);
    t.hasResourceProperties('OS::Nova::Server', {
      user_data: { str_replace: { params: Match.objectLike({ __ETCD_BACKUP_VOLUME_ID__: { get_resource: 'BackupVolume' } }) } },
    });
    expect(e.userDataContext.backup).toMatchObject({ retain: 5, volume: true });
  });

  it('backup.swift: a Swift container (kept on delete) holds the temp URL key; each member gets its URL and the key as hidden parameters', () => {
    const { stack, nodes, etcd: e } = etcd({ backup: { swift: { container: 'etcd-backups', deleteAfterDays: 14 } } });
    const doc = stack.toTemplate() as { resources: Record<string, Res & { properties: Record<string, unknown> }>; parameters: Doc };
    const containers = Object.entries(doc.resources).filter(([, r]) => r.type === 'OS::Swift::Container');
    expect(containers).toHaveLength(1);
    const [containerId, container] = containers[0]!;
    expect(containerId).toMatch(/^EtcdBackupContainer/);
    expect(container.deletion_policy).toBe('Retain');
    expect(container.properties).toEqual({
      name: 'etcd-backups',
      PurgeOnDelete: false,
      'X-Container-Meta': { 'Temp-URL-Key': { get_param: 'etcd_backup_swift_key' } },
    });
    expect(doc.parameters['etcd_backup_swift_key']).toMatchObject({ type: 'string', hidden: true });
    const [, group] = groupOf(doc, 'EtcdMembersNodesGroup');
    const def = (group.properties.resource_def as { properties: Record<string, unknown> }).properties;
    expect(def.etcd_backup_swift_url).toEqual({
      list_join: ['/', [{ get_attr: [containerId, 'RootURL'] }, { get_resource: containerId }]],
    });
    expect(def.etcd_backup_swift_key).toEqual({ get_param: 'etcd_backup_swift_key' });
    const member = nodes.toTemplate() as { parameters: Record<string, { hidden?: boolean }> };
    expect(member.parameters['etcd_backup_swift_key']?.hidden).toBe(true);
    expect(member.parameters['etcd_backup_swift_url']?.hidden).toBeUndefined();
    HotTemplate.fromStack(nodes).hasResourceProperties('OS::Nova::Server', {
      user_data: {
        str_replace: {
          params: Match.objectLike({
            __ETCD_BACKUP_SWIFT_URL__: { get_param: 'etcd_backup_swift_url' },
            __ETCD_BACKUP_SWIFT_KEY__: { get_param: 'etcd_backup_swift_key' },
          }),
        },
      },
    });
    expect(JSON.stringify(nodes.toTemplate())).toContain(`ETCD_BACKUP_SWIFT_DELETE_AFTER=${14 * 86400}`);
    expect(e.userDataContext.backup).toMatchObject({ swift: { deleteAfterDays: 14 } });
    // Without a name, Heat names the container.
    const unnamed = etcd({ backup: { swift: {} } }).stack.toTemplate() as { resources: Record<string, Res> };
    const c2 = Object.values(unnamed.resources).find((r) => r.type === 'OS::Swift::Container')!;
    expect(c2.properties).not.toHaveProperty('name');
  });

  it('backup.swift: bad values fail naming the construct path, the rule and the value', () => {
    failsWith(
      () => etcd({ backup: { swift: { container: 'a/b' } } }),
      's/Etcd',
      /^backup\.swift\.container must be 1-256 letters, digits, .*; got "a\/b"$/,
    );
    failsWith(
      () => etcd({ backup: { swift: { container: '..' } } }),
      's/Etcd',
      /^backup\.swift\.container .*not '\.' or '\.\.'; got "\.\."$/,
    );
    failsWith(() => etcd({ backup: { swift: { container: '' } } }), 's/Etcd', /^backup\.swift\.container .*; got ""$/);
    failsWith(() => etcd({ backup: { swift: { container: 'x'.repeat(257) } } }), 's/Etcd', /^backup\.swift\.container must be 1-256/);
    failsWith(
      () => etcd({ backup: { swift: { deleteAfterDays: -1 } } }),
      's/Etcd',
      /^backup\.swift\.deleteAfterDays must be a whole number of days from 0 \(keep\) to 3650; got -1$/,
    );
    failsWith(() => etcd({ backup: { swift: { deleteAfterDays: 2.5 } } }), 's/Etcd', /^backup\.swift\.deleteAfterDays .*; got 2\.5$/);
    failsWith(
      () => cluster({ etcd: { backup: { swift: { container: 7 as unknown as string } } } }),
      'test/Cluster',
      /etcd\.backup\.swift\.container must be a string; got 7/,
    );
    failsWith(
      () => cluster({ etcd: { backup: { swift: { deleteAfter: 3 } as never } } }),
      'test/Cluster',
      /etcd\.backup\.swift\.deleteAfter/,
    );
  });

  it('without backup: no backup volume, no timer', () => {
    const { nodes } = etcd();
    const text = JSON.stringify(nodes.toTemplate());
    expect(text).not.toContain('__ETCD_BACKUP_VOLUME_ID__');
    expect(text).not.toContain('hotk8s-etcd-backup.timer');
    expect(text).not.toContain('__ETCD_BACKUP_SWIFT_URL__');
    expect(JSON.stringify(etcd({ backup: {} }).stack.toTemplate())).not.toContain('OS::Swift::Container');
  });

  it('warns at the EtcdCluster when a single member has no data volume (a rebuild would lose every object)', () => {
    const warnings = (props: Partial<EtcdClusterProps>) =>
      collectAnnotations(etcd(props).stack)
        .filter((a) => a.level === 'warning')
        .map((a) => `${a.path}: ${a.message}`);
    expect(warnings({ size: 1 })).toEqual([
      expect.stringMatching(/^s\/Etcd: a single etcd member without a data volume cannot survive a rebuild/),
    ]);
    expect(warnings({ size: 1, dataVolume: { sizeGiB: 8 } })).toEqual([]);
    expect(warnings({ size: 3 })).toEqual([]);
  });

  it('install: preinstalled etcd renders without a download', () => {
    const a = etcd();
    const b = etcd({ install: { mode: 'preinstalled' } });
    expect(JSON.stringify(a.nodes.toTemplate())).not.toBe(JSON.stringify(b.nodes.toTemplate()));
  });
});

describe('EtcdCluster validation', () => {
  for (const size of [0, 2, 4, 6, 8, 9, -1, 2.5]) {
    it(`fails when size is ${size}`, () =>
      failsWith(
        () => etcd({ size }),
        's/Etcd',
        new RegExp(`^size must be odd \\(1, 3, 5 or 7\\) so that a majority survives a failure; got ${String(size).replace('.', '\\.')}$`),
      ));
  }
  it('fails when size is not a number', () => failsWith(() => etcd({ size: '3' as never }), 's/Etcd', /^size must be odd .*; got "3"$/));
  it('fails when the server group policy is unknown', () =>
    failsWith(
      () => etcd({ serverGroupPolicy: 'spread' as never }),
      's/Etcd/Members',
      /^serverGroupPolicy must be one of anti-affinity, soft-anti-affinity, affinity, soft-affinity; got "spread"$/,
    ));
  it('fails when the data volume size is 0', () =>
    failsWith(() => etcd({ dataVolume: { sizeGiB: 0 } }), 's/Etcd/Members', /^dataVolume.sizeGiB must be a whole number 1..16384; got 0$/));
  it('fails when the data volume deletion policy would delete the data', () =>
    failsWith(
      () => etcd({ dataVolume: { sizeGiB: 10, deletionPolicy: 'Delete' as never } }),
      's/Etcd/Members',
      /^dataVolume.deletionPolicy must be one of Snapshot, Retain; got "Delete"$/,
    ));
  it('fails when the Kubernetes version is malformed', () => {
    let err: unknown;
    try {
      etcd({ kubernetesVersion: 'v1' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HotError);
    expect((err as HotError).message).toMatch(/^s\/Etcd: /);
  });
});

describe('etcd in a Cluster', () => {
  it('gets the etcd_flavor and image parameters and the key pair', () => {
    const { stack } = cluster({ etcd: { flavor: 'e1.small' } });
    const t = HotTemplate.fromStack(stack);
    t.hasParameter('etcd_flavor', { type: 'string', constraints: [{ custom_constraint: 'nova.flavor' }] });
    t.hasResourceProperties('OS::Heat::ResourceGroup', {
      resource_def: {
        type: Match.stringLikeRegexp('etcd-members-nodes'),
        properties: Match.objectLike({
          flavor: { get_param: 'etcd_flavor' },
          image: { if: [Match.stringLikeRegexp('^ClusterEtcdImageGiven'), { get_param: 'etcd_image' }, { get_param: 'image' }] },
          key_name: { get_param: 'key_name' },
        }),
      },
    });
  });

  it("masters reach etcd at every member's client URL", () => {
    const { stack } = cluster({ etcd: { size: 5 } });
    const doc = stack.toTemplate();
    const [portsId] = groupOf(doc, 'ClusterEtcdMembersPortsGroup');
    const [, masters] = groupOf(doc, 'ClusterControlMastersNodesGroup');
    const ep = (masters.properties.resource_def as { properties: { etcd_endpoints: { list_join: [string, unknown[]] } } }).properties
      .etcd_endpoints;
    expect(ep.list_join[1]).toEqual(
      Array.from({ length: 5 }, (_, i) => ({
        list_join: ['', ['https://', { get_attr: [portsId, `resource.${i}`, 'address'] }, ':2379']],
      })),
    );
  });

  it('passes size, server group policy and data volume through', () => {
    const { stack, cluster: c } = cluster({
      etcd: { size: 1, serverGroupPolicy: 'anti-affinity', dataVolume: { sizeGiB: 8, deletionPolicy: 'Retain' } },
    });
    expect(c.etcd.size).toBe(1);
    HotTemplate.fromStack(stack).hasResourceProperties('OS::Nova::ServerGroup', { name: 'k8s-etcd-group', policies: ['anti-affinity'] });
    const m = stack.nestedStacks().find((s) => s.fileName.includes('etcd-members-nodes'))!;
    HotTemplate.fromStack(m).hasResource('OS::Cinder::Volume', { deletion_policy: 'Retain' });
  });

  it('passes backup through to every member', () => {
    const { stack } = cluster({ etcd: { backup: { schedule: 'daily' } } });
    const m = stack.nestedStacks().find((s) => s.fileName.includes('etcd-members-nodes'))!;
    HotTemplate.fromStack(m).hasResourceProperties('OS::Cinder::Volume', { size: 20 });
    expect(JSON.stringify(m.toTemplate())).toContain('OnCalendar=daily');
  });

  it("fails with the cluster's etcd path when the size is even", () =>
    failsWith(() => cluster({ etcd: { size: 2 } }), 'test/Cluster/Etcd', /^size must be odd .*; got 2$/));
});

describe('the Swift temp URL key of the etcd backups', () => {
  it('is made at synth into the 0600 state directory, reaches Heat only through the secrets file, and is reused', async () => {
    const work = await mkdtemp(join(tmpdir(), 'hotk8s-swift-key-'));
    const run = async () => {
      const { app } = cluster({ etcd: { backup: { swift: { deleteAfterDays: 7 } } } });
      return synthesize(app, { outdir: join(work, 'out'), stateDir: join(work, 'state') });
    };
    const first = await run();
    const keyFile = join(work, 'state', 'k8s', 'pki', SWIFT_TEMP_URL_KEY_FILE);
    expect(((await stat(keyFile)).mode & 0o777).toString(8)).toBe('600');
    const key = (await readFile(keyFile, 'utf8')).trim();
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    const s = first.manifest.stacks[0]!;
    const secrets = yaml.load(await readFile(join(work, 'out', s.secretEnvironment!), 'utf8')) as {
      parameter_defaults: Record<string, string>;
    };
    expect(secrets.parameter_defaults['etcd_backup_swift_key']).toBe(key);
    const files = await readdir(join(work, 'out'));
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) {
      if (f === s.secretEnvironment) continue;
      expect((await readFile(join(work, 'out', f), 'utf8')).includes(key), `${f} holds the key`).toBe(false);
    }
    await run();
    expect((await readFile(keyFile, 'utf8')).trim()).toBe(key);
    // Clusters without Swift backups get no key (and no parameter).
    const other = await mkdtemp(join(tmpdir(), 'hotk8s-swift-key-'));
    const plain = await synthesize(cluster({ etcd: { backup: {} } }).app, { outdir: join(other, 'out'), stateDir: join(other, 'state') });
    expect(plain.manifest.stacks[0]!.parameters).not.toHaveProperty('etcd_backup_swift_key');
    expect(await readdir(join(other, 'state', 'k8s', 'pki'))).not.toContain(SWIFT_TEMP_URL_KEY_FILE);
  }, 60_000);

  it('refuses a key file others can read, or one that holds no key, naming the file', async () => {
    const state = await mkdtemp(join(tmpdir(), 'hotk8s-swift-key-'));
    const dir = join(state, 'c1', 'pki');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = join(dir, SWIFT_TEMP_URL_KEY_FILE);
    writeFileSync(file, `${'a'.repeat(64)}\n`, { mode: 0o644 });
    chmodSync(file, 0o644);
    expect(() => loadOrCreateSwiftTempUrlKey(state, 'c1')).toThrow(new RegExp(`${file} has mode 0644; secret material must be 0600`));
    chmodSync(file, 0o600);
    expect(loadOrCreateSwiftTempUrlKey(state, 'c1')).toBe('a'.repeat(64));
    writeFileSync(file, 'short key\n');
    expect(() => loadOrCreateSwiftTempUrlKey(state, 'c1')).toThrow(
      new RegExp(`${file} must hold a temp URL key of 32-128 letters and digits; got 9 characters`),
    );
  });
});
