/**
 * Boot simulation: the real cloud-init (Debian's, inside the debootstrapped root) runs a role's
 * rendered user-data, with Heat's str_replace values substituted the way Heat would, in a throwaway
 * overlay root inside fresh mount/pid/net/uts/ipc namespaces. Commands that would change this
 * machine or need a cluster (kubeadm, kubelet, kubectl, systemctl, apt-get, apt-mark, modprobe,
 * sysctl, swapoff, containerd) are stubs that record their arguments; curl reaches only a fake Heat
 * endpoint on the namespace's loopback and answers the rest itself.
 *
 * Everything the boot wrote is in the overlay's upper layer, read after the namespaces are gone;
 * the work directory is removed by `cleanup()` (always call it, e.g. in `finally`).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, type Stats } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { substitutePlaceholders, type RenderedUserData } from '../../../src/bootstrap/render.js';

const HERE = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(HERE, '../../..');
export const ROOTFS = process.env.HOTK8S_ROOTFS_DIR ?? join(REPO_ROOT, '.cache/rootfs/bookworm');
/** Port of the fake Heat inside the simulation's own network namespace. */
export const HEAT_PORT = 8004;

/** Problems that make the simulation impossible here, as sentences (empty when it can run). */
export function simulationPrerequisites(): string[] {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('the boot simulation needs root (overlay mounts and namespaces)');
  for (const cmd of ['unshare', 'chroot', 'ip', 'timeout']) {
    if (spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0) missing.push(`command ${cmd} is not installed`);
  }
  if (!existsSync('/usr/bin/python3')) missing.push('/usr/bin/python3 (Debian python) is missing');
  if (!existsSync(join(ROOTFS, '.hotk8s-rootfs-complete')))
    missing.push(`the debootstrapped root ${ROOTFS} is not built (scripts/prepare-test-env.sh)`);
  else if (!existsSync(join(ROOTFS, 'usr/bin/cloud-init'))) missing.push(`${ROOTFS} has no /usr/bin/cloud-init`);
  return missing;
}

/** Builds the debootstrapped root when it is missing (scripts/prepare-test-env.sh, about 90 s). */
export function ensureRootfs(): void {
  if (existsSync(join(ROOTFS, '.hotk8s-rootfs-complete'))) return;
  const r = spawnSync('bash', [join(REPO_ROOT, 'scripts/prepare-test-env.sh')], { stdio: 'inherit', timeout: 900_000 });
  if (r.status !== 0)
    throw new Error(`scripts/prepare-test-env.sh failed (status ${r.status}, signal ${r.signal}); the boot simulation needs ${ROOTFS}`);
}

export interface Signal {
  readonly path: string;
  readonly body: { status?: string; reason?: string; data?: string };
}

export interface BootResult {
  /** The overlay's upper layer: every file the boot created or changed. */
  readonly upper: string;
  readonly signals: readonly Signal[];
  /** cloud-init stage -> exit status */
  readonly stages: Readonly<Record<string, number>>;
  /** Recorded stub calls, in order ("kubeadm init --config ..."). */
  readonly calls: readonly string[];
  readonly console: string;
  readonly cloudInitLog: string;
  /** cloud-init's result.json errors (module failures). */
  readonly cloudInitErrors: readonly string[];
  readonly wallMs: number;
  /** Reads a file the boot wrote (node path), or undefined. */
  read(nodePath: string): string | undefined;
  stat(nodePath: string): Stats | undefined;
  cleanup(): void;
}

export interface BootOptions {
  readonly userData: RenderedUserData;
  /** Heat's str_replace values for every placeholder but __SIGNAL_CURL__ (made here). */
  readonly values: Readonly<Record<string, string>>;
  /** Name used in the signal URL path and the NoCloud instance. */
  readonly nodeName: string;
  /** Stub failure patterns: a stub whose "name args" contains one exits 1. */
  readonly fail?: readonly string[];
  /** What a stubbed `kubeadm version -o short` prints. */
  readonly kubeadmVersion?: string;
  /** Wall-time bound of the whole simulated boot. @default 300000 */
  readonly timeoutMs?: number;
}

