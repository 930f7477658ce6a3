/**
 * The Kubernetes version a cluster was last synthesized with, kept in the state directory
 * (`<stateDir>/<clusterName>/kubernetes-version.json`), so that a later synth of the same cluster can refuse what
 * Kubernetes' version-skew policy forbids: skipping a minor (kubeadm upgrades one minor at a time) and any downgrade of
 * the minor. A patch change within the minor and the next minor are accepted.
 */
import { mkdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { BootstrapRenderError } from './render.js';
import { KUBERNETES_MINORS } from './kubernetes-versions.js';

/** What the state directory keeps. */
export interface RecordedKubernetesVersion {
  /** '1.36.4' */
  readonly version: string;
}

export const KUBERNETES_VERSION_FILE = 'kubernetes-version.json';

const FULL = /^(\d+)\.(\d+)\.(\d+)$/;

function parse(version: string): { major: number; minor: number } | undefined {
  const m = FULL.exec(version);
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : undefined;
}

/** The minors from `from` to `to` (inclusive), one at a time: '1.35 -> 1.36 -> 1.37'. */
function sequence(major: number, from: number, to: number): string {
  const out: string[] = [];
  for (let m = from; m <= to; m++) out.push(`${major}.${m}`);
  return out.join(' -> ');
}

/**
 * Why going from `previous` to `next` (both 'x.y.z') is refused, or undefined when it is allowed: same minor (any
 * patch), or the next minor.
 */
export function kubernetesVersionChangeError(previous: string, next: string): string | undefined {
  const p = parse(previous);
  const n = parse(next);
  if (!p || !n) return `cannot compare Kubernetes versions ${JSON.stringify(previous)} and ${JSON.stringify(next)}`;
  const allowed = `allowed from ${previous}: any ${p.major}.${p.minor} patch, or ${p.major}.${p.minor + 1}`;
  if (n.major !== p.major) return `Kubernetes ${previous} -> ${next} changes the major version; ${allowed}`;
  if (n.minor === p.minor || n.minor === p.minor + 1) return undefined;
  if (n.minor > p.minor) {
    return `Kubernetes ${previous} -> ${next} skips ${n.minor - p.minor - 1 === 1 ? 'a minor' : 'minors'}: a cluster upgrades one minor at a time (${sequence(p.major, p.minor, n.minor)}, one synth and stack update each); ${allowed}`;
  }
  const supported = KUBERNETES_MINORS.map((r) => r.minor);
  return `Kubernetes ${previous} -> ${next} is a downgrade, which Kubernetes does not support (etcd holds objects in the newer versions); ${allowed}${supported.includes(`${p.major}.${p.minor}`) ? '' : ` (${p.major}.${p.minor} is no longer supported by this hotk8s: use the hotk8s release that made the cluster to upgrade it first)`}`;
}

/** The version recorded for `clusterName`, or undefined when none is. */
export function readRecordedKubernetesVersion(stateDir: string, clusterName: string): RecordedKubernetesVersion | undefined {
  const file = join(stateDir, clusterName, KUBERNETES_VERSION_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new BootstrapRenderError(`${file} is not JSON; it records the cluster's Kubernetes version (restore it from a backup)`);
  }
  const version = (doc as { version?: unknown } | null)?.version;
  if (typeof version !== 'string' || !FULL.test(version)) {
    throw new BootstrapRenderError(`${file} must hold {"version": "x.y.z"}; got ${text.trim().slice(0, 80)}`);
  }
  return { version };
}

/**
 * Compares `version` with what the previous synth of `clusterName` recorded and, when the change is allowed, records
 * `version` (a first synth just records it). Throws naming both versions and the allowed sequence otherwise, and then
 * records nothing.
 */
export function checkAndRecordKubernetesVersion(stateDir: string, clusterName: string, version: string): void {
  const previous = readRecordedKubernetesVersion(stateDir, clusterName);
  if (previous) {
    const why = kubernetesVersionChangeError(previous.version, version);
    if (why)
      throw new BootstrapRenderError(
        `kubernetesVersion: ${why} (recorded by the previous synth in ${join(stateDir, clusterName, KUBERNETES_VERSION_FILE)})`,
      );
    if (previous.version === version) return;
  }
  const dir = join(stateDir, clusterName);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, KUBERNETES_VERSION_FILE);
  writeFileSync(`${file}.tmp`, JSON.stringify({ version } satisfies RecordedKubernetesVersion) + '\n', { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}
