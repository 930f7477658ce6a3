/**
 * `--help` with examples and `--json` on every command, `init --json`, and `synth --stdout` for a stack with nested
 * templates and secrets: the root template on standard output, every file (the secrets only in their 0600 file) in --out.
 */
import { mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

const COMMANDS = ['init', 'synth', 'validate', 'params', 'diff', 'update', 'graph', 'kubeconfig', 'teardown'];

describe('--help', () => {
  it.each(COMMANDS)('%s --help lists --json and at least one example of the command', async (command) => {
    const c = capture();
    expect(await main([command, '--help'], c.io)).toBe(0);
    const text = c.out.join('\n');
    expect(text).toContain('--json');
    const examples = text.slice(text.indexOf('Examples:'));
    expect(text).toContain('Examples:');
    expect(examples).toMatch(new RegExp(`^ {2}hotk8s ${command}\\b`, 'm'));
  });

  it('the top-level help names every command and shows examples', async () => {
    const c = capture();
    expect(await main(['--help'], c.io)).toBe(0);
    const text = c.out.join('\n');
    for (const command of COMMANDS) expect(text).toMatch(new RegExp(`^ {2}hotk8s ${command}\\b`, 'm'));
    expect(text).toContain('Examples:');
    expect(text).toContain('hotk8s init my-cluster');
  });
});

describe('init --json', () => {
  it('prints the directory, the files written and the next commands; a non-empty directory is a JSON error', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'hotk8s-init-json-')), 'p');
    const c = capture();
    expect(await main(['init', dir, '--json'], c.io)).toBe(0);
    expect(c.err).toEqual([]);
    expect(c.out).toHaveLength(1);
    const r = JSON.parse(c.out[0]!) as { ok: boolean; dir: string; from: string | null; files: string[]; next: string[] };
    expect(r).toMatchObject({ ok: true, dir, from: null });
    expect(r.files.sort()).toEqual(['.gitignore', 'README.md', 'app.ts', 'package.json', 'test/app.test.ts', 'tsconfig.json']);
    expect(r.next.slice(-3)).toEqual(['npm install', 'npm run synth', 'npm test']);
    for (const f of r.files) expect((await stat(join(dir, f))).isFile()).toBe(true);

    const again = capture();
    expect(await main(['init', dir, '--json'], again.io)).toBe(1);
    expect(again.err).toEqual([]);
    const e = JSON.parse(again.out.join('\n')) as { ok: boolean; exitCode: number; errors: { path: string; message: string }[] };
    expect(e).toMatchObject({ ok: false, exitCode: 1 });
    expect(e.errors[0]!.message).toMatch(/^the directory is not empty \(6 entries: .*\); use --force/);

    const bad = capture();
    expect(await main(['init', join(dir, 'q'), '--from', 'nope', '--json'], bad.io)).toBe(1);
    const b = JSON.parse(bad.out.join('\n')) as { errors: { path: string; message: string }[] };
    expect(b.errors).toEqual([
      { path: '--from nope', message: expect.stringMatching(/^no such ready-made stack \(try default, dev, multi-pool\)/) },
    ]);
  });
});

