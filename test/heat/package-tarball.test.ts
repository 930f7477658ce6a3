/**
 * The package as a user installs it: `npm pack` of the built tree, `hotk8s init` of a fresh project beside it, the
 * tarball installed there without the network (`npm ci --offline` over a lockfile made from the repository's own, the
 * tarballs coming from the npm cache the repository's `npm ci` filled: test/lib/offline-lock.ts), then the project's
 * own `npm run synth`, `npm test` and `tsc`, and the real Heat engine through the installed bin. A file the package
 * needs and does not ship (the bundle, a declaration file, the Heat harness script, a ready-made stack) fails it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { offlineLock } from '../lib/offline-lock.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

/** The environment of a user's shell: none of the variables the outer npm and vitest set for this run. */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(npm_|VITEST|NODE_OPTIONS$|NODE_ENV$|TEST$|FORCE_COLOR$)/i.test(k)) env[k] = v;
  }
  return { ...env, NO_COLOR: '1', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
}

function run(cwd: string, cmd: string, args: string[]): { status: number | null; out: string } {
  const r = spawnSync(cmd, args, { cwd, env: userEnv(), encoding: 'utf8', timeout: 300_000 });
  return { status: r.status, out: `${r.stdout}\n${r.stderr}` };
}

function newestSource(dirs: string[]): number {
  let newest = 0;
  for (const dir of dirs) {
    for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
      if (entry.isFile() && /\.(ts|hbs|json)$/.test(entry.name))
        newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
    }
  }
  return newest;
}

describe('the packed tarball in a fresh project', () => {
  const work = mkdtempSync(join(tmpdir(), 'hotk8s-tarball-'));
  const project = join(work, 'my-cluster');
  let tarball = '';

  beforeAll(() => {
    const bundle = join(ROOT, 'dist', 'lib', 'src', 'index.js');
    const built = existsSync(bundle) ? statSync(bundle).mtimeMs : 0;
    if (newestSource([join(ROOT, 'src'), join(ROOT, 'stacks')]) > built)
      execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, env: userEnv() });
    // the tree was just built: --ignore-scripts keeps pack from building it again through "prepare"
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], {
        cwd: ROOT,
        env: userEnv(),
        encoding: 'utf8',
      }),
    ) as Array<{ filename: string }>;
    tarball = join(work, packed[0]!.filename);
  }, 300_000);

  it('ships no source maps and no compiled-but-bundled JavaScript', () => {
    const listed = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n').filter(Boolean);
    expect(listed.filter((f) => f.endsWith('.map'))).toEqual([]);
    expect(listed.filter((f) => /^package\/dist\/src\/.*(?<!\.d\.ts)$/.test(f))).toEqual([]);
    expect(listed).toContain('package/dist/lib/src/index.js');
    expect(listed).toContain('package/src/heat/engine/heat_validate.py');
  });

  it('init -> npm ci --offline -> npm run synth -> npm test -> tsc -> validate --engine heat', () => {
    const init = run(work, process.execPath, [join(ROOT, 'bin', 'hotk8s.js'), 'init', 'my-cluster']);
    expect(init.status, init.out).toBe(0);
    const pkgPath = join(project, 'package.json');
    const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { name: string; version: string; dependencies: Record<string, string> };
    expect(pkg.dependencies['hotk8s']).toMatch(/^\^\d/);
    // what `npm install ../hotk8s-x.y.z.tgz` would write; the lockfile pins the rest to the repository's versions
    pkg.dependencies['hotk8s'] = `file:../${tarball.split('/').pop()!}`;
    writeFileSync(pkgPath, JSON.stringify(pkg, null, 2) + '\n');
    const inside = JSON.parse(execFileSync('tar', ['-xOzf', tarball, 'package/package.json'], { encoding: 'utf8' })) as Parameters<
      typeof offlineLock
    >[0]['hotk8s'];
    writeFileSync(
      join(project, 'package-lock.json'),
      JSON.stringify(offlineLock({ repoRoot: ROOT, project: pkg, tarball, hotk8s: inside }), null, 2) + '\n',
    );

    const install = run(project, 'npm', ['ci', '--offline']);
    expect(install.status, install.out).toBe(0);
    // bundled into dist/lib: not installed beside it
    for (const name of ['handlebars', 'yargs', 'js-yaml', 'ajv', 'ajv-formats', '@peculiar/x509']) {
      expect(existsSync(join(project, 'node_modules', name)), name).toBe(false);
    }
    expect(existsSync(join(project, 'node_modules', 'constructs', 'package.json'))).toBe(true);

    const synth = run(project, 'npm', ['run', 'synth']);
    expect(synth.status, synth.out).toBe(0);
    expect(synth.out).toContain('create with: (cd hotk8s.out && openstack stack create -t cluster.yaml');
    const manifest = JSON.parse(readFileSync(join(project, 'hotk8s.out', 'manifest.json'), 'utf8')) as { stacks: Array<{ name: string }> };
    expect(manifest.stacks.map((s) => s.name)).toEqual(['cluster']);
    expect(existsSync(join(project, '.hotk8s'))).toBe(true);

    const test = run(project, 'npm', ['test']);
    expect(test.status, test.out).toBe(0);
    expect(test.out).toMatch(/Tests\s+1 passed/);

    // the declaration files of every entry point ship: the user's program and test type-check against them
    const tsc = run(project, process.execPath, [join(project, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.']);
    expect(tsc.status, tsc.out).toBe(0);

    // the installed bin, with the Heat harness script the package ships
    const heat = run(project, join(project, 'node_modules', '.bin', 'hotk8s'), ['validate', '--engine', 'heat', 'hotk8s.out']);
    expect(heat.status, heat.out).toBe(0);
    expect(heat.out).toMatch(/^ok \(Heat [\d.]+\): hotk8s\.out\/cluster\.yaml \(8 template\(s\)/m);

    // and the installed init, from a stack the package ships
    const from = run(project, join(project, 'node_modules', '.bin', 'hotk8s'), ['init', 'dev', '--from', 'dev']);
    expect(from.status, from.out).toBe(0);
    expect(readFileSync(join(project, 'dev', 'app.ts'), 'utf8')).toContain("from 'hotk8s'");
  });
});
