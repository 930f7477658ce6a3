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

/** Runs `body` after sourcing the library whose watchdog fires `fireAfterSec` after start; returns the signals sent. */
function run(body: string, fireAfterSec: number): { status: string; reason: string }[] {
  const dir = mkdtempSync(join(tmpdir(), 'hotk8s-watchdog-'));
  dirs.push(dir);
  const uptime = Number(readFileSync('/proc/uptime', 'utf8').split('.')[0]);
  const lib = renderCommonLibrary({ role: 'worker', podCidr: '10.244.0.0/16' })
    .replace(`HK_SIGNAL_TOKEN_SEC=${SIGNAL_TOKEN_LIFETIME_SEC}`, `HK_SIGNAL_TOKEN_SEC=${uptime + SIGNAL_TOKEN_MARGIN_SEC + fireAfterSec}`)
    .replace('HK_STATE_DIR=/var/lib/hotk8s', `HK_STATE_DIR=${dir}/state`);
  writeFileSync(join(dir, 'lib.sh'), lib);
  const signal = join(dir, 'signal');
  writeFileSync(
    signal,
    `#!/bin/bash\nwhile [ $# -gt 0 ]; do if [ "$1" = --data-binary ]; then printf '%s\\n' "$2" >>${dir}/signals; fi; shift; done\n`,
  );
  chmodSync(signal, 0o755);
  writeFileSync(join(dir, 'node.sh'), `HK_NODE=worker-0\nHK_SIGNAL=(${signal})\n. ${dir}/lib.sh\n${body}\n`);
  try {
    execFileSync('bash', [join(dir, 'node.sh')], { stdio: 'pipe', timeout: 60_000 });
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

  it('by default fires well inside Keystone default token lifetime', () => {
    expect(SIGNAL_TOKEN_LIFETIME_SEC).toBe(3600);
    expect(renderCommonLibrary({ role: 'etcd', podCidr: '10.244.0.0/16' })).toContain('HK_SIGNAL_TOKEN_SEC=3600\n');
  });
});
