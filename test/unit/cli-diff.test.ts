import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { diffOutputs, updateParameters, type SynthOutput } from '../../src/cli/diff.js';
import type { Manifest } from '../../src/core/synthesis.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

/** A synth output in memory: a root template `s.yaml`, an environment file and nested templates. */
function output(root: object, env: object = {}, nested: Record<string, object> = {}): SynthOutput {
  const files = new Map<string, string>([
    ['s.yaml', yaml.dump({ heat_template_version: '2018-08-31', ...root })],
    ['s.env.yaml', yaml.dump(env)],
    ...Object.entries(nested).map(([f, t]) => [f, yaml.dump({ heat_template_version: '2018-08-31', ...t })] as [string, string]),
  ]);
  const manifest: Manifest = {
    version: 1,
    stacks: [
      {
        name: 's',
        template: 's.yaml',
        environment: 's.env.yaml',
        secretEnvironment: null,
        files: Object.keys(nested),
        sharedFiles: {},
        artifacts: [],
        parameters: {},
        createCommand: 'openstack stack create -t s.yaml -e s.env.yaml --wait s',
      },
    ],
  };
  return { manifest, read: (f) => files.get(f)! };
}

/** A root with a group of servers (a member template) and a volume, the values from parameters. */
function cluster(o: { count?: number; flavor?: string; image?: string; volumeZone?: string; volumeSize?: number; userData?: string } = {}) {
  return output(
    {
      parameters: { flavor: { type: 'string' }, count: { type: 'number', default: 1 } },
      resources: {
        Net: { type: 'OS::Neutron::Net', properties: { name: 'n' } },
        Volume: { type: 'OS::Cinder::Volume', properties: { size: o.volumeSize ?? 10, availability_zone: o.volumeZone ?? 'az1' } },
        EtcdNodes: {
          type: 'OS::Heat::ResourceGroup',
          properties: {
            count: { get_param: 'count' },
            resource_def: { type: 's.member.yaml', properties: { flavor: { get_param: 'flavor' }, net: { get_resource: 'Net' } } },
          },
        },
      },
    },
    { parameter_defaults: { count: o.count ?? 3, flavor: o.flavor ?? 'm1.small' } },
    {
      's.member.yaml': {
        parameters: { flavor: { type: 'string' }, net: { type: 'string' } },
        resources: {
          Port: { type: 'OS::Neutron::Port', properties: { network: { get_param: 'net' } } },
          Server: {
            type: 'OS::Nova::Server',
            properties: {
              flavor: { get_param: 'flavor' },
              image: o.image ?? 'debian-12',
              user_data: o.userData ?? '#!/bin/sh',
              networks: [{ port: { get_resource: 'Port' } }],
            },
          },
        },
      },
    },
  );
}

