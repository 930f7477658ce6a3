/**
 * cloud-init keeps a node's user-data (the etcd CA key, the join token) on the root disk. The common library's
 * `install_user_data_scrub` writes hotk8s-scrub-user-data and its unit, and the bootstrap runs the tool when it ends.
 * Runs the library as rendered, with bash, in a scratch root (HOTK8S_SCRUB_ROOT; the tool's and unit's install paths
 * moved under it), a systemctl stub and a fake signal command.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderCommonLibrary } from '../../src/bootstrap/render.js';
import { requireTool } from './lib/cloud-init.js';

const SECRET = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----';
const INSTANCE = 'var/lib/cloud/instances/i-0001';
/** cloud-init's copies of the user-data, relative to the root. */
const COPIES = [
  `${INSTANCE}/user-data.txt`,
  `${INSTANCE}/user-data.txt.i`,
  `${INSTANCE}/cloud-config.txt`,
  `${INSTANCE}/obj.pkl`,
  `${INSTANCE}/scripts/part-002`,
  'run/cloud-init/instance-data-sensitive.json',
  'var/lib/cloud/seed/nocloud-net/user-data',
];
/** What cloud-init needs so as not to run the user-data again, and files that hold no secret. */
const KEPT = [
  `${INSTANCE}/sem/config_scripts_user`,
  `${INSTANCE}/sem/config_write_files`,
  `${INSTANCE}/boot-finished`,
  `${INSTANCE}/datasource`,
  'var/lib/cloud/data/instance-id',
  'run/cloud-init/instance-data.json',
];

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Node {
  readonly dir: string;
  readonly root: string;
  readonly env: NodeJS.ProcessEnv;
  /** The node's saved shell part, in the scratch root (a bootstrap runs from it, as under cloud-init). */
  readonly part: string;
}

/** A scratch root with cloud-init's files, the library (paths moved into the root), a systemctl stub, a signal stub. */
function node(): Node {
  const dir = mkdtempSync(join(tmpdir(), 'hotk8s-scrub-'));
  dirs.push(dir);
  const root = join(dir, 'root');
  for (const f of [...COPIES, ...KEPT]) {
    mkdirSync(join(root, dirname(f)), { recursive: true });
    writeFileSync(join(root, f), KEPT.includes(f) ? 'i-0001\n' : `user-data\n${SECRET}\n`);
  }
  symlinkSync('instances/i-0001', join(root, 'var/lib/cloud/instance'));
  const lib = renderCommonLibrary({ role: 'worker', podCidr: '10.244.0.0/16' })
    .replaceAll('/usr/local/sbin', join(root, 'usr/local/sbin'))
    .replaceAll('/etc/systemd/system', join(root, 'etc/systemd/system'))
    .replace('HK_STATE_DIR=/var/lib/hotk8s', `HK_STATE_DIR=${dir}/state`);
  writeFileSync(join(dir, 'lib.sh'), lib);
  mkdirSync(join(dir, 'bin'));
  writeFileSync(join(dir, 'bin/systemctl'), `#!/bin/sh\nprintf '%s\\n' "$*" >>${dir}/systemctl.log\n`);
  writeFileSync(
    join(dir, 'bin/signal'),
    `#!/bin/bash\nwhile [ $# -gt 0 ]; do if [ "$1" = --data-binary ]; then printf '%s\\n' "$2" >>${dir}/signals; fi; shift; done\n`,
  );
  for (const f of ['bin/systemctl', 'bin/signal']) chmodSync(join(dir, f), 0o755);
  writeFileSync(join(dir, 'uptime'), '5.00 5.00\n');
  const env = {
    ...process.env,
    PATH: `${dir}/bin:${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOTK8S_SCRUB_ROOT: root,
    HK_UPTIME_FILE: join(dir, 'uptime'),
  };
  return { dir, root, env, part: join(root, `${INSTANCE}/scripts/part-002`) };
}

/** Runs the library's install_user_data_scrub alone (no bootstrap around it). */
function install(n: Node): void {
  const lib = readFileSync(join(n.dir, 'lib.sh'), 'utf8');
  const fn = /\ninstall_user_data_scrub\(\) \{\n[\s\S]*?\n\}\n/.exec(lib)?.[0];
  if (!fn) throw new Error('install_user_data_scrub not found in the rendered library');
  execFileSync('bash', ['-c', `set -euo pipefail\nHK_SCRUB_AT_EXIT=0\n${fn}\ninstall_user_data_scrub`], { env: n.env });
}

/** Runs `body` as the node's saved shell part, from its place in cloud-init's instance directory. */
function bootstrap(n: Node, body: string): { status: number; signals: { status: string; reason: string }[] } {
  writeFileSync(
    n.part,
    `#!/bin/bash\n# ${SECRET.replaceAll('\n', '\n# ')}\nHK_NODE=worker-0\nHK_SIGNAL=(${n.dir}/bin/signal)\n. ${n.dir}/lib.sh\n${body}\n`,
  );
  chmodSync(n.part, 0o700);
  const r = spawnSync(n.part, [], { env: n.env, encoding: 'utf8', timeout: 30_000 });
  const text = existsSync(join(n.dir, 'signals')) ? readFileSync(join(n.dir, 'signals'), 'utf8') : '';
  return {
    status: r.status ?? -1,
    signals: text
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { status: string; reason: string }),
  };
}

