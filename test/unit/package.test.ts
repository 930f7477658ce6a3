/**
 * The built package as users get it: `bin/hotk8s.js` and the `hotk8s`, `hotk8s/heat`, `hotk8s/assertions` entry points,
 * all served from the bundle in dist/lib (scripts/bundle.mjs). `npm test` builds first; run `npm run build` before
 * running this file alone.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');
const GOLDEN = join(ROOT, 'test', 'golden', '__files__', 'stacks-default');

function newestSource(dirs: string[]): number {
  let newest = 0;
  for (const dir of dirs) {
    for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
      if (entry.isFile() && /\.(ts|hbs|json)$/.test(entry.name)) {
        newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
      }
    }
  }
  return newest;
}

describe('the built package', () => {
  beforeAll(() => {
    // build when there is no bundle, or when a source is newer than it (the edit-test loop does not build)
    const bundle = join(ROOT, 'dist', 'lib', 'src', 'index.js');
    const built = existsSync(bundle) ? statSync(bundle).mtimeMs : 0;
    if (newestSource([join(ROOT, 'src'), join(ROOT, 'stacks')]) > built) execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT });
  }, 120_000);

  it('synthesizes the default stack through the bin, byte for byte as the golden files', () => {
    const work = mkdtempSync(join(tmpdir(), 'hotk8s-pkg-'));
    execFileSync(process.execPath, [join(ROOT, 'bin', 'hotk8s.js'), 'synth', '--out', join(work, 'out'), '--state', join(work, 'state')], {
      cwd: work,
      stdio: 'pipe',
    });
    const written = readdirSync(join(work, 'out')).filter((f) => !f.includes('secrets'));
    expect(written.sort()).toEqual(readdirSync(GOLDEN).sort());
    for (const f of written) expect(readFileSync(join(work, 'out', f), 'utf8'), f).toBe(readFileSync(join(GOLDEN, f), 'utf8'));
  }, 60_000);

  it('prints its version through the bin, and refuses an unknown option with exit 2', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const bin = join(ROOT, 'bin', 'hotk8s.js');
    expect(execFileSync(process.execPath, [bin, '--version'], { encoding: 'utf8' }).trim()).toBe(pkg.version);
    const r = spawnSync(process.execPath, [bin, 'synth', '--ouy', 'x'], { encoding: 'utf8', cwd: tmpdir() });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('hotk8s: Unknown argument: ouy');
  });

  it('loads the library script through the compile cache: saved at the first exit, used next; a re-synth saves its own', () => {
    const work = mkdtempSync(join(tmpdir(), 'hotk8s-pkg-cache-'));
    const cache = join(work, 'cache');
    const program = join(work, 'program.mjs');
    // the entry point's own module URL, so that the package resolves from a directory outside it
    writeFileSync(
      program,
      [
        `const { App, HeatStack, HeatResource } = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'dist', 'lib', 'src', 'index.js')).href)});`,
        'console.log(typeof App, typeof HeatStack, typeof HeatResource);',
      ].join('\n'),
    );
    try {
      const env = { ...process.env, HOTK8S_COMPILE_CACHE: cache };
      const first = execFileSync(process.execPath, [program], { env, encoding: 'utf8' });
      expect(first.trim()).toBe('function function function');
      const saved = readdirSync(cache).filter((f) => /^hotk8s\.cjs-.*\.v8$/.test(f));
      expect(saved).toHaveLength(1);
      const before = statSync(join(cache, saved[0]!));
      execFileSync(process.execPath, [program], { env, encoding: 'utf8' });
      // used, not written again: a file rewritten would be a new inode (written beside it, then renamed)
      const after = statSync(join(cache, saved[0]!));
      expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
      expect(readdirSync(cache)).toEqual(saved);
      // a synth through the bin saves a synth's code beside it, which later runs take; not the first synth, which issues
      // the cluster's certificates (code that no later synth runs), but the next one
      const synth = (): void => {
        execFileSync(
          process.execPath,
          [join(ROOT, 'bin', 'hotk8s.js'), 'synth', '--out', join(work, 'out'), '--state', join(work, 'state')],
          { cwd: work, env, stdio: 'pipe' },
        );
      };
      synth();
      expect(readdirSync(cache)).toEqual(saved);
      synth();
      const synthCode = saved[0]!.replace(/\.v8$/, '.synth.v8');
      expect(readdirSync(cache).sort()).toEqual([saved[0], synthCode].sort());
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 60_000);

  it('serves every entry point, and a user construct shares the Construct class of the library', () => {
    mkdirSync(join(ROOT, '.cache'), { recursive: true });
    const work = mkdtempSync(join(ROOT, '.cache', 'pkg-'));
    const program = join(work, 'program.mjs');
    writeFileSync(
      program,
      [
        "import { Construct } from 'constructs';",
        "import { App, HeatStack, HeatResource } from 'hotk8s';",
        "import { OsNeutronNet } from 'hotk8s/heat';",
        "import { HotTemplate } from 'hotk8s/assertions';",
        'class Mine extends Construct {',
        '  constructor(scope, id) { super(scope, id); new OsNeutronNet(this, "Net", { name: "n" }); }',
        '}',
        "const stack = new HeatStack(new App(), 'demo');",
        "const mine = new Mine(stack, 'Mine');",
        'console.log(JSON.stringify({',
        '  appIsConstruct: stack.node.root instanceof Construct,',
        '  netIsResource: mine.node.children[0] instanceof HeatResource,',
        "  nets: Object.keys(HotTemplate.fromStack(stack).findResources('OS::Neutron::Net')).length,",
        '}));',
      ].join('\n'),
    );
    // resolved as a package of its own: `hotk8s` through package.json "exports", from inside the package directory
    let out: string;
    try {
      out = execFileSync(process.execPath, [program], { cwd: work, encoding: 'utf8' });
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    expect(JSON.parse(out)).toEqual({ appIsConstruct: true, netIsResource: true, nets: 1 });
  }, 60_000);
});
