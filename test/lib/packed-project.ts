/**
 * The package as a user installs it, for the tests that need one: `npm pack` of the built tree, `hotk8s init` of a
 * fresh project beside it, the tarball installed there without the network (`npm ci --offline` over a lockfile made
 * from the repository's own, the tarballs coming from the npm cache the repository's `npm ci` filled:
 * test/lib/offline-lock.ts). Used by test/heat/package-tarball.test.ts and test/twin/kubeconfig.test.ts.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { offlineLock } from './offline-lock.js';

export const ROOT = resolve(import.meta.dirname, '..', '..');

/** The environment of a user's shell: none of the variables the outer npm and vitest set for this run. */
export function userEnv(extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(npm_|VITEST|NODE_OPTIONS$|NODE_ENV$|TEST$|FORCE_COLOR$)/i.test(k)) env[k] = v;
  }
  return { ...env, NO_COLOR: '1', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false', ...extra };
}

export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  /** Standard output and standard error, for messages. */
  readonly out: string;
}

export function run(cwd: string, cmd: string, args: string[], extra: Readonly<Record<string, string>> = {}): RunResult {
  const r = spawnSync(cmd, args, { cwd, env: userEnv(extra), encoding: 'utf8', timeout: 300_000 });
  return { status: r.status, stdout: r.stdout, out: `${r.stdout}\n${r.stderr}` };
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

/** Build the tree when a source is newer than the bundle, then `npm pack` it into `work`; resolves to the tarball. */
export function packTree(work: string): string {
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
  return join(work, packed[0]!.filename);
}

/** `hotk8s init NAME [initArgs]` in `work` with the repository's bin; throws with its output when it fails. */
export function initProject(work: string, name: string, initArgs: string[] = []): string {
  const init = run(work, process.execPath, [join(ROOT, 'bin', 'hotk8s.js'), 'init', name, ...initArgs]);
  if (init.status !== 0) throw new Error(`hotk8s init failed:\n${init.out}`);
  return join(work, name);
}

/**
 * Point the project at the tarball (what `npm install ../hotk8s-x.y.z.tgz` writes) with a lockfile that pins the rest
 * to the repository's versions, then `npm ci --offline`; resolves to npm's result.
 */
export function installTarball(project: string, tarball: string): RunResult {
  const pkgPath = join(project, 'package.json');
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { name: string; version: string; dependencies: Record<string, string> };
  pkg.dependencies['hotk8s'] = `file:${relative(project, tarball)}`;
  writeFileSync(pkgPath, JSON.stringify(pkg, null, 2) + '\n');
  const inside = JSON.parse(execFileSync('tar', ['-xOzf', tarball, 'package/package.json'], { encoding: 'utf8' })) as Parameters<
    typeof offlineLock
  >[0]['hotk8s'];
  writeFileSync(
    join(project, 'package-lock.json'),
    JSON.stringify(offlineLock({ repoRoot: ROOT, project: pkg, tarball, hotk8s: inside }), null, 2) + '\n',
  );
  return run(project, 'npm', ['ci', '--offline']);
}

/** The installed `hotk8s` bin of a project. */
export function installedBin(project: string): string {
  return join(project, 'node_modules', '.bin', 'hotk8s');
}
