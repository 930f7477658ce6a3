import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { compileTypeScript } from '../../src/cli/load-app.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const L1 = join(ROOT, 'examples', 'l1-network-server.ts');

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

describe('hotk8s synth', () => {
  it('writes the output contract for a TypeScript app and prints the create command', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hotk8s-cli-'));
    const { io: s, out } = io();
    const code = await main(['synth', L1, '--out', join(dir, 'out'), '--state', join(dir, 'state')], s);
    expect(code).toBe(0);
    expect((await readdir(join(dir, 'out'))).sort()).toEqual(['l1-server.env.yaml', 'l1-server.yaml', 'manifest.json']);
    expect(out.join('\n')).toContain(
      'openstack stack create -t l1-server.yaml -e l1-server.env.yaml --parameter image=<glance.image> --parameter key_name=<nova.keypair> --wait l1-server',
    );
    expect(out.join('\n')).toMatch(/ {2}request: \d+\.\d KiB of the 1024\.0 KiB heat-api takes \(max_json_body_size\)/);
  }, 60_000); // the first synth of the file loads the library: slow on a shared machine

  it('refuses an unknown option with exit 2 and runs nothing (a typo of --out must not write elsewhere)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hotk8s-cli-'));
    const { io: s, err } = io();
    const code = await main(['synth', L1, '--ouy', join(dir, 'out'), '--state', join(dir, 'state')], s);
    expect(code).toBe(2);
    expect(err.join('\n')).toMatch(/^hotk8s: Unknown argument: ouy/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('prints a single-file stack with --stdout and writes nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hotk8s-cli-'));
    const { io: s, out } = io();
    expect(await main(['synth', L1, '--stdout', '--out', join(dir, 'out')], s)).toBe(0);
    expect(out.join('')).toMatch(/^heat_template_version: '2018-08-31'\n/);
    await expect(readdir(join(dir, 'out'))).rejects.toThrow();
  }, 60_000);

  it('lists every validation error and exits 1', async () => {
    // inside the repository, so that the program can import 'constructs' like a user's project would
    await mkdir(join(ROOT, '.cache'), { recursive: true });
    const dir = await mkdtemp(join(ROOT, '.cache', 'cli-'));
    const app = join(dir, 'bad.ts');
    await writeFile(
      app,
      `import { App, HeatStack, HeatParameter } from ${JSON.stringify(join(ROOT, 'src', 'index.ts'))};
       import { Construct } from 'constructs';
       export default () => {
         const app = new App();
         const s = new HeatStack(app, 'bad', { templateVersion: '2013-05-23' });
         new HeatParameter(s, 'p', { type: 'string', tags: ['x'] });
         new Construct(s, 'C').node.addValidation({ validate: () => ['size must be odd; got 4'] });
         return app;
       };`,
    );
    const { io: s, err } = io();
    const code = await main(['synth', app, '--out', join(dir, 'out')], s);
    expect(code, err.join('\n')).toBe(1);
    expect(err.join('\n')).toContain('hotk8s: 2 errors:');
    expect(err.join('\n')).toContain('bad/C: size must be odd; got 4');
    expect(err.join('\n')).toContain('bad/p: parameter tags need heat_template_version 2018-03-02');
    await rm(dir, { recursive: true, force: true });
  });

  it('fails clearly when the module exports no app', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hotk8s-cli-'));
    const app = join(dir, 'none.ts');
    await writeFile(app, 'export const x = 1;\n');
    const { io: s, err } = io();
    expect(await main(['synth', app], s)).toBe(1);
    expect(err.join('\n')).toMatch(/the default export must be an App, a HeatStack, or a function returning one; got no default export/);
  });

  it('reports a program that cannot be loaded as an error of that file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hotk8s-cli-'));
    const app = join(dir, 'broken.ts');
    await writeFile(app, "import { nothing } from 'no-such-package-hotk8s';\nexport default nothing;\n");
    const { io: s, err } = io();
    expect(await main(['synth', app], s)).toBe(1);
    expect(err.join('\n')).toMatch(/broken.ts: could not load the program: .*no-such-package-hotk8s/);
  });

  it('names the ready-made stacks when asked for one that does not exist', async () => {
    const { io: s, err } = io();
    expect(await main(['synth', '--stack', 'nope'], s)).toBe(1);
    expect(err.join('\n')).toBe('hotk8s: stacks/nope: no such ready-made stack (try default, dev or multi-pool)');
  });

  it('rejects unknown commands and options', async () => {
    const { io: s, err } = io();
    expect(await main(['synthesise'], s)).toBe(2);
    expect(err.join('\n')).toMatch(/hotk8s: /);
  });
});

