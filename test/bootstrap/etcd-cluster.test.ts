/**
 * Real etcd: three and five etcd "VMs" (network namespaces with private /etc, /var, /usr/local and
 * /run) boot from the library's own etcd user-data - split by cloud-init's code, write_files by
 * cloud-init's module, the shell part run as cloud-init's final stage runs it, with Heat's
 * str_replace values substituted - using the image's etcd (install mode "preinstalled", Debian's
 * etcd 3.4 here) and a systemctl stand-in that starts the unit's ExecStart line. They must form a
 * healthy TLS cluster, reject clients without certificates, keep serving after one member is killed,
 * signal SUCCESS to a fake Heat endpoint, and leave nothing behind.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderEtcdUserData, ETCD_SCRIPT_PART } from '../../src/bootstrap/etcd.js';
import type { ClusterPki } from '../../src/bootstrap/pki.js';
import { curlCli, initialCluster, requireTool, splitUserData, substituteAsHeat, throwawayPki } from './lib/index.js';
import { alive, listNamespaces, TestNetwork } from './lib/netns.js';

const LIB = join(dirname(fileURLToPath(import.meta.url)), 'lib');
const POD_CIDR = '10.244.0.0/16';

interface Signal {
  node: string;
  tokenOk: boolean;
  status?: string;
  reason?: string;
  data?: string;
  contentType?: string;
}

let pki: ClusterPki;
const networks: TestNetwork[] = [];

beforeAll(async () => {
  for (const tool of ['ip', 'unshare', 'nsenter', 'setpriv', 'etcd', 'etcdctl', 'openssl', 'nft', 'curl', 'useradd', '/usr/bin/python3']) {
    requireTool(tool);
  }
  if (process.getuid?.() !== 0) throw new Error('prerequisite missing: the real-etcd test needs root (network namespaces, mounts)');
  pki = await throwawayPki('etcdtest');
});

afterAll(async () => {
  const problems: string[] = [];
  for (const n of networks) problems.push(...(await n.cleanup()));
  const left = listNamespaces().filter((ns) => networks.some((n) => ns.startsWith(n.prefix)));
  const pidsLeft = networks.flatMap((n) => [...n.pids].filter(alive));
  for (const n of networks) rmSync(join(tmpdir(), n.prefix), { recursive: true, force: true });
  expect({ problems, namespacesLeft: left, pidsLeft }).toEqual({ problems: [], namespacesLeft: [], pidsLeft: [] });
});

async function waitFor<T>(what: string, seconds: number, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${seconds} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A booted test cluster. */
interface Booted {
  net: TestNetwork;
  dir: string;
  size: number;
  signals: () => Signal[];
  etcdPid: (i: number) => number;
  etcdctl: (args: string[], opts?: { cert?: boolean; endpoints?: string }) => { status: number; stdout: string; stderr: string };
  bootSeconds: number;
}