/** Files under the root that still hold the secret, and the kept files that are gone. */
function leftovers(n: Node): { holding: string[]; lost: string[] } {
  const holding: string[] = [];
  for (const e of readdirSync(n.root, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const file = join(e.parentPath, e.name);
    if (readFileSync(file, 'utf8').includes('BEGIN PRIVATE KEY')) holding.push(file.slice(n.root.length + 1));
  }
  return { holding, lost: KEPT.filter((f) => !existsSync(join(n.root, f))) };
}

describe("cloud-init's saved copies of the user-data", { timeout: 60_000 }, () => {
  it('the tool removes every copy and keeps the semaphores, the instance link and what holds no secret', () => {
    const n = node();
    install(n);
    execFileSync(join(n.root, 'usr/local/sbin/hotk8s-scrub-user-data'), [], { env: n.env });
    expect(leftovers(n)).toEqual({ holding: [], lost: [] });
    expect(existsSync(join(n.root, 'var/lib/cloud/instance/sem/config_scripts_user'))).toBe(true);
    // running again (every boot) with nothing left to remove is fine
    execFileSync(join(n.root, 'usr/local/sbin/hotk8s-scrub-user-data'), [], { env: n.env });
  });

  it('the tool passes shellcheck; its unit runs after cloud-init at every boot and is enabled', () => {
    requireTool('shellcheck');
    const n = node();
    install(n);
    const r = spawnSync('shellcheck', ['--severity=style', join(n.root, 'usr/local/sbin/hotk8s-scrub-user-data')], { encoding: 'utf8' });
    expect(r.stdout, r.stdout).toBe('');
    expect(r.status).toBe(0);
    const unit = readFileSync(join(n.root, 'etc/systemd/system/hotk8s-scrub-user-data.service'), 'utf8');
    expect(unit).toMatch(/^After=cloud-final\.service/m);
    expect(unit).toMatch(/^Type=oneshot$/m);
    expect(unit).toMatch(/^WantedBy=cloud-init\.target$/m);
    expect(readFileSync(join(n.dir, 'systemctl.log'), 'utf8')).toBe('enable hotk8s-scrub-user-data.service\n');
  });

  it('a bootstrap running from its saved copy ends normally, signals SUCCESS, and leaves no copy behind', () => {
    const n = node();
    const r = bootstrap(n, `install_user_data_scrub\nphase join\nfinish\necho after >${n.dir}/after`);
    expect(r.signals.map((s) => s.status)).toEqual(['SUCCESS']);
    expect(r.status).toBe(0);
    // bash read the script to its end before the exit trap removed it
    expect(readFileSync(join(n.dir, 'after'), 'utf8')).toBe('after\n');
    expect(leftovers(n)).toEqual({ holding: [], lost: [] });
    expect(readFileSync(join(n.dir, 'systemctl.log'), 'utf8')).toBe(
      'enable hotk8s-scrub-user-data.service\nstart --no-block hotk8s-scrub-user-data.service\n',
    );
  });

  it('a failed bootstrap leaves no copy either, and reports its own failure', () => {
    const n = node();
    const r = bootstrap(n, 'install_user_data_scrub\nphase join\nfail "cannot join"');
    expect(r.status).toBe(1);
    expect(r.signals).toEqual([{ status: 'FAILURE', reason: 'worker-0: join: cannot join', data: expect.any(String) }]);
    expect(leftovers(n)).toEqual({ holding: [], lost: [] });
  });
});
