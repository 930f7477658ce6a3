/**
 * The signal path and Keystone's token lifetime: the nodes signal through a TOKEN_SIGNAL WaitConditionHandle, whose
 * token Heat makes once and Keystone refuses after its lifetime. The common library reports FAILURE before that.
 * Runs the library as rendered, with bash, a fake signal command and the token lifetime shortened to seconds.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderCommonLibrary, SIGNAL_TOKEN_LIFETIME_SEC, SIGNAL_TOKEN_MARGIN_SEC } from '../../src/bootstrap/render.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** How a run sees the time since boot. */
interface Clock {
  /** What the library's uptime file (HK_UPTIME_FILE) says, in seconds. */
  readonly uptimeSec: number;
  /** Run in a time namespace whose /proc/uptime says this (the machine running the tests). */
  readonly hostUptimeSec?: number;
  /** Keystone's token lifetime. @default the library's (SIGNAL_TOKEN_LIFETIME_SEC) */
  readonly tokenSec?: number;
}

/**
 * Runs `body` after sourcing the library whose watchdog fires `fireAfterSec` after start (or, with a `clock`, when
 * the library computes from it); returns the signals sent.
 */
function run(body: string, fireAfterSec: number, clock?: Clock): { status: string; reason: string }[] {
  const dir = mkdtempSync(join(tmpdir(), 'hotk8s-watchdog-'));
  dirs.push(dir);
  const uptimeSec = clock?.uptimeSec ?? 10;
  const tokenSec = clock ? (clock.tokenSec ?? SIGNAL_TOKEN_LIFETIME_SEC) : uptimeSec + SIGNAL_TOKEN_MARGIN_SEC + fireAfterSec;
  writeFileSync(join(dir, 'uptime'), `${uptimeSec}.00 ${uptimeSec}.00\n`);
  const lib = renderCommonLibrary({ role: 'worker', podCidr: '10.244.0.0/16' })
    .replace(`HK_SIGNAL_TOKEN_SEC=${SIGNAL_TOKEN_LIFETIME_SEC}`, `HK_SIGNAL_TOKEN_SEC=${tokenSec}`)
    .replace('HK_STATE_DIR=/var/lib/hotk8s', `HK_STATE_DIR=${dir}/state`);
  writeFileSync(join(dir, 'lib.sh'), lib);
  const signal = join(dir, 'signal');
  writeFileSync(
    signal,
    `#!/bin/bash\nwhile [ $# -gt 0 ]; do if [ "$1" = --data-binary ]; then printf '%s\\n' "$2" >>${dir}/signals; fi; shift; done\n`,
  );
  chmodSync(signal, 0o755);
  writeFileSync(join(dir, 'node.sh'), `HK_NODE=worker-0\nHK_SIGNAL=(${signal})\n. ${dir}/lib.sh\n${body}\n`);
  const env = { ...process.env, HK_UPTIME_FILE: join(dir, 'uptime') };
  let argv = ['bash', join(dir, 'node.sh')];
  if (clock?.hostUptimeSec !== undefined) {
    // a time namespace shifts CLOCK_BOOTTIME, which /proc/uptime reads: the host looks up for hostUptimeSec
    const real = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    const offset = Math.round(clock.hostUptimeSec - real);
    const user = process.getuid?.() === 0 ? [] : ['--map-root-user'];
    argv = ['unshare', ...user, '--time', '--fork', `--boottime=${offset}`, ...argv];
  }
  try {
    execFileSync(argv[0]!, argv.slice(1), { stdio: 'pipe', timeout: 60_000, env });
  } catch {
    // a failing bootstrap exits 1; the signals tell what happened
  }
  let text = '';
  try {
    text = readFileSync(join(dir, 'signals'), 'utf8');
  } catch {
    return [];
  }
  return text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { status: string; reason: string });
}

describe('the signal path and the Keystone token lifetime', { timeout: 30_000 }, () => {
  it('a bootstrap outliving the token signals FAILURE before it expires, naming the phase, and no SUCCESS after', () => {
    const signals = run('phase kubeadm-join\nsleep 6\nfinish', 2);
    expect(signals).toHaveLength(1);
    expect(signals[0]!.status).toBe('FAILURE');
    expect(signals[0]!.reason).toMatch(
      /^worker-0: kubeadm-join: still bootstrapping 2 s after start; Heat's signal token .* about to expire/,
    );
  });

  it('a bootstrap that finishes in time signals SUCCESS once, and the watchdog stays quiet', () => {
    const signals = run('phase kubeadm-join\nfinish\nsleep 4', 2);
    expect(signals.map((s) => s.status)).toEqual(['SUCCESS']);
  });

  it('a failure in time is reported once, by the bootstrap itself', () => {
    const signals = run('phase packages\nfail "cannot install"\n', 2);
    expect(signals).toEqual([{ status: 'FAILURE', reason: 'worker-0: packages: cannot install', data: expect.any(String) }]);
  });

  it("the machine's own uptime does not count: a host up 3300 s runs a fresh node's bootstrap to the end", () => {
    // 3300 s lies between HK_SIGNAL_TOKEN_SEC - HK_SIGNAL_MARGIN_SEC (3180) and 3600: read from /proc/uptime, the
    // watchdog would fire after 1 s. The node's own clock (HK_UPTIME_FILE) says it booted 30 s ago.
    expect(SIGNAL_TOKEN_LIFETIME_SEC - SIGNAL_TOKEN_MARGIN_SEC).toBeLessThan(3300);
    const probe = execFileSync('unshare', ['--time', '--fork', '--boottime=0', 'cat', '/proc/uptime'], { encoding: 'utf8' });
    expect(probe).toMatch(/^\d+\.\d+ /);
    const signals = run('phase kubeadm-join\nsleep 3\nfinish', 0, { uptimeSec: 30, hostUptimeSec: 3300 });
    expect(signals.map((s) => s.status)).toEqual(['SUCCESS']);
  });

  it('reads the uptime file it is given: a node already up 3300 s reports at once, before its token expires', () => {
    const signals = run('phase kubeadm-join\nsleep 4\nfinish', 0, { uptimeSec: 3300 });
    expect(signals).toHaveLength(1);
    expect(signals[0]!.reason).toMatch(/^worker-0: kubeadm-join: still bootstrapping 1 s after start/);
  });

  it('by default fires well inside Keystone default token lifetime', () => {
    expect(SIGNAL_TOKEN_LIFETIME_SEC).toBe(3600);
    expect(renderCommonLibrary({ role: 'etcd', podCidr: '10.244.0.0/16' })).toContain('HK_SIGNAL_TOKEN_SEC=3600\n');
  });
});
