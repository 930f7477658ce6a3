import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { diffOutputs, type SynthOutput } from '../../src/cli/diff.js';
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

  it('a count given in the environment file resizes the group, nothing else', async () => {
    const changes = await diffOutputs(cluster({ count: 3 }), cluster({ count: 5 }));
    expect(changes).toEqual([
      { path: 's/EtcdNodes', type: 'OS::Heat::ResourceGroup', kind: 'resized', stateful: false, reasons: ['count 3 -> 5'] },
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
    expect(replaced.map((c) => c.kind)).toEqual(['replaced', 'resized']);
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

describe('hotk8s diff', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hotk8s-diff-'));
    const r = capture();
    const code = await main(['synth', '--stack', 'dev', '--out', join(dir, 'old'), '--state', join(dir, 'state')], r.io);
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

  it('refuses a directory without a manifest in one sentence', async () => {
    const r = capture();
    expect(await main(['diff', dir, join(dir, 'new')], r.io)).toBe(1);
    expect(r.err).toEqual([
      `hotk8s: ${dir}: not a synth output directory (it holds no manifest.json): run hotk8s synth first, or name one`,
    ]);
  });
});
