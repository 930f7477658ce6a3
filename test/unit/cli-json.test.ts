import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { reportError } from '../../src/cli/report.js';
import { HotError } from '../../src/core/errors.js';

function capture(tty = false) {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t), tty }, out, err };
}

const ESC = '\u001b[';
let dir: string;
let synthOut: string[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hotk8s-json-'));
  const c = capture();
  const code = await main(['synth', '--stack', 'dev', '--out', join(dir, 'out'), '--state', join(dir, 'state'), '--json'], c.io);
  if (code !== 0) throw new Error(c.out.join('\n') + c.err.join('\n'));
  expect(c.err).toEqual([]); // with --json the annotations are in the JSON, not on standard error
  synthOut = c.out;
}, 120_000);

describe('--json', () => {
  it('synth prints one JSON object: the files written, the create command, the required parameters and the warnings', async () => {
    expect(synthOut).toHaveLength(1);
    const r = JSON.parse(synthOut[0]!) as {
      ok: boolean;
      outdir: string;
      stacks: { name: string; files: string[]; createCommand: string; requiredParameters: string[] }[];
      warnings: { level: string; path: string; message: string }[];
      errors: unknown[];
    };
    expect(r.ok).toBe(true);
    expect(r.outdir).toBe(join(dir, 'out'));
    expect(r.errors).toEqual([]);
    const manifest = JSON.parse(await readFile(join(dir, 'out', 'manifest.json'), 'utf8')) as { stacks: { template: string }[] };
    expect(r.stacks.map((s) => s.name)).toEqual(['dev']);
    expect(r.stacks[0]!.files).toContain(manifest.stacks[0]!.template);
    expect(r.stacks[0]!.requiredParameters.length).toBeGreaterThan(0);
    for (const p of r.stacks[0]!.requiredParameters) expect(r.stacks[0]!.createCommand).toContain(`--parameter ${p}=`);
    expect(r.warnings.length).toBeGreaterThan(0);
    expect(r.warnings[0]).toMatchObject({ level: expect.stringMatching(/^(info|warning)$/), path: expect.stringMatching(/^dev\//) });
  });

  it('an error is a JSON object on standard output too: ok false, the exit code, the errors with their path', async () => {
    await writeFile(join(dir, 'file'), 'a regular file\n');
    const c = capture();
    expect(await main(['synth', '--stack', 'dev', '--out', join(dir, 'file', 'out'), '--state', join(dir, 'state'), '--json'], c.io)).toBe(
      1,
    );
    expect(c.err).toEqual([]);
    const r = JSON.parse(c.out.join('\n')) as { ok: boolean; exitCode: number; errors: { path: string; message: string }[] };
    expect(r).toMatchObject({ ok: false, exitCode: 1 });
    expect(r.errors[0]!.message).toMatch(/^--out \S+file\/out: cannot create the directory: a part of the path is a regular file/);
  }, 60_000);

  it('validate --json: the files checked and no errors for a synth output; errors with file and location for a broken template', async () => {
    const ok = capture();
    expect(await main(['validate', join(dir, 'out'), '--json'], ok.io), ok.err.join('\n')).toBe(0);
    const r = JSON.parse(ok.out.join('\n')) as { ok: boolean; engine: string; files: string[]; errors: unknown[] };
    expect(r).toMatchObject({ ok: true, engine: 'schema', errors: [] });
    expect(r.files).toContain(join(dir, 'out', 'dev.yaml'));

    const broken = join(dir, 'broken.yaml');
    await writeFile(
      broken,
      'heat_template_version: 2021-04-16\nresources:\n  a:\n    type: OS::Nova::Server\n    properties:\n      flavr: m1.small\n',
    );
    const bad = capture();
    expect(await main(['validate', broken, '--json'], bad.io)).toBe(1);
    const b = JSON.parse(bad.out.join('\n')) as { ok: boolean; errors: { path: string; file: string; message: string }[] };
    expect(b.ok).toBe(false);
    expect(b.errors.length).toBeGreaterThan(0);
    // the file as the validator shows it (relative to the working directory when below it), then the location
    expect(
      b.errors.some(
        (e) => resolve(e.file) === broken && e.path === `${e.file}: resources.a` && /`flavr` is not a property/.test(e.message),
      ),
    ).toBe(true);

    const missing = capture();
    expect(await main(['validate', join(dir, 'nope.yaml'), '--json'], missing.io)).toBe(1);
    expect(JSON.parse(missing.out.join('\n'))).toMatchObject({
      ok: false,
      errors: [{ path: join(dir, 'nope.yaml'), message: 'no such file or directory' }],
    });
  }, 60_000);
});

describe('terminal niceties', () => {
  it('colour only on a terminal, NO_COLOR respected', () => {
    const tty = capture(true);
    reportError(new HotError('a/b', 'bad'), tty.io);
    expect(tty.err[0]).toBe(`${ESC}31mhotk8s${ESC}0m: a/b: bad`);
    const pipe = capture(false);
    reportError(new HotError('a/b', 'bad'), pipe.io);
    expect(pipe.err[0]).toBe('hotk8s: a/b: bad');
    const saved = process.env.NO_COLOR;
    process.env.NO_COLOR = '1';
    try {
      const noColour = capture(true);
      reportError(new HotError('a/b', 'bad'), noColour.io);
      expect(noColour.err[0]).toBe('hotk8s: a/b: bad');
    } finally {
      if (saved === undefined) delete process.env.NO_COLOR;
      else process.env.NO_COLOR = saved;
    }
  });

  it('a progress line for the type-check on a terminal only; --help with examples and --version return instead of exiting', async () => {
    const app = join(dir, 'app.ts'); // outside any project with typescript: checked by nobody, but announced
    await writeFile(app, 'export default 1;\n');
    const tty = capture(true);
    await main(['synth', app, '--out', join(dir, 'o2'), '--state', join(dir, 's2')], tty.io);
    expect(tty.err[0]).toBe(`type-checking ${app}...`);
    const pipe = capture(false);
    await main(['synth', app, '--out', join(dir, 'o3'), '--state', join(dir, 's3')], pipe.io);
    expect(pipe.err.some((l) => l.includes('type-checking'))).toBe(false);

    const help = capture();
    expect(await main(['synth', '--help'], help.io)).toBe(0);
    expect(help.out.join('\n')).toContain('Examples:');
    expect(help.out.join('\n')).toContain('hotk8s synth cluster.ts --json');
    expect(help.out.join('\n')).toContain('--no-typecheck');
    const top = capture();
    expect(await main(['--help'], top.io)).toBe(0);
    expect(top.out.join('\n')).toMatch(/hotk8s kubeconfig <stack>[\s\S]*hotk8s teardown <stack>/);
    const version = capture();
    expect(await main(['--version'], version.io)).toBe(0);
    expect(version.out).toEqual([JSON.parse(await readFile(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')).version]);
  }, 60_000);
});