// the first comparison loads the generated Heat types (slow on a shared machine; no speed is asserted)
describe('diffOutputs on crafted pairs', { timeout: 60_000 }, () => {
  it('finds no change between equal outputs', async () => {
    expect(await diffOutputs(cluster(), cluster())).toEqual([]);
  });

  it('a count given in the environment file resizes the group and adds its members 3 and 4, nothing else', async () => {
    const changes = await diffOutputs(cluster({ count: 3 }), cluster({ count: 5 }));
    expect(changes).toEqual([
      { path: 's/EtcdNodes', type: 'OS::Heat::ResourceGroup', kind: 'resized', stateful: false, reasons: ['count 3 -> 5'] },
      { path: 's/EtcdNodes/3', type: 's.member.yaml', kind: 'added', stateful: false, reasons: ['count 3 -> 5'] },
      { path: 's/EtcdNodes/4', type: 's.member.yaml', kind: 'added', stateful: false, reasons: ['count 3 -> 5'] },
    ]);
    // and a smaller count removes the highest members
    expect((await diffOutputs(cluster({ count: 3 }), cluster({ count: 2 }))).map((c) => [c.path, c.kind])).toEqual([
      ['s/EtcdNodes/2', 'removed'],
      ['s/EtcdNodes', 'resized'],
    ]);
  });

  it("a flavor passed down to the group's members resizes each member's server (Nova's flavor_update_policy)", async () => {
    const changes = await diffOutputs(cluster(), cluster({ flavor: 'm1.large' }));
    expect(changes.map((c) => [c.path, c.kind])).toEqual([
      ['s/EtcdNodes/[member]/Server', 'resized'],
      ['s/EtcdNodes', 'updated'],
    ]);
    expect(changes[0]!.reasons).toEqual(['flavor (flavor_update_policy RESIZE)']);
  });

  it('an image change rebuilds, a user_data change replaces (Heat defaults REBUILD and REPLACE), and a replaced etcd server is listed first', async () => {
    const rebuilt = await diffOutputs(cluster(), cluster({ image: 'debian-13' }));
    expect(rebuilt[0]).toMatchObject({
      path: 's/EtcdNodes/[member]/Server',
      kind: 'rebuilt',
      reasons: ['image (image_update_policy REBUILD)'],
    });
    const replaced = await diffOutputs(cluster({ count: 3 }), cluster({ count: 4, userData: '#!/bin/bash' }));
    expect(replaced[0]).toMatchObject({ path: 's/EtcdNodes/[member]/Server', kind: 'replaced', stateful: true });
    expect(replaced.map((c) => c.kind)).toEqual(['replaced', 'resized', 'added']);
  });

  it('a change in the member template itself (not in what the group passes) updates the group too, as Heat does', async () => {
    const changes = await diffOutputs(cluster(), cluster({ image: 'debian-13' }));
    expect(changes.map((c) => [c.path, c.kind, c.reasons])).toEqual([
      ['s/EtcdNodes/[member]/Server', 'rebuilt', ['image (image_update_policy REBUILD)']],
      ['s/EtcdNodes', 'updated', ['member template changed (below)']],
    ]);
  });

  it("follows the generated types' update semantics: a volume's size in place, its zone by replacement", async () => {
    const grown = await diffOutputs(cluster(), cluster({ volumeSize: 20 }));
    expect(grown).toEqual([
      { path: 's/Volume', type: 'OS::Cinder::Volume', kind: 'updated', stateful: true, reasons: ['size (update in place)'] },
    ]);
    const retyped = await diffOutputs(cluster(), cluster({ volumeZone: 'az2' }));
    expect(retyped).toEqual([
      { path: 's/Volume', type: 'OS::Cinder::Volume', kind: 'replaced', stateful: true, reasons: ['availability_zone (replace)'] },
    ]);
  });

  it('a replaced resource changes what its dependents see, through the member template', async () => {
    const a = cluster();
    const b = cluster();
    const root = yaml.load(b.read('s.yaml')) as { resources: Record<string, { type: string; properties: Record<string, unknown> }> };
    root.resources.Net!.type = 'OS::Neutron::ProviderNet';
    const text = yaml.dump(root);
    const changed: SynthOutput = { manifest: b.manifest, read: (f) => (f === 's.yaml' ? text : b.read(f)) };
    const changes = await diffOutputs(a, changed);
    expect(changes.map((c) => [c.path, c.kind])).toEqual([
      ['s/EtcdNodes/[member]/Port', 'replaced'], // a stateful port first
      ['s/Net', 'replaced'],
      ['s/EtcdNodes', 'updated'],
      ['s/EtcdNodes/[member]/Server', 'updated'], // its port is new: networks change in place
    ]);
  });

  it('lists added and removed resources', async () => {
    const a = output({ resources: { A: { type: 'OS::Neutron::Net' } } });
    const b = output({ resources: { B: { type: 'OS::Neutron::FloatingIP', properties: { floating_network: 'public' } } } });
    expect((await diffOutputs(a, b)).map((c) => [c.path, c.kind, c.stateful])).toEqual([
      ['s/A', 'removed', false],
      ['s/B', 'added', true],
    ]);
  });
});

