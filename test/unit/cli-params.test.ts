import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { createCommandWithParameters, paramsSkeleton, siteParameters } from '../../src/cli/params.js';
import type { Manifest, StackManifest } from '../../src/core/synthesis.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

describe('hotk8s params', () => {
  it('prints a skeleton whose live keys are exactly the required parameters of the manifest, the others commented', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hotk8s-params-'));
    const synth = capture();
    expect(await main(['synth', '--stack', 'dev', '--out', join(dir, 'out'), '--state', join(dir, 'state')], synth.io)).toBe(0);
    const manifest = JSON.parse(await readFile(join(dir, 'out', 'manifest.json'), 'utf8')) as Manifest;
    const stack = manifest.stacks[0]!;
    const required = Object.entries(stack.parameters)
      .filter(([, p]) => p.required)
      .map(([n]) => n)
      .sort();
    expect(required.length).toBeGreaterThan(0);

    // the printed create command names every required parameter, nothing else
    const create = synth.out.find((l) => l.includes('create with:'))!;
    expect([...create.matchAll(/--parameter ([a-z0-9_]+)=<[a-z._]+>/g)].map((m) => m[1]).sort()).toEqual(required);
    expect(create).toMatch(/--parameter \S+ --wait dev\)$/);

    // from the program (synthesized in memory) and from the output directory: the same skeleton
    const fromApp = capture();
    expect(await main(['params', '--stack', 'dev'], fromApp.io), fromApp.err.join('\n')).toBe(0);
    const fromDir = capture();
    expect(await main(['params', join(dir, 'out')], fromDir.io)).toBe(0);
    expect(fromDir.out).toEqual(fromApp.out);

    const text = fromApp.out.join('\n');
    const doc = yaml.load(text) as { parameters: Record<string, unknown> };
    expect(Object.keys(doc.parameters).sort()).toEqual(required);
    // every optional parameter is there, commented out with its default; no generated secret is
    const template = yaml.load(await readFile(join(dir, 'out', stack.template), 'utf8')) as {
      parameters: Record<string, { hidden?: boolean }>;
    };
    const secrets = Object.keys(template.parameters).filter((n) => template.parameters[n]!.hidden);
    expect(secrets.length).toBeGreaterThan(0);
    for (const name of Object.keys(template.parameters)) {
      if (secrets.includes(name)) expect(text).not.toContain(name);
      else if (!required.includes(name)) expect(text).toMatch(new RegExp(`\\n {2}# ${name}: `));
    }
    expect(text).toContain('  # api_allowed_cidrs: [0.0.0.0/0]');
    expect(text).toMatch(
      /# type: number\n {2}# constraint: 0 to 5 \(group default holds 0 to 5 workers\)\n {2}# default: 1 \(set by dev\.env\.yaml\)/,
    );
    expect(text).toMatch(
      /# Image \(required\)\n {2}# Glance image[^\n]*\n {2}# type: string\n {2}# constraint: a glance\.image\n {2}image: "<glance\.image>"/,
    );
  }, 120_000);

  it('gives the parameters as JSON with --json', async () => {
    const r = capture();
    expect(await main(['params', '--stack', 'dev', '--json'], r.io)).toBe(0);
    const [entry] = JSON.parse(r.out.join('\n')) as {
      stack: string;
      parameters: { name: string; required: boolean }[];
      createCommand: string;
    }[];
    expect(entry!.stack).toBe('dev');
    expect(entry!.parameters.find((p) => p.name === 'image')).toMatchObject({
      required: true,
      type: 'string',
      constraints: ['a glance.image'],
    });
    expect(entry!.createCommand).toContain('--parameter image=<glance.image>');
  }, 120_000);

  it('refuses a directory that is not a synth output in one sentence', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hotk8s-params-'));
    const r = capture();
    expect(await main(['params', dir], r.io)).toBe(1);
    expect(r.err).toEqual([`hotk8s: ${dir}: a directory must be a synth output (it holds no manifest.json)`]);
  });
});

describe('siteParameters on a crafted stack', () => {
  const stack: StackManifest = {
    name: 's',
    template: 's.yaml',
    environment: 's.env.yaml',
    secretEnvironment: 's.secrets.env.yaml',
    files: [],
    sharedFiles: {},
    artifacts: [],
    parameters: {
      flavor: { type: 'string', required: true, hidden: false },
      size: { type: 'number', required: false, hidden: false },
      cidrs: { type: 'comma_delimited_list', required: false, hidden: false },
      token: { type: 'string', required: true, hidden: true },
      ca_key: { type: 'string', required: false, hidden: true },
    },
    createCommand: 'openstack stack create -t s.yaml -e s.env.yaml -e s.secrets.env.yaml --wait s',
  };
  const files: Record<string, string> = {
    's.yaml': yaml.dump({
      heat_template_version: '2018-08-31',
      parameters: {
        flavor: { type: 'string', label: 'Flavor', constraints: [{ custom_constraint: 'nova.flavor' }] },
        size: { type: 'number', default: 3, constraints: [{ allowed_values: [1, 3, 5] }] },
        cidrs: { type: 'comma_delimited_list', constraints: [{ length: { min: 1 }, description: 'one at least' }] },
        token: { type: 'string', hidden: true },
        ca_key: { type: 'string', hidden: true },
      },
    }),
    's.env.yaml': yaml.dump({ parameter_defaults: { cidrs: ['10.0.0.0/8'] } }),
  };
  const params = siteParameters(stack, (f) => files[f]!);

  it('lists the required first, takes defaults from the template or the environment, and leaves the generated secrets out', () => {
    expect(params.map((p) => [p.name, p.required, p.default?.from])).toEqual([
      ['flavor', true, undefined],
      ['token', true, undefined],
      ['cidrs', false, 'environment'],
      ['size', false, 'template'],
    ]);
    expect(params.find((p) => p.name === 'size')!.constraints).toEqual(['one of 1, 3, 5']);
    expect(params.find((p) => p.name === 'cidrs')!.constraints).toEqual(['length at least 1 (one at least)']);
  });

  it('names every required parameter in the create command, before --wait', () => {
    expect(createCommandWithParameters(stack, params)).toBe(
      'openstack stack create -t s.yaml -e s.env.yaml -e s.secrets.env.yaml --parameter flavor=<nova.flavor> --parameter token=<string> --wait s',
    );
  });

  it('writes a skeleton that parses, with the required keys live', () => {
    const doc = yaml.load(paramsSkeleton(stack, params)) as { parameters: Record<string, string> };
    expect(doc.parameters).toEqual({ flavor: '<nova.flavor>', token: '<string>' });
  });
});
