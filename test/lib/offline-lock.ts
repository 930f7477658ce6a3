/**
 * An npm lockfile for a fresh project that installs without the network: every package the project needs (its own
 * dependencies and those of a hotk8s tarball) at the version, integrity and place the repository's package-lock.json
 * gives it. `npm ci --offline` then takes each tarball from the local npm cache, which the repository's own `npm ci`
 * filled; hotk8s itself comes from the packed tarball through a `file:` dependency.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  dev?: boolean;
  devOptional?: boolean;
  peer?: boolean;
  optional?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [key: string]: unknown;
}

interface Manifest {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  bin?: Record<string, string>;
  engines?: Record<string, string>;
  license?: string;
}

/** Where Node (and npm's hoisted layout) finds `name` required from the package at `from` ('' is the root). */
function locate(packages: Record<string, LockEntry>, from: string, name: string): string | undefined {
  for (let at = from; ;) {
    const candidate = `${at === '' ? '' : `${at}/`}node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (at === '') return undefined;
    const cut = at.lastIndexOf('/node_modules/');
    at = cut < 0 ? '' : at.slice(0, cut);
  }
}

export interface OfflineLockOptions {
  /** The repository whose package-lock.json holds the versions (and whose npm ci filled the cache). */
  readonly repoRoot: string;
  /** The new project's package.json, with hotk8s as `file:<tarball>`. */
  readonly project: Manifest;
  /** The hotk8s tarball, and the package.json inside it. */
  readonly tarball: string;
  readonly hotk8s: Manifest;
}

/** The package-lock.json (lockfile v3) of the project. Throws when the repository's lock lacks a package needed. */
export function offlineLock(o: OfflineLockOptions): Record<string, unknown> {
  const repo = (JSON.parse(readFileSync(join(o.repoRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> })
    .packages;
  const spec = o.project.dependencies?.['hotk8s'];
  if (!spec?.startsWith('file:')) throw new Error(`the project must depend on hotk8s through file:; got ${String(spec)}`);
  const packages: Record<string, LockEntry> = {
    '': {
      name: o.project.name,
      version: o.project.version,
      dependencies: o.project.dependencies,
      devDependencies: o.project.devDependencies,
    },
    'node_modules/hotk8s': {
      version: o.hotk8s.version,
      resolved: spec,
      integrity: `sha512-${createHash('sha512').update(readFileSync(o.tarball)).digest('base64')}`,
      license: o.hotk8s.license,
      dependencies: o.hotk8s.dependencies,
      peerDependencies: o.hotk8s.peerDependencies,
      bin: o.hotk8s.bin,
      engines: o.hotk8s.engines,
    },
  };
  const queue: Array<[string, string, boolean]> = []; // [from, name, optional]
  const wants = (
    from: string,
    e: {
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
      peerDependencies?: Record<string, string>;
      peerDependenciesMeta?: Record<string, { optional?: boolean }>;
    },
  ): void => {
    for (const n of Object.keys(e.dependencies ?? {})) queue.push([from, n, false]);
    for (const n of Object.keys(e.optionalDependencies ?? {})) queue.push([from, n, true]);
    for (const n of Object.keys(e.peerDependencies ?? {})) queue.push([from, n, e.peerDependenciesMeta?.[n]?.optional === true]);
  };
  wants('', { dependencies: { ...o.project.dependencies, ...o.project.devDependencies } });
  wants('node_modules/hotk8s', o.hotk8s);
  while (queue.length > 0) {
    const [from, name, optional] = queue.shift()!;
    if (name === 'hotk8s') continue;
    // the root of the project is the root of the repository's layout: the same hoisting serves both
    const at = locate(repo, from === 'node_modules/hotk8s' ? '' : from, name);
    if (at === undefined) {
      if (optional) continue;
      throw new Error(`the repository's package-lock.json has no ${name} (wanted by ${from || 'the project'})`);
    }
    if (packages[at]) continue;
    // the dev/peer flags describe the repository's tree, not the project's: npm computes its own
    const entry: LockEntry = { ...repo[at]! };
    delete entry.dev;
    delete entry.devOptional;
    delete entry.peer;
    packages[at] = entry;
    wants(at, entry);
  }
  return { name: o.project.name, version: o.project.version, lockfileVersion: 3, requires: true, packages };
}