/** A root like stacks/default's: per-role image parameters that default to the shared `image` through conditions. */
function roles(env: Record<string, unknown> = {}) {
  const group = (role: string, count: unknown) => ({
    type: 'OS::Heat::ResourceGroup',
    properties: {
      count,
      resource_def: {
        type: 's.node.yaml',
        properties: {
          flavor: { get_param: `${role}_flavor` },
          image: { if: [`${role}ImageGiven`, { get_param: `${role}_image` }, { get_param: 'image' }] },
          index: '%index%',
        },
      },
    },
  });
  const given = (role: string) => ({ not: { equals: [{ get_param: `${role}_image` }, ''] } });
  return output(
    {
      parameters: {
        image: { type: 'string' },
        etcd_image: { type: 'string', default: '' },
        workers_image: { type: 'string', default: '' },
        etcd_flavor: { type: 'string' },
        workers_flavor: { type: 'string' },
        workers_count: { type: 'number', default: 3 },
      },
      conditions: { etcdImageGiven: given('etcd'), workersImageGiven: given('workers') },
      resources: { Etcd: group('etcd', 3), Workers: group('workers', { get_param: 'workers_count' }) },
    },
    { parameter_defaults: env },
    {
      's.node.yaml': {
        parameters: { flavor: { type: 'string' }, image: { type: 'string' }, index: { type: 'string' } },
        resources: {
          Server: {
            type: 'OS::Nova::Server',
            properties: {
              flavor: { get_param: 'flavor' },
              image: { get_param: 'image' },
              user_data: 'x',
              user_data_update_policy: 'IGNORE',
            },
          },
        },
      },
    },
  );
}

describe('diffOutputs with the parameters an update sets (--parameter, -e)', { timeout: 60_000 }, () => {
  const kinds = (cs: readonly { path: string; kind: string }[]) => cs.map((c) => [c.path, c.kind]);

  it("a role's own image goes through the template's condition: only that role's servers are rebuilt", async () => {
    const workers = await diffOutputs(roles(), roles(), { parameters: { workers_image: 'debian-13' } });
    expect(kinds(workers)).toEqual([
      ['s/Workers/[member]/Server', 'rebuilt'],
      ['s/Workers', 'updated'],
    ]);
    expect(workers[0]!.reasons).toEqual(['image (image_update_policy REBUILD)']);
    const etcd = await diffOutputs(roles(), roles(), { parameters: { etcd_image: 'debian-13' } });
    expect(kinds(etcd)).toEqual([
      ['s/Etcd/[member]/Server', 'rebuilt'],
      ['s/Etcd', 'updated'],
    ]);
  });

  it('the shared image rebuilds every role without an image of its own; an empty role image changes nothing', async () => {
    const shared = await diffOutputs(roles({ workers_image: 'ubuntu-24.04' }), roles({ workers_image: 'ubuntu-24.04' }), {
      parameters: { image: 'debian-13' },
    });
    expect(kinds(shared)).toEqual([
      ['s/Etcd/[member]/Server', 'rebuilt'],
      ['s/Etcd', 'updated'],
    ]);
    expect(await diffOutputs(roles(), roles(), { parameters: { etcd_image: '' } })).toEqual([]);
  });

  it('a flavor resizes, a count given as text is a number (the same count: no change; more: members added)', async () => {
    expect(kinds(await diffOutputs(roles(), roles(), { parameters: { etcd_flavor: 'm1.xlarge' } }))).toEqual([
      ['s/Etcd/[member]/Server', 'resized'],
      ['s/Etcd', 'updated'],
    ]);
    expect(await diffOutputs(roles(), roles(), { parameters: { workers_count: '3' } })).toEqual([]);
    expect(kinds(await diffOutputs(roles(), roles(), { parameters: { workers_count: '5' } }))).toEqual([
      ['s/Workers', 'resized'],
      ['s/Workers/3', 'added'],
      ['s/Workers/4', 'added'],
    ]);
  });

  it('user_data under IGNORE is no change; a parameter no stack declares is an error naming it and its value', async () => {
    await expect(diffOutputs(roles(), roles(), { parameters: { workers_imag: 'x' } })).rejects.toThrow(
      '--parameter workers_imag: no stack of NEW declares the parameter workers_imag (value "x")',
    );
  });

  it('environment files then KEY=VALUE, as openstack stack update takes them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hotk8s-diff-env-'));
    const env = join(dir, 'site.env.yaml');
    await writeFile(env, yaml.dump({ parameter_defaults: { image: 'a', etcd_image: 'b' }, parameters: { image: 'c' } }));
    expect(updateParameters([env], ['etcd_image=d=e'])).toEqual({ image: 'c', etcd_image: 'd=e' });
    expect(() => updateParameters([], ['etcd_image'])).toThrow('--parameter etcd_image: a parameter is KEY=VALUE, not "etcd_image"');
    expect(() => updateParameters([join(dir, 'none.yaml')], [])).toThrow('environment file not found');
    await writeFile(env, yaml.dump({ parameters: ['x'] }));
    expect(() => updateParameters([env], [])).toThrow('parameters must be a mapping, not ["x"]');
  });
});