async function bootCluster(size: number, opts: { breakMember?: number } = {}): Promise<Booted> {
  const net = new TestNetwork();
  networks.push(net);
  const dir = join(tmpdir(), net.prefix);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  net.createHub();
  const addresses = Array.from({ length: size }, (_, i) => net.memberAddress(i));
  for (let i = 0; i < size; i++) net.addMember(i);

  // Client credentials for the test (kube-apiserver's etcd client certificate from the synth PKI).
  writeFileSync(join(dir, 'ca.crt'), pki.etcdCa.certPem);
  writeFileSync(join(dir, 'client.crt'), pki.apiserverEtcdClient.certPem);
  writeFileSync(join(dir, 'client.key'), pki.apiserverEtcdClient.keyPem, { mode: 0o600 });

  // The fake Heat endpoint, on the hub side.
  const tokens: Record<string, string> = {};
  for (let i = 0; i < size; i++) tokens[`etcd-${i}`] = `token-${net.id}-${i}`;
  const record = join(dir, 'signals.jsonl');
  writeFileSync(record, '');
  const heat = net.spawnIn(net.hub, [process.execPath, join(LIB, 'fake-heat.mjs'), net.hubAddress, '8004', record, JSON.stringify(tokens)]);
  await waitFor('fake Heat endpoint ready', 15, () => (existsSync(`${record}.ready`) ? true : undefined));
  expect(heat.pid).toBeGreaterThan(0);

  const ud = renderEtcdUserData({
    clusterName: 'etcdtest',
    kubernetesVersion: '1.33',
    podCidr: POD_CIDR,
    install: { mode: 'preinstalled', etcdPath: '/usr/bin/etcd', etcdctlPath: '/usr/bin/etcdctl' },
    bounds: { healthSeconds: 90 },
  });
  const started = Date.now();
  const runners = [];
  for (let i = 0; i < size; i++) {
    const memberDir = join(dir, `member-${i}`);
    mkdirSync(join(memberDir, 'parts'), { recursive: true });
    const cluster = opts.breakMember === i ? initialCluster(addresses.filter((_, j) => j !== i)) : initialCluster(addresses);
    const text = substituteAsHeat(ud.text, ud.placeholders, {
      __NODE_NAME__: `etcd-${i}`,
      __SIGNAL_CURL__: curlCli(`http://${net.hubAddress}:8004/v1/signal/etcd-${i}`, tokens[`etcd-${i}`] as string),
      __ETCD_ADDRESS__: addresses[i] as string,
      __ETCD_INITIAL_CLUSTER__: cluster,
      __ETCD_CA_CERT__: pki.etcdCa.certPem.trim(),
      __ETCD_CA_KEY__: pki.etcdCa.keyPem.trim(),
    });
    const parts = splitUserData(text);
    expect(parts.map((p) => p.filename)).toEqual(['cloud-config.yaml', ETCD_SCRIPT_PART]);
    for (const part of parts) writeFileSync(join(memberDir, 'parts', part.filename as string), part.content);
    runners.push(
      net.spawnIn(net.memberNs(i), ['unshare', '--mount', '--propagation', 'private', 'bash', join(LIB, 'boot-member.sh'), memberDir, LIB]),
    );
  }
  await waitFor(`all ${size} bootstrap scripts finished`, 150, () =>
    Array.from({ length: size }, (_, i) => existsSync(join(dir, `member-${i}`, 'exit-code'))).every(Boolean) ? true : undefined,
  );
  const bootSeconds = (Date.now() - started) / 1000;
  for (const r of runners) if (r.pid) net.pids.delete(r.pid);
  for (let i = 0; i < size; i++) {
    const pidFile = join(dir, `member-${i}`, 'etcd.service.pid');
    if (existsSync(pidFile)) net.trackPid(Number(readFileSync(pidFile, 'utf8')));
  }
  const signals = (): Signal[] =>
    readFileSync(record, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Signal);
  const endpoints = addresses.map((a) => `https://${a}:2379`).join(',');
  return {
    net,
    dir,
    size,
    signals,
    bootSeconds,
    etcdPid: (i) => Number(readFileSync(join(dir, `member-${i}`, 'etcd.service.pid'), 'utf8')),
    etcdctl: (args, o = {}) =>
      net.exec(
        net.hub,
        [
          'env',
          'ETCDCTL_API=3',
          'etcdctl',
          `--endpoints=${o.endpoints ?? endpoints}`,
          `--cacert=${join(dir, 'ca.crt')}`,
          ...(o.cert === false ? [] : [`--cert=${join(dir, 'client.crt')}`, `--key=${join(dir, 'client.key')}`]),
          '--dial-timeout=3s',
          '--command-timeout=5s',
          ...args,
        ],
        { allowFail: true },
      ),
  };
}

function memberFile(b: Booted, i: number, name: string): string {
  return readFileSync(join(b.dir, `member-${i}`, name), 'utf8');
}

