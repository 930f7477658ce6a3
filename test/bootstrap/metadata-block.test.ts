/**
 * The metadata service holds every node's user-data (keys, the join token). `block_metadata_from_pods`, as rendered in
 * the common library, must leave it to root on the host: pods (the pod network) and host processes of any other uid
 * (hostNetwork pods, daemons) are dropped. Runs in network namespaces this test creates:
 *
 *   pod ns (10.244.1.2) --veth-- node ns (10.244.1.1, 169.254.1.1, forwards) --veth-- metadata ns (169.254.169.254:80)
 *
 * The node namespace runs the library's rule script (nft) the way a node does at bootstrap and at every boot.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderCommonLibrary } from '../../src/bootstrap/render.js';

const id = randomBytes(3).toString('hex');
const NODE = `hk8s-md-${id}-node`;
const META = `hk8s-md-${id}-meta`;
const POD = `hk8s-md-${id}-pod`;
const created: string[] = [];
let server: ChildProcess | undefined;
let dir = '';

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'pipe' });
}

function addNs(name: string): void {
  ip('netns', 'add', name);
  created.push(name);
  ip('-n', name, 'link', 'set', 'lo', 'up');
}

/** HTTP status of GET http://169.254.169.254/ from namespace `ns` (as `uid` when given), or "blocked". */
function fetchMetadata(ns: string, uid?: number): string {
  const curl = ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--connect-timeout', '2', '-m', '3', 'http://169.254.169.254/'];
  const as = uid === undefined ? [] : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups'];
  const r = spawnSync('ip', ['netns', 'exec', ns, ...as, ...curl], { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 ? r.stdout : 'blocked';
}

/** Runs the library's block_metadata_from_pods in the node namespace (files under `dir`, systemctl a no-op). */
function installRules(): void {
  const lib = renderCommonLibrary({ role: 'worker', podCidr: '10.244.0.0/16' });
  const fn = /\nblock_metadata_from_pods\(\) \{\n[\s\S]*?\n\}\n(?!NFT)/.exec(lib)?.[0];
  if (!fn) throw new Error('block_metadata_from_pods not found in the rendered library');
  const local = fn.replaceAll('/usr/local/sbin', join(dir, 'sbin')).replaceAll('/etc/systemd/system', join(dir, 'systemd'));
  writeFileSync(join(dir, 'systemctl'), '#!/bin/sh\nexit 0\n');
  chmodSync(join(dir, 'systemctl'), 0o755);
  writeFileSync(join(dir, 'install.sh'), `set -euo pipefail\nHK_POD_CIDR=10.244.0.0/16\n${local}\nblock_metadata_from_pods\n`);
  execFileSync('ip', ['netns', 'exec', NODE, 'bash', join(dir, 'install.sh')], {
    stdio: 'pipe',
    env: { ...process.env, PATH: `${dir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin` },
  });
}

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error('this test needs root (network namespaces, nftables)');
  for (const cmd of ['ip', 'nft', 'curl', 'setpriv']) {
    if (spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0) throw new Error(`prerequisite missing: ${cmd}`);
  }
  dir = mkdtempSync(join(tmpdir(), 'hotk8s-metadata-'));
  chmodSync(dir, 0o755);
  for (const ns of [NODE, META, POD]) addNs(ns);
  ip('-n', NODE, 'link', 'add', 'md0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', META);
  ip('-n', NODE, 'addr', 'add', '169.254.1.1/16', 'dev', 'md0');
  ip('-n', NODE, 'link', 'set', 'md0', 'up');
  ip('-n', META, 'addr', 'add', '169.254.169.254/16', 'dev', 'eth0');
  ip('-n', META, 'link', 'set', 'eth0', 'up');
  ip('-n', META, 'route', 'add', '10.244.0.0/16', 'via', '169.254.1.1');
  ip('-n', NODE, 'link', 'add', 'pod0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', POD);
  ip('-n', NODE, 'addr', 'add', '10.244.1.1/24', 'dev', 'pod0');
  ip('-n', NODE, 'link', 'set', 'pod0', 'up');
  ip('-n', POD, 'addr', 'add', '10.244.1.2/24', 'dev', 'eth0');
  ip('-n', POD, 'link', 'set', 'eth0', 'up');
  ip('-n', POD, 'route', 'add', 'default', 'via', '10.244.1.1');
  execFileSync('ip', ['netns', 'exec', NODE, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'], { stdio: 'pipe' });
  writeFileSync(join(dir, 'index.html'), 'user-data\n');
  server = spawn(
    'ip',
    ['netns', 'exec', META, '/usr/bin/python3', '-m', 'http.server', '80', '--bind', '169.254.169.254', '--directory', dir],
    {
      stdio: 'ignore',
    },
  );
  // python's http.server takes a moment to start, longer on a loaded machine: wait for it (bounded) before any check
  const ready = Date.now() + 30_000;
  while (fetchMetadata(META) !== '200' && Date.now() < ready) await new Promise((r) => setTimeout(r, 100));
  // without the rules, everyone reaches it: the namespaces work
  expect([fetchMetadata(NODE), fetchMetadata(NODE, 65534), fetchMetadata(POD)]).toEqual(['200', '200', '200']);
  installRules();
}, 60_000);

afterAll(() => {
  if (server?.pid) {
    try {
      process.kill(server.pid);
    } catch {
      // already gone
    }
  }
  for (const ns of created) spawnSync('ip', ['netns', 'del', ns]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the metadata service is reachable only by root on the host', { timeout: 60_000 }, () => {
  it('root on the host (cloud-init, the bootstrap, the kubelet) still reaches it', () => {
    expect(fetchMetadata(NODE)).toBe('200');
  });

  it('a host process of another uid (nobody; a hostNetwork pod running as non-root) does not', () => {
    expect(fetchMetadata(NODE, 65534)).toBe('blocked');
    expect(fetchMetadata(NODE, 1001)).toBe('blocked');
    expect(fetchMetadata(NODE)).toBe('200');
  });

  it('a pod does not; after the rules are installed again (every boot) nothing changed and nothing is duplicated', () => {
    expect(fetchMetadata(POD)).toBe('blocked');
    installRules();
    const rules = execFileSync('ip', ['netns', 'exec', NODE, 'nft', 'list', 'table', 'ip', 'hotk8s_metadata'], { encoding: 'utf8' });
    expect(rules.match(/drop comment/g)).toHaveLength(2);
    expect([fetchMetadata(NODE), fetchMetadata(NODE, 65534), fetchMetadata(POD)]).toEqual(['200', 'blocked', 'blocked']);
  });
});