describe('diffOutputs with resources marked unhealthy (--unhealthy)', { timeout: 60_000 }, () => {
  it("a marked member's server is replaced (an etcd server: stateful, first); the other members are not", async () => {
    const changes = await diffOutputs(roles(), roles(), { unhealthy: ['s/Etcd/1/Server'] });
    expect(changes).toEqual([
      {
        path: 's/Etcd/1/Server',
        type: 'OS::Nova::Server',
        kind: 'replaced',
        stateful: true,
        reasons: ['marked unhealthy: Heat replaces it'],
      },
      { path: 's/Etcd', type: 'OS::Heat::ResourceGroup', kind: 'updated', stateful: false, reasons: ['1/Server marked unhealthy (below)'] },
    ]);
  });

  it('with a change to every member, the marked one is replaced and the others follow the change', async () => {
    const changes = await diffOutputs(roles(), roles(), { parameters: { etcd_flavor: 'm1.xlarge' }, unhealthy: ['s/Etcd/0/Server'] });
    expect(changes.map((c) => [c.path, c.kind])).toEqual([
      ['s/Etcd/0/Server', 'replaced'],
      ['s/Etcd/[member]/Server', 'resized'],
      ['s/Etcd', 'updated'],
    ]);
  });

  it('refuses a path that names no resource, with the path and the rule', async () => {
    await expect(diffOutputs(roles(), roles(), { unhealthy: ['s/Etcd/one/Server'] })).rejects.toThrow(
      's/Etcd/one/Server: --unhealthy: a member of group s/Etcd is named by its index (0, 1, ...), not one',
    );
    await expect(diffOutputs(roles(), roles(), { unhealthy: ['s/Etc/1/Server'] })).rejects.toThrow(
      's/Etc/1/Server: --unhealthy: s has no resource Etc in both OLD and NEW',
    );
    await expect(diffOutputs(roles(), roles(), { unhealthy: ['t/Etcd'] })).rejects.toThrow(
      '--unhealthy t/Etcd: a resource path <stack>/<resource>[/<member index>/<resource>...] in a stack of NEW (s), not "t/Etcd"',
    );
  });
});