for (const size of [3, 5]) {
  describe(`${size} etcd members booted from the rendered user-data`, () => {
    let b: Booted;
    beforeAll(async () => {
      b = await bootCluster(size);
      console.log(`${size} members: bootstrap scripts done in ${b.bootSeconds.toFixed(1)} s`);
    });

    it('every member ran its bootstrap to the end and signalled SUCCESS with its own token', () => {
      for (let i = 0; i < size; i++) {
        expect({ member: i, exit: memberFile(b, i, 'exit-code').trim() }).toEqual({ member: i, exit: '0' });
      }
      const signals = b.signals();
      expect(signals.map((s) => [s.node, s.status, s.tokenOk]).sort()).toEqual(
        Array.from({ length: size }, (_, i) => [`etcd-${i}`, 'SUCCESS', true]),
      );
      for (const s of signals) {
        expect(s.contentType).toBe('application/json');
        expect(s.reason).toMatch(new RegExp(`^${s.node}: etcd bootstrap complete in \\d+ s$`));
        expect(s.data).toMatch(/certificates;.*health;.*complete;/);
      }
    });

    it('forms one healthy TLS cluster with every member started', () => {
      const health = b.etcdctl(['endpoint', 'health', '--cluster']);
      expect(health.status, health.stderr).toBe(0);
      const list = b.etcdctl(['member', 'list', '--write-out=simple']);
      expect(list.status, list.stderr).toBe(0);
      const started = list.stdout.split('\n').filter((l) => l.includes(', started, '));
      expect(started).toHaveLength(size);
      for (let i = 0; i < size; i++)
        expect(list.stdout).toContain(`etcd-${i}, https://${b.net.memberAddress(i)}:2380, https://${b.net.memberAddress(i)}:2379`);
    });

    it('rejects clients without a certificate, and plain http', () => {
      const put = b.etcdctl(['put', 'k', 'v'], { cert: false, endpoints: `https://${b.net.memberAddress(1)}:2379` });
      expect(put.status).not.toBe(0);
      const plain = b.net.exec(b.net.hub, ['curl', '-sS', '--max-time', '2', `http://${b.net.memberAddress(1)}:2379/version`], {
        allowFail: true,
      });
      expect(plain.status === 0 && plain.stdout.includes('etcdserver')).toBe(false);
      const noCert = b.net.exec(
        b.net.hub,
        ['curl', '-sS', '--max-time', '5', '--cacert', join(b.dir, 'ca.crt'), `https://${b.net.memberAddress(1)}:2379/version`],
        { allowFail: true },
      );
      expect(noCert.status).not.toBe(0);
    });

    it('runs etcd as the etcd user with the node-signed certificate for its address, and removed the CA key', () => {
      for (let i = 0; i < size; i++) {
        const pid = b.etcdPid(i);
        const status = readFileSync(`/proc/${pid}/status`, 'utf8');
        const uid = /^Uid:\s+(\d+)/m.exec(status)?.[1];
        const inNs = (argv: string[]) =>
          b.net.exec(b.net.memberNs(i), ['nsenter', '-t', String(pid), '-m', '--', ...argv], { allowFail: true });
        expect(inNs(['id', '-u', 'etcd']).stdout.trim()).toBe(uid);
        expect(uid).not.toBe('0');
        const cert = inNs(['openssl', 'x509', '-in', '/etc/etcd/pki/server.crt', '-noout', '-ext', 'subjectAltName']);
        expect(cert.stdout).toContain(`IP Address:${b.net.memberAddress(i)}`);
        const leftovers = inNs(['find', '/run/hotk8s', '/etc/etcd', '-name', '*ca.key*']);
        expect(leftovers.stdout.trim()).toBe('');
        expect(inNs(['ls', '/run/hotk8s']).stdout.trim()).toBe('');
        const unit = inNs(['cat', '/etc/systemd/system/etcd.service']).stdout;
        expect(unit).toContain('--client-cert-auth=true');
        expect(unit).toContain('--peer-client-cert-auth=true');
        expect(memberFile(b, i, 'systemctl.log')).toBe(
          'daemon-reload\nenable hotk8s-block-metadata.service\ndaemon-reload\nenable etcd.service\nrestart etcd.service\n',
        );
      }
    });

    it('drops pod traffic to the metadata service on every member', () => {
      for (let i = 0; i < size; i++) {
        const rules = b.net.exec(b.net.memberNs(i), ['nft', 'list', 'table', 'ip', 'hotk8s_metadata']);
        expect(rules.stdout).toMatch(
          new RegExp(`ip saddr ${POD_CIDR.replace(/[./]/g, '\\$&')} ip daddr 169\\.254\\.169\\.254 counter packets \\d+ bytes \\d+ drop`),
        );
        expect(rules.stdout).toMatch(/hook prerouting priority raw/);
      }
    });

    it('keeps serving after one member is killed', async () => {
      expect(b.etcdctl(['put', 'before', 'kill']).status).toBe(0);
      const victim = b.etcdPid(0);
      process.kill(victim, 'SIGKILL');
      await waitFor('killed member gone', 10, () => (alive(victim) ? undefined : true));
      const rest = Array.from({ length: size - 1 }, (_, i) => `https://${b.net.memberAddress(i + 1)}:2379`).join(',');
      // If the victim led, the others elect a new leader first (about one election timeout).
      await waitFor('survivors healthy', 20, () =>
        b.etcdctl(['endpoint', 'health'], { endpoints: rest }).status === 0 ? true : undefined,
      );
      const put = b.etcdctl(['put', 'after', 'kill'], { endpoints: rest });
      expect(put.status, put.stderr).toBe(0);
      const get = b.etcdctl(['get', 'before', '--print-value-only'], { endpoints: rest });
      expect(get.stdout.trim()).toBe('kill');
      const health = b.etcdctl(['endpoint', 'health'], { endpoints: rest });
      expect(health.status, health.stderr).toBe(0);
    });
  });
}

describe('a member whose deploy-time values are wrong', () => {
  it('signals FAILURE naming the node and the phase, and starts nothing', async () => {
    const b = await bootCluster(1, { breakMember: 0 });
    expect(memberFile(b, 0, 'exit-code').trim()).not.toBe('0');
    const signals = b.signals();
    expect(signals).toHaveLength(1);
    expect(signals[0]).toMatchObject({ node: 'etcd-0', status: 'FAILURE', tokenOk: true });
    expect(signals[0]?.reason).toMatch(
      /^etcd-0: validate: the initial cluster '' lacks this member \(etcd-0=https:\/\/10\.\d+\.\d+\.10:2380\)$/,
    );
    expect(existsSync(join(b.dir, 'member-0', 'etcd.service.pid'))).toBe(false);
  });
});