describe('hotk8s validate', () => {
  it('accepts a synthesized directory and rejects a broken file with a sentence', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hotk8s-cli-'));
    const { io: s } = io();
    expect(await main(['synth', L1, '--out', join(dir, 'out'), '--state', join(dir, 'state')], s)).toBe(0);
    const ok = io();
    expect(await main(['validate', join(dir, 'out')], ok.io)).toBe(0);
    const text = await readFile(join(dir, 'out', 'l1-server.yaml'), 'utf8');
    await writeFile(join(dir, 'broken.yaml'), text.replace('ip_version: 4', 'ip_version: 5'));
    const bad = io();
    expect(await main(['validate', join(dir, 'broken.yaml')], bad.io)).toBe(1);
    expect(bad.err.join('\n')).toMatch(/ip_version/);
  });
});

describe('hotk8s validate --engine heat', () => {
  it('runs the real Heat engine over a synth output directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hotk8s-cli-'));
    const { io: s } = io();
    expect(await main(['synth', L1, '--out', join(dir, 'out'), '--state', join(dir, 'state')], s)).toBe(0);
    const r = io();
    expect(await main(['validate', '--engine', 'heat', join(dir, 'out')], r.io), r.err.join('\n')).toBe(0);
    expect(r.out.join('\n')).toMatch(/^ok \(Heat 19\.0\.0\): .*l1-server\.yaml/);
    const text = await readFile(join(dir, 'out', 'l1-server.yaml'), 'utf8');
    await writeFile(join(dir, 'out', 'l1-server.yaml'), text.replace('ip_version: 4', 'ip_version: 5'));
    const bad = io();
    expect(await main(['validate', '--engine', 'heat', join(dir, 'out')], bad.io)).toBe(1);
    expect(bad.err.join('\n')).toMatch(/ip_version: 5 is not an allowed value/);
  }, 60_000);
});

describe('compiled TypeScript programs are cached', () => {
  it('reuses the compiled program while its files and tsconfig are unchanged, and compiles again when one changes', async () => {
    await mkdir(join(ROOT, '.cache'), { recursive: true });
    const dir = await mkdtemp(join(ROOT, '.cache', 'cli-cache-'));
    try {
      const app = join(dir, 'app.ts');
      await writeFile(join(dir, 'size.ts'), 'export const size: number = 3;\n');
      await writeFile(app, "import { size } from './size.js';\nexport default function (): number { return size; }\n");
      const cache = join(dir, 'state', 'cache');
      const first = await compileTypeScript(app, cache);
      expect(first.from).toBe('esbuild');
      expect(((await stat(join(dir, 'state'))).mode & 0o777).toString(8)).toBe('700');
      const again = await compileTypeScript(app, cache);
      expect(again).toEqual({ text: first.text, from: 'cache' });
      // a file it imports changes
      await writeFile(join(dir, 'size.ts'), 'export const size: number = 4;\n');
      const changed = await compileTypeScript(app, cache);
      expect(changed.from).toBe('esbuild');
      expect(changed.text).toContain('size = 4');
      expect((await compileTypeScript(app, cache)).from).toBe('cache');
      // a tsconfig appears beside it
      await writeFile(join(dir, 'tsconfig.json'), '{ "compilerOptions": { "useDefineForClassFields": false } }\n');
      expect((await compileTypeScript(app, cache)).from).toBe('esbuild');
      expect((await compileTypeScript(app, cache)).from).toBe('cache');
      // without a cache directory nothing is kept
      expect((await compileTypeScript(app)).from).toBe('esbuild');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