describe('hotk8s diff', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hotk8s-diff-'));
    const r = capture();
    const code = await main(['synth', '--stack', 'dev', '--out', join(dir, 'old')], r.io);
    if (code !== 0) throw new Error(r.err.join('\n'));
    await cp(join(dir, 'old'), join(dir, 'new'), { recursive: true });
  }, 120_000);

  it('compares the last synth output (--out) with the program synthesized now: no change', async () => {
    const r = capture();
    expect(await main(['diff', '--stack', 'dev', '--out', join(dir, 'old')], r.io), r.err.join('\n')).toBe(0);
    expect(r.out).toEqual(['no changes']);
  }, 120_000);

  it('says loudly that a stateful resource is replaced, exits 3 with --fail-on-replace=stateful, and gives JSON', async () => {
    const env = join(dir, 'new', 'dev.env.yaml');
    await writeFile(env, (await readFile(env, 'utf8')).replace('workers_default_count: 1', 'workers_default_count: 4'));
    const tpl = join(dir, 'new', 'dev.yaml');
    await writeFile(tpl, (await readFile(tpl, 'utf8')).replace(/cidr: 10\.0\.0\.0\/24/, 'cidr: 10.9.0.0/24'));
    const text = capture();
    expect(await main(['diff', join(dir, 'old'), join(dir, 'new')], text.io)).toBe(0);
    expect(text.out.join('\n')).toMatch(
      /^resized {2}dev\/ClusterWorkersdefaultWorkers\w+Group\w+ \(OS::Heat::ResourceGroup\): count 1 -> 4$/m,
    );
    expect(text.out.join('\n')).toMatch(/^replaced dev\/ClusterNetworkSubnet\w+ \(OS::Neutron::Subnet\): [^\n]*cidr \(replace\)/m);
    const ci = capture();
    expect(await main(['diff', join(dir, 'old'), join(dir, 'new'), '--fail-on-replace=stateful'], ci.io)).toBe(0); // a subnet is not stateful
    const any = capture();
    expect(await main(['diff', join(dir, 'old'), join(dir, 'new'), '--fail-on-replace=any', '--json'], any.io)).toBe(3);
    const json = JSON.parse(any.out.join('\n')) as { changes: { kind: string }[]; statefulReplacements: number };
    expect(json.statefulReplacements).toBe(0);
    expect(json.changes.some((c) => c.kind === 'resized')).toBe(true);
  });

  it('exits 3 on a replaced floating IP with --fail-on-replace=stateful and prints it first', async () => {
    // the program now names the external network: the floating IP's network is another value
    const env = join(dir, 'new', 'dev.env.yaml');
    await writeFile(
      env,
      (await readFile(env, 'utf8')).replace('parameter_defaults:\n', 'parameter_defaults:\n  external_network: public\n'),
    );
    const r = capture();
    expect(await main(['diff', join(dir, 'old'), join(dir, 'new'), '--fail-on-replace=stateful'], r.io)).toBe(3);
    expect(r.out[0]).toMatch(
      /^!! REPLACED STATEFUL dev\/ClusterMasterFloatingIp\w+ \(OS::Neutron::FloatingIP\): floating_network \(replace\)$/,
    );
  });

  it('--parameter and -e: a parameter-only update of the same output, through the CLI', async () => {
    const r = capture();
    expect(await main(['diff', join(dir, 'old'), join(dir, 'old'), '--parameter', 'master_flavor=m1.xlarge'], r.io), r.err.join('\n')).toBe(
      0,
    );
    expect(r.out.join('\n')).toMatch(
      /^resized {2}dev\/ClusterControlMastersNodesGroup\w+\/\[member\]\/Server \(OS::Nova::Server\): flavor \(flavor_update_policy RESIZE\)$/m,
    );
    const envFile = join(dir, 'update.env.yaml');
    await writeFile(envFile, yaml.dump({ parameters: { etcd_image: 'debian-13' } }));
    const e = capture();
    expect(await main(['diff', join(dir, 'old'), join(dir, 'old'), '-e', envFile, '--json'], e.io), e.err.join('\n')).toBe(0);
    const json = JSON.parse(e.out.join('\n')) as { changes: { path: string; kind: string }[] };
    expect(json.changes.filter((c) => c.kind === 'rebuilt').map((c) => c.path)).toEqual([
      expect.stringMatching(/^dev\/ClusterEtcdMembersNodesGroup\w+\/\[member\]\/Server$/),
    ]);
    const bad = capture();
    expect(await main(['diff', join(dir, 'old'), join(dir, 'old'), '--parameter', 'master_flavour=m1.xlarge'], bad.io)).toBe(1);
    expect(bad.err.join('\n')).toContain(
      '--parameter master_flavour: no stack of NEW declares the parameter master_flavour (value "m1.xlarge")',
    );
  });

  it('refuses a directory without a manifest in one sentence', async () => {
    const r = capture();
    expect(await main(['diff', dir, join(dir, 'new')], r.io)).toBe(1);
    expect(r.err).toEqual([
      `hotk8s: ${dir}: not a synth output directory (it holds no manifest.json): run hotk8s synth first, or name one`,
    ]);
  });
});