describe('synth --stdout for a cluster stack', () => {
  let dir: string;
  const c = capture();
  let code: number;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hotk8s-stdout-'));
    code = await main(['synth', '--stack', 'dev', '--stdout', '--out', join(dir, 'out'), '--state', join(dir, 'state')], c.io);
  }, 120_000);

  it('prints the root template, the same as the file written beside its nested templates', async () => {
    expect(code, c.err.join('\n')).toBe(0);
    expect(c.out).toHaveLength(1);
    const printed = c.out[0]!;
    expect(printed).toMatch(/^heat_template_version: /);
    const manifest = JSON.parse(await readFile(join(dir, 'out', 'manifest.json'), 'utf8')) as {
      stacks: { name: string; template: string; files: string[]; secretEnvironment: string | null }[];
    };
    expect(manifest.stacks).toHaveLength(1);
    const s = manifest.stacks[0]!;
    expect(printed).toBe(await readFile(join(dir, 'out', s.template), 'utf8'));
    expect(s.files.length).toBeGreaterThan(0);
    // the nested templates it names are there, where `openstack stack create -t out/<template>` resolves them
    const written = await readdir(join(dir, 'out'));
    for (const f of s.files) expect(written).toContain(f);
    const referenced = [...printed.matchAll(/\b([\w.-]+\.yaml)\b/g)].map((m) => m[1]!).filter((f) => s.files.includes(f));
    expect(referenced.length).toBeGreaterThan(0);
    // standard error says where the rest went and how to create the stack
    expect(c.err.join('\n')).toMatch(new RegExp(`^dev: root template ${s.template} on standard output; wrote it with .* to \\S+/$`, 'm'));
    expect(c.err.join('\n')).toContain(`create with: (cd `);
  });

  it('keeps the secrets out of standard output: only in the 0600 secrets file', async () => {
    const manifest = JSON.parse(await readFile(join(dir, 'out', 'manifest.json'), 'utf8')) as {
      stacks: { secretEnvironment: string | null }[];
    };
    const secretFile = join(dir, 'out', manifest.stacks[0]!.secretEnvironment!);
    expect((await stat(secretFile)).mode & 0o777).toBe(0o600);
    const secrets = (await readFile(secretFile, 'utf8'))
      .split('\n')
      .map((l) => /^\s+\w+:\s*['"]?([^'"\s|>]{12,})/.exec(l)?.[1])
      .filter((v): v is string => v !== undefined);
    expect(secrets.length).toBeGreaterThan(0);
    const shown = c.out.join('\n') + c.err.join('\n');
    for (const v of secrets) expect(shown.includes(v), `a secret value on standard output or error`).toBe(false);
  });

  it('refuses --stdout with --json (one JSON object or a template, not both)', async () => {
    const x = capture();
    expect(await main(['synth', '--stack', 'dev', '--stdout', '--json', '--out', join(dir, 'o2')], x.io)).toBe(2);
    expect(x.err.join('\n')).toMatch(/mutually exclusive/);
    await expect(readdir(join(dir, 'o2'))).rejects.toThrow();
  });

  it('refuses an app of several stacks, naming them', async () => {
    const app = join(dir, 'two.mjs');
    const lib = join(import.meta.dirname, '..', '..', 'src', 'index.ts');
    await writeFile(
      app,
      `import { App, HeatStack } from ${JSON.stringify(lib)};\nexport default () => { const a = new App(); new HeatStack(a, 'one'); new HeatStack(a, 'two'); return a; };\n`,
    );
    const x = capture();
    expect(await main(['synth', app, '--stdout', '--out', join(dir, 'o3'), '--state', join(dir, 's3')], x.io)).toBe(1);
    expect(x.err.join('\n')).toContain("one, two: --stdout prints one stack's root template; this app has 2 stacks");
  }, 60_000);
});

describe('--json errors on every command', () => {
  it.each([
    ['params', (d: string) => ['params', d, '--json']],
    ['diff', (d: string) => ['diff', d, d, '--json']],
    ['graph', (d: string) => ['graph', d, '--json']],
    ['kubeconfig', (d: string) => ['kubeconfig', 's', '--state', join(d, 'none'), '--api-address', '203.0.113.7', '--json']],
    ['teardown', (d: string) => ['teardown', 's', '--dry-run', '--openstack', join(d, 'no-openstack'), '--json']],
    ['update', (d: string) => ['update', 's', '--openstack', join(d, 'no-openstack'), '--json']],
  ] as const)('%s: one JSON object on standard output, nothing on standard error, exit 1', async (_name, argv) => {
    const d = await mkdtemp(join(tmpdir(), 'hotk8s-json-err-'));
    const c = capture();
    expect(await main([...argv(d)], c.io)).toBe(1);
    expect(c.err).toEqual([]);
    const r = JSON.parse(c.out.join('\n')) as { ok: boolean; exitCode: number; errors: { path: string; message: string }[] };
    expect(r).toMatchObject({ ok: false, exitCode: 1 });
    expect(r.errors.length).toBe(1);
    expect(r.errors[0]!.message.length).toBeGreaterThan(10);
  });
});