/** The curl_cli-shaped command Heat would substitute for __SIGNAL_CURL__. */
export function signalCurl(nodeName: string): string {
  return `curl -i -X POST -H 'Content-Type: application/json' -H 'Accept: application/json' http://127.0.0.1:${HEAT_PORT}/v1/signal/${nodeName}`;
}

export function simulateBoot(o: BootOptions): BootResult {
  const work = mkdtempSync(join(tmpdir(), `hotk8s-sim-${o.nodeName}-`));
  const cleanup = (): void => rmSync(work, { recursive: true, force: true });
  try {
    const values = { ...o.values, __SIGNAL_CURL__: signalCurl(o.nodeName) };
    writeFileSync(join(work, 'user-data'), substitutePlaceholders(o.userData.text, values));
    writeFileSync(join(work, 'meta-data'), `instance-id: sim-${o.nodeName}\nlocal-hostname: ${o.nodeName}\n`);
    writeFileSync(join(work, 'fail'), (o.fail ?? []).map((f) => `${f}\n`).join(''));
    writeFileSync(join(work, 'kubeadm-version'), `${o.kubeadmVersion ?? 'v0.0.0'}\n`);
    const started = Date.now();
    const r = spawnSync(
      'unshare',
      [
        '--mount',
        '--pid',
        '--net',
        '--uts',
        '--ipc',
        '--fork',
        '--kill-child',
        join(HERE, 'run-in-namespaces.sh'),
        ROOTFS,
        work,
        String(HEAT_PORT),
      ],
      // SIGKILL: unshare outlives SIGTERM while it waits; --kill-child then takes the whole namespace down.
      { timeout: o.timeoutMs ?? 300_000, killSignal: 'SIGKILL', encoding: 'utf8' },
    );
    const wallMs = Date.now() - started;
    if (r.error || r.status !== 0) {
      throw new Error(
        `boot simulation of ${o.nodeName} did not complete (status ${r.status}, signal ${r.signal}, ${r.error?.message ?? ''}): ${r.stderr}`,
      );
    }
    const upper = join(work, 'upper');
    const readIf = (p: string): string | undefined => (existsSync(p) ? readFileSync(p, 'utf8') : undefined);
    const nodeFile = (p: string): string => join(upper, p.replace(/^\/+/, ''));
    const signals = (readIf(join(work, 'signals.jsonl')) ?? '')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Signal);
    const stages: Record<string, number> = {};
    for (const line of (readIf(join(work, 'stages')) ?? '').split('\n').filter(Boolean)) {
      const i = line.lastIndexOf(' ');
      stages[line.slice(0, i)] = Number(line.slice(i + 1));
    }
    const result = readIf(nodeFile('/var/lib/cloud/data/result.json'));
    return {
      upper,
      signals,
      stages,
      calls: (readIf(nodeFile('/var/log/hotk8s-sim/calls.log')) ?? '').split('\n').filter(Boolean),
      console: readIf(join(work, 'console.log')) ?? '',
      cloudInitLog: readIf(nodeFile('/var/log/cloud-init.log')) ?? '',
      cloudInitErrors: result ? ((JSON.parse(result) as { v1: { errors: string[] } }).v1.errors ?? []) : ['no result.json'],
      wallMs,
      read: (p) => readIf(nodeFile(p)),
      stat: (p) => (existsSync(nodeFile(p)) ? statSync(nodeFile(p)) : undefined),
      cleanup,
    };
  } catch (e) {
    cleanup();
    throw e;
  }
}

/** Index of the first call at or after `from` that starts with `prefix` (-1 when none). */
export function findCall(calls: readonly string[], prefix: string, from = 0): number {
  for (let i = from; i < calls.length; i++) if ((calls[i] as string).startsWith(prefix)) return i;
  return -1;
}

/** Asserts `prefixes` occur in this order (each after the previous); returns a message or undefined. */
export function orderProblem(calls: readonly string[], prefixes: readonly string[]): string | undefined {
  let at = 0;
  for (const p of prefixes) {
    const i = findCall(calls, p, at);
    if (i < 0) return `expected a call starting with ${JSON.stringify(p)} after position ${at}; calls:\n  ${calls.join('\n  ')}`;
    at = i + 1;
  }
  return undefined;
}
