import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { projectTypeScript, typecheckApp } from '../../src/cli/typecheck.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

// the apps live in the repository (gitignored .cache/) so that they import the library's sources and find its
// typescript and tsconfig.json, as a user's app finds its project's
let dir: string;
beforeAll(async () => {
  await mkdir(join(ROOT, '.cache'), { recursive: true });
  dir = await mkdtemp(join(ROOT, '.cache', 'typecheck-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const app = (body: string) => `import { App, Cluster, HeatStack } from '../../src/index.js';

export default function (): App {
  const app = new App();
  const stack = new HeatStack(app, 'tc');
${body}
  return app;
}
`;

describe('type-check at synth', () => {
  it('a prop typo fails synth with file:line:col and the compiler message, exit 1, nothing written', async () => {
    const file = join(dir, 'typo.ts');
    await writeFile(file, app("  new Cluster(stack, 'Cluster', { name: 'tc', masters: { flavr: 'm1.large' } });"));
    const c = capture();
    const out = join(dir, 'out-typo');
    expect(await main(['synth', file, '--out', out, '--state', join(dir, 'state')], c.io)).toBe(1);
    const text = c.err.join('\n');
    expect(text).toMatch(
      /typo\.ts:6:58: Object literal may only specify known properties, but 'flavr' does not exist in type .*Did you mean to write 'flavor'\? \(TS2561\)/,
    );
    expect(existsSync(out)).toBe(false);
  }, 60_000);

  it('--no-typecheck skips the checker: a type error with no runtime effect then synthesizes', async () => {
    const file = join(dir, 'wrong-type.ts');
    await writeFile(
      file,
      app(
        "  const size: number = 'three' as unknown as string;\n  new Cluster(stack, 'Cluster', { name: 'tc', masters: { count: size } });",
      ),
    );
    const checked = capture();
    expect(await main(['synth', file, '--out', join(dir, 'out-a'), '--state', join(dir, 'state')], checked.io)).toBe(1);
    expect(checked.err.join('\n')).toMatch(/wrong-type\.ts:\d+:\d+: Type 'string' is not assignable to type 'number'\. \(TS2322\)/);
    const skipped = capture();
    // the runtime check still has its say (a count that is not a number), without a file and line
    const code = await main(['synth', file, '--no-typecheck', '--out', join(dir, 'out-b'), '--state', join(dir, 'state')], skipped.io);
    expect(skipped.err.join('\n')).not.toContain('TS2322');
    expect(code === 0 || !skipped.err.join('\n').includes('wrong-type.ts:')).toBe(true);
  }, 60_000);

  it('a correct app passes the checker; a project without typescript is not checked', async () => {
    const file = join(dir, 'good.ts');
    await writeFile(file, app("  new Cluster(stack, 'Cluster', { name: 'tc' });"));
    const r = typecheckApp(file);
    expect(r.checked).toBe(true);
    expect(r.version).toMatch(/^\d+\.\d+/);
    const outside = join(await mkdtemp(join(tmpdir(), 'hotk8s-tc-')), 'app.ts');
    await writeFile(outside, 'export default 1;\n');
    expect(projectTypeScript(outside)).toBeUndefined();
    expect(typecheckApp(outside)).toEqual({ checked: false, milliseconds: 0 });
  }, 60_000);
});
