/**
 * `hotk8s init`: the files of a new project, --from, and the refusal of a non-empty directory. That the project
 * installs, synthesizes and passes its own test from a packed tarball is test/heat/package-tarball.test.ts.
 */
import { mkdtemp, readdir, readFile, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

async function listed(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map((f) => f.split('\\').join('/')).sort();
}

describe('hotk8s init', () => {
  it('writes an ESM project depending on the running hotk8s, with synth and test scripts', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'hotk8s-init-')), 'My Cluster');
    const { io: s, out, err } = io();
    expect(await main(['init', dir], s)).toBe(0);
    expect(err).toEqual([]);
    expect(await listed(dir)).toEqual(['.gitignore', 'README.md', 'app.ts', 'package.json', 'test', 'test/app.test.ts', 'tsconfig.json']);
    const own = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
      version: string;
      peerDependencies: Record<string, string>;
    };
    const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as Record<string, Record<string, string> | string>;
    expect(pkg.name).toBe('my-cluster');
    expect(pkg.type).toBe('module');
    expect(pkg.scripts).toEqual({ synth: 'hotk8s synth app.ts', test: 'vitest run' });
    expect(pkg.dependencies).toEqual({ hotk8s: `^${own.version}`, constructs: own.peerDependencies['constructs'] });
    expect(Object.keys(pkg.devDependencies!).sort()).toEqual(['@types/node', 'typescript', 'vitest']);
    const tsconfig = JSON.parse(await readFile(join(dir, 'tsconfig.json'), 'utf8')) as { compilerOptions: Record<string, unknown> };
    expect(tsconfig.compilerOptions).toMatchObject({ module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: true });
    const app = await readFile(join(dir, 'app.ts'), 'utf8');
    expect(app).toContain("from 'hotk8s'");
    expect(app).toContain('new Cluster(');
    const test = await readFile(join(dir, 'test', 'app.test.ts'), 'utf8');
    expect(test).toContain("from 'hotk8s/assertions'");
    expect(test).toContain("from '../app.js'");
    const ignored = (await readFile(join(dir, '.gitignore'), 'utf8')).split('\n');
    for (const line of ['node_modules/', '.hotk8s/', 'hotk8s.out/', 'out/', '*.secrets.env.yaml']) expect(ignored).toContain(line);
    expect(out.join('\n')).toContain('npm install');
  });

  it('synthesizes the written app with the CLI (resolving hotk8s to this source tree)', async () => {
    // inside the repository, so that the app's `import 'constructs'` resolves; hotk8s is pointed at the sources
    await mkdir(join(ROOT, '.cache'), { recursive: true });
    const dir = join(await mkdtemp(join(ROOT, '.cache', 'init-')), 'p');
    expect(await main(['init', dir], io().io)).toBe(0);
    const app = (await readFile(join(dir, 'app.ts'), 'utf8')).replace(
      "from 'hotk8s'",
      `from ${JSON.stringify(join(ROOT, 'src', 'index.ts'))}`,
    );
    await writeFile(join(dir, 'app.ts'), app);
    const { io: s, err } = io();
    const code = await main(['synth', join(dir, 'app.ts'), '--out', join(dir, 'out'), '--state', join(dir, 'state')], s);
    expect(err.join('\n')).not.toMatch(/error/i);
    expect(code).toBe(0);
    expect(await readdir(join(dir, 'out'))).toContain('cluster.yaml');
  }, 60_000);

  it('starts from a ready-made stack with --from, importing hotk8s instead of ../src', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hotk8s-init-'));
    expect(await main(['init', dir, '--from', 'dev'], io().io)).toBe(0);
    const app = await readFile(join(dir, 'app.ts'), 'utf8');
    const stack = await readFile(join(ROOT, 'stacks', 'dev.ts'), 'utf8');
    expect(app).toBe(stack.replace("from '../src/index.js'", "from 'hotk8s'"));
    expect(app).not.toContain('../src');
    const { io: s, err } = io();
    expect(await main(['init', join(dir, 'other'), '--from', 'nope'], s)).toBe(1);
    expect(err.join('\n')).toMatch(/--from nope: no such ready-made stack \(try default, dev, multi-pool\)/);
  });

  it('refuses a non-empty directory without --force (exit 1, nothing written) and writes into it with --force', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hotk8s-init-'));
    await writeFile(join(dir, 'app.ts'), '// mine\n');
    const { io: s, err } = io();
    expect(await main(['init', dir], s)).toBe(1);
    expect(err.join('\n')).toMatch(/the directory is not empty \(1 entry: app\.ts\); use --force/);
    expect(await readdir(dir)).toEqual(['app.ts']);
    expect(await readFile(join(dir, 'app.ts'), 'utf8')).toBe('// mine\n');
    expect(await main(['init', dir, '--force'], io().io)).toBe(0);
    expect(await readFile(join(dir, 'app.ts'), 'utf8')).toContain('new Cluster(');
  });
});
