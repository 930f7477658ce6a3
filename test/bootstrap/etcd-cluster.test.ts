/**
 * Real etcd: etcd "VMs" (network namespaces with private /etc, /var, /usr/local and /run) boot from the
 * library's own etcd user-data - split by cloud-init's code, write_files by cloud-init's module, the
 * shell part run as cloud-init's final stage runs it, with Heat's str_replace values substituted - using
 * the image's etcd (install mode "preinstalled", Debian's etcd 3.4 here) and a systemctl stand-in that
 * starts the unit's ExecStart line (a blocking start of a Type=notify unit waits for READY=1 within its
 * TimeoutStartSec, as systemd's start job does).
 *
 * They must form healthy TLS clusters, reject clients without certificates, keep serving after one
 * member is killed, signal SUCCESS to a fake Heat endpoint and leave nothing behind; a member replaced
 * with a fresh disk joins the running cluster and serves the keys written before; a replacement that
 * finds a cluster without quorum fails loudly instead of starting an empty one; members booting 400 s
 * apart form a cluster; and a snapshot taken by the member's backup tool, restored with its restore tool
 * into a new 3-member cluster, brings the keys back; with Swift backups, the backup tool uploads each snapshot to a
 * Swift temp URL it signs itself, checked by Swift's own tempurl middleware (Debian's python3-swift, fake-swift.py),
 * and a refused upload fails the run but keeps the local snapshot.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderEtcdUserData, ETCD_SCRIPT_PART, type EtcdUserDataContext } from '../../src/bootstrap/etcd.js';
import type { ClusterPki } from '../../src/bootstrap/pki.js';
import type { RenderedUserData } from '../../src/bootstrap/render.js';
import { curlCli, initialCluster, requireTool, splitUserData, substituteAsHeat, throwawayPki } from './lib/index.js';
import { alive, listNamespaces, TestNetwork } from './lib/netns.js';

const LIB = join(dirname(fileURLToPath(import.meta.url)), 'lib');
const POD_CIDR = '10.244.0.0/16';
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const timings: Record<string, number> = {};

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
  console.log(`real-etcd phases (s): ${JSON.stringify(timings)}`);
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

type Exec = { status: number; stdout: string; stderr: string };

/** A test cluster: its network, fake Heat, and the members' boots (a member may boot several times: replacements). */
class TestCluster {
  readonly net = new TestNetwork();
  readonly dir: string;
  readonly addresses: string[];
  readonly tokens: Record<string, string> = {};
  readonly record: string;
  readonly ud: RenderedUserData;
  /** Per member, the directory of its current boot (a fresh disk each time). */
  readonly current: string[] = [];
  /** Heat's values for the placeholders of optional features (e.g. the Swift container's URL and key). */
  extraValues: Record<string, string> = {};
  private boots = 0;

  constructor(
    readonly size: number,
    ctx: Partial<EtcdUserDataContext> = {},
    /** The etcd cluster token Heat gives (the root stack's id in it). */
    readonly clusterToken = `etcdtest-etcd-${Math.random().toString(16).slice(2, 10)}`,
  ) {
    networks.push(this.net);
    this.dir = join(tmpdir(), this.net.prefix);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.net.createHub();
    this.addresses = Array.from({ length: size }, (_, i) => this.net.memberAddress(i));
    for (let i = 0; i < size; i++) this.net.addMember(i);
    // Client credentials for the test (kube-apiserver's etcd client certificate from the synth PKI).
    writeFileSync(join(this.dir, 'ca.crt'), pki.etcdCa.certPem);
    writeFileSync(join(this.dir, 'client.crt'), pki.apiserverEtcdClient.certPem);
    writeFileSync(join(this.dir, 'client.key'), pki.apiserverEtcdClient.keyPem, { mode: 0o600 });
    for (let i = 0; i < size; i++) this.tokens[`etcd-${i}`] = `token-${this.net.id}-${i}`;
    this.record = join(this.dir, 'signals.jsonl');
    writeFileSync(this.record, '');
    this.ud = renderEtcdUserData({
      clusterName: 'etcdtest',
      kubernetesVersion: '1.36',
      podCidr: POD_CIDR,
      install: { mode: 'preinstalled', etcdPath: '/usr/bin/etcd', etcdctlPath: '/usr/bin/etcdctl' },
      bounds: { healthSeconds: 90 },
      ...ctx,
    });
  }

  async startHeat(): Promise<void> {
    const heat = this.net.spawnIn(this.net.hub, [
      process.execPath,
      join(LIB, 'fake-heat.mjs'),
      this.net.hubAddress,
      '8004',
      this.record,
      JSON.stringify(this.tokens),
    ]);
    await waitFor('fake Heat endpoint ready', 15, () => (existsSync(`${this.record}.ready`) ? true : undefined));
    expect(heat.pid).toBeGreaterThan(0);
  }

  /** Boots member i from its user-data on a fresh disk (a new server on the same port). */
  boot(i: number, opts: { initialCluster?: string } = {}): string {
    const memberDir = join(this.dir, `member-${i}-boot-${this.boots++}`);
    mkdirSync(join(memberDir, 'parts'), { recursive: true });
    const text = substituteAsHeat(this.ud.text, this.ud.placeholders, {
      __NODE_NAME__: `etcd-${i}`,
      __SIGNAL_CURL__: curlCli(`http://${this.net.hubAddress}:8004/v1/signal/etcd-${i}`, this.tokens[`etcd-${i}`] as string),
      __ETCD_ADDRESS__: this.addresses[i] as string,
      __ETCD_INITIAL_CLUSTER__: opts.initialCluster ?? initialCluster(this.addresses),
      __ETCD_CLUSTER_TOKEN__: this.clusterToken,
      __ETCD_CA_CERT__: pki.etcdCa.certPem.trim(),
      __ETCD_CA_KEY__: pki.etcdCa.keyPem.trim(),
      ...this.extraValues,
    });
    const parts = splitUserData(text);
    expect(parts.map((p) => p.filename)).toEqual(['cloud-config.yaml', ETCD_SCRIPT_PART]);
    for (const part of parts) writeFileSync(join(memberDir, 'parts', part.filename as string), part.content);
    const runner = this.net.spawnIn(this.net.memberNs(i), [
      'unshare',
      '--mount',
      '--propagation',
      'private',
      'bash',
      join(LIB, 'boot-member.sh'),
      memberDir,
      LIB,
    ]);
    if (runner.pid) this.net.pids.delete(runner.pid);
    this.current[i] = memberDir;
    return memberDir;
  }

  /** Waits until the given boots ended; records etcd's PID of each for cleanup. */
  async finished(memberDirs: readonly string[], seconds: number): Promise<void> {
    await waitFor(`${memberDirs.length} bootstrap script(s) finished`, seconds, () =>
      memberDirs.every((d) => existsSync(join(d, 'exit-code'))) ? true : undefined,
    );
    for (const d of memberDirs) this.trackEtcd(d);
  }

  trackEtcd(memberDir: string): void {
    const pidFile = join(memberDir, 'hotk8s-etcd.service.pid');
    if (existsSync(pidFile)) this.net.trackPid(Number(readFileSync(pidFile, 'utf8')));
  }

  signals(): Signal[] {
    return readFileSync(this.record, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Signal);
  }

  etcdPid(i: number): number {
    return Number(readFileSync(join(this.current[i] as string, 'hotk8s-etcd.service.pid'), 'utf8'));
  }

  exitCode(i: number): string {
    return readFileSync(join(this.current[i] as string, 'exit-code'), 'utf8').trim();
  }

  file(i: number, name: string): string {
    return readFileSync(join(this.current[i] as string, name), 'utf8');
  }

  endpoints(members: readonly number[] = this.addresses.map((_, i) => i)): string {
    return members.map((i) => `https://${this.addresses[i]}:2379`).join(',');
  }

  etcdctl(args: string[], o: { cert?: boolean; endpoints?: string } = {}): Exec {
    return this.net.exec(
      this.net.hub,
      [
        'env',
        'ETCDCTL_API=3',
        'etcdctl',
        `--endpoints=${o.endpoints ?? this.endpoints()}`,
        `--cacert=${join(this.dir, 'ca.crt')}`,
        ...(o.cert === false ? [] : [`--cert=${join(this.dir, 'client.crt')}`, `--key=${join(this.dir, 'client.key')}`]),
        '--dial-timeout=3s',
        '--command-timeout=5s',
        ...args,
      ],
      { allowFail: true },
    );
  }

  /** Runs a command as root inside member i's "VM" (its network and mount namespaces, its systemctl). */
  inMember(i: number, argv: string[]): Exec {
    const dir = this.current[i] as string;
    return this.net.exec(
      this.net.memberNs(i),
      [
        'nsenter',
        '-t',
        String(this.etcdPid(i)),
        '-m',
        '--',
        'env',
        `PATH=${dir}/bin:${PATH}`,
        `HOTK8S_TEST_DIR=${dir}`,
        `HOTK8S_TEST_LIB=${LIB}`,
        ...argv,
      ],
      { allowFail: true },
    );
  }

  /** Member i's line in `member list` once it has started and published its name and client URL (without its id). */
  startedMemberLine(i: number): string {
    return `, started, etcd-${i}, https://${this.addresses[i]}:2380, https://${this.addresses[i]}:2379,`;
  }

  /** Member ids by name, from `member list`. */
  memberIds(): Record<string, string> {
    const list = this.etcdctl(['member', 'list']);
    expect(list.status, list.stderr).toBe(0);
    const out: Record<string, string> = {};
    for (const line of list.stdout.trim().split('\n')) {
      const [id, , name] = line.split(', ');
      out[name as string] = id as string;
    }
    return out;
  }

  async killEtcd(i: number): Promise<void> {
    const victim = this.etcdPid(i);
    process.kill(victim, 'SIGKILL');
    await waitFor(`etcd of member ${i} gone`, 10, () => (alive(victim) ? undefined : true));
  }
}

async function bootCluster(size: number, ctx: Partial<EtcdUserDataContext> = {}): Promise<TestCluster> {
  const c = new TestCluster(size, ctx);
  await c.startHeat();
  const started = Date.now();
  const dirs = Array.from({ length: size }, (_, i) => c.boot(i));
  await c.finished(dirs, 150);
  timings[`boot ${size} members (${c.net.id})`] = (Date.now() - started) / 1000;
  return c;
}

for (const size of [3, 5]) {
  describe(`${size} etcd members booted from the rendered user-data`, () => {
    let b: TestCluster;
    beforeAll(async () => {
      b = await bootCluster(size);
    });

    it('every member ran its bootstrap to the end and signalled SUCCESS with its own token', () => {
      for (let i = 0; i < size; i++) expect({ member: i, exit: b.exitCode(i) }).toEqual({ member: i, exit: '0' });
      const signals = b.signals();
      expect(signals.map((s) => [s.node, s.status, s.tokenOk]).sort()).toEqual(
        Array.from({ length: size }, (_, i) => [`etcd-${i}`, 'SUCCESS', true]),
      );
      for (const s of signals) {
        expect(s.contentType).toBe('application/json');
        expect(s.reason).toMatch(new RegExp(`^${s.node}: etcd bootstrap complete in \\d+ s$`));
        expect(s.data).toMatch(/certificates;.*membership;.*start;.*health;.*complete;/);
      }
    });

    it('forms one healthy TLS cluster with every member started, with the token Heat gave', () => {
      const health = b.etcdctl(['endpoint', 'health', '--cluster']);
      expect(health.status, health.stderr).toBe(0);
      const list = b.etcdctl(['member', 'list', '--write-out=simple']);
      expect(list.status, list.stderr).toBe(0);
      for (let i = 0; i < size; i++) expect(list.stdout).toContain(b.startedMemberLine(i));
      for (let i = 0; i < size; i++) {
        expect(b.file(i, 'bootstrap.log')).toMatch(/no peer has a cluster yet: this member starts it|a cluster exists .*: joining it/);
        expect(b.inMember(i, ['cat', '/etc/systemd/system/hotk8s-etcd.service']).stdout).toContain(
          `--initial-cluster-token=${b.clusterToken} `,
        );
      }
    });

    it('prints the health marker (role, node, member, boot id, time) on its console once its own endpoint is healthy', () => {
      const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
      for (let i = 0; i < size; i++) {
        expect(b.file(i, 'console')).toMatch(
          new RegExp(`^hotk8s-health role=etcd node=etcd-${i} member=${i} boot=${bootId} time=\\d+ healthy\r$`, 'm'),
        );
      }
    });

    it('rejects clients without a certificate, and plain http', () => {
      const put = b.etcdctl(['put', 'k', 'v'], { cert: false, endpoints: `https://${b.addresses[1]}:2379` });
      expect(put.status).not.toBe(0);
      const plain = b.net.exec(b.net.hub, ['curl', '-sS', '--max-time', '2', `http://${b.addresses[1]}:2379/version`], { allowFail: true });
      expect(plain.status === 0 && plain.stdout.includes('etcdserver')).toBe(false);
      const noCert = b.net.exec(
        b.net.hub,
        ['curl', '-sS', '--max-time', '5', '--cacert', join(b.dir, 'ca.crt'), `https://${b.addresses[1]}:2379/version`],
        { allowFail: true },
      );
      expect(noCert.status).not.toBe(0);
    });

    it("runs etcd as the etcd user with the node-signed certificate for its address, removed the CA key, and masked the package's etcd.service", () => {
      for (let i = 0; i < size; i++) {
        const pid = b.etcdPid(i);
        const status = readFileSync(`/proc/${pid}/status`, 'utf8');
        const uid = /^Uid:\s+(\d+)/m.exec(status)?.[1];
        expect(b.inMember(i, ['id', '-u', 'etcd']).stdout.trim()).toBe(uid);
        expect(uid).not.toBe('0');
        const cert = b.inMember(i, ['openssl', 'x509', '-in', '/etc/etcd/pki/server.crt', '-noout', '-ext', 'subjectAltName']);
        expect(cert.stdout).toContain(`IP Address:${b.addresses[i]}`);
        expect(b.inMember(i, ['find', '/run/hotk8s', '/etc/etcd', '-name', '*ca.key*']).stdout.trim()).toBe('');
        expect(b.inMember(i, ['ls', '/run/hotk8s']).stdout.trim()).toBe('');
        const unit = b.inMember(i, ['cat', '/etc/systemd/system/hotk8s-etcd.service']).stdout;
        expect(unit).toContain('--client-cert-auth=true');
        expect(unit).toContain('--peer-client-cert-auth=true');
        expect(unit).toContain('TimeoutStartSec=infinity');
        // This machine has Debian's etcd-server: its unit is masked in the member, and never started.
        expect(b.inMember(i, ['readlink', '/etc/systemd/system/etcd.service']).stdout.trim()).toBe('/dev/null');
        expect(b.file(i, 'systemctl.log')).toBe(
          [
            'daemon-reload',
            'enable hotk8s-block-metadata.service',
            'stop etcd.service',
            'enable hotk8s-scrub-user-data.service',
            'enable hotk8s-etcd.service',
            'start --no-block hotk8s-etcd.service',
            'enable --now hotk8s-health-marker.timer',
            'start --no-block hotk8s-scrub-user-data.service',
            '',
          ].join('\n'),
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
      await b.killEtcd(0);
      const rest = b.endpoints(Array.from({ length: size - 1 }, (_, i) => i + 1));
      // If the victim led, the others elect a new leader first (about one election timeout).
      await waitFor('survivors healthy', 20, () =>
        b.etcdctl(['endpoint', 'health'], { endpoints: rest }).status === 0 ? true : undefined,
      );
      const put = b.etcdctl(['put', 'after', 'kill'], { endpoints: rest });
      expect(put.status, put.stderr).toBe(0);
      const get = b.etcdctl(['get', 'before', '--print-value-only'], { endpoints: rest });
      expect(get.stdout.trim()).toBe('kill');
    });
  });
}

describe('a replaced member (fresh disk, same user-data, same address)', () => {
  let b: TestCluster;
  let idsBefore: Record<string, string>;
  let replacement: string;
  beforeAll(async () => {
    b = await bootCluster(3);
    for (let k = 0; k < 20; k++) expect(b.etcdctl(['put', `/registry/key-${k}`, `value-${k}`]).status).toBe(0);
    idsBefore = b.memberIds();
    // The old server is gone: its etcd dies, its disk with it.
    await b.killEtcd(1);
    const started = Date.now();
    replacement = b.boot(1);
    await b.finished([replacement], 150);
    timings['replacement joins'] = (Date.now() - started) / 1000;
  });

  it('removes its stale identity, adds itself, joins the running cluster and signals SUCCESS', () => {
    const log = b.file(1, 'bootstrap.log');
    expect(b.exitCode(1), log).toBe('0');
    expect(log).toContain('a cluster exists');
    expect(log).toContain(`removing this member's stale identity ${idsBefore['etcd-1']}`);
    expect(log).toContain('adding this member to the running cluster');
    expect(log).toMatch(/starting \(existing: --initial-cluster-state=existing\)/);
    const signals = b.signals().filter((s) => s.node === 'etcd-1');
    expect(signals.map((s) => s.status)).toEqual(['SUCCESS', 'SUCCESS']);
    expect(signals[1]?.reason).toMatch(/^etcd-1: etcd bootstrap complete in \d+ s$/);
    const ids = b.memberIds();
    expect(Object.keys(ids).sort()).toEqual(['etcd-0', 'etcd-1', 'etcd-2']);
    expect(ids['etcd-1']).not.toBe(idsBefore['etcd-1']);
    expect(ids['etcd-0']).toBe(idsBefore['etcd-0']);
    const health = b.etcdctl(['endpoint', 'health', '--cluster']);
    expect(health.status, health.stderr).toBe(0);
  });

  it('serves the keys written before from its own data (a serializable read on its endpoint)', () => {
    const get = b.etcdctl(['get', '--prefix', '/registry/', '--consistency=s', '--keys-only'], { endpoints: b.endpoints([1]) });
    expect(get.status, get.stderr).toBe(0);
    expect(get.stdout.split('\n').filter((l) => l !== '')).toHaveLength(20);
    const one = b.etcdctl(['get', '/registry/key-7', '--consistency=s', '--print-value-only'], { endpoints: b.endpoints([1]) });
    expect(one.stdout.trim()).toBe('value-7');
  });

  it('reboots with its data as it is (no membership change)', async () => {
    const idsBeforeReboot = b.memberIds();
    const unit = b.inMember(1, ['cat', '/etc/systemd/system/hotk8s-etcd.service']).stdout;
    const restart = b.inMember(1, ['systemctl', 'restart', '--no-block', 'hotk8s-etcd.service']);
    expect(restart.status, restart.stderr).toBe(0);
    b.trackEtcd(b.current[1] as string);
    await waitFor('member 1 healthy again', 30, () =>
      b.etcdctl(['endpoint', 'health'], { endpoints: b.endpoints([1]) }).status === 0 ? true : undefined,
    );
    expect(b.memberIds()).toEqual(idsBeforeReboot);
    expect(unit).toContain('--initial-cluster-state=existing');
  });
});

describe('a replacement that finds a cluster without quorum', () => {
  it('fails loudly in the membership phase, within its bound, and starts no empty cluster', async () => {
    const b = new TestCluster(3, { bounds: { healthSeconds: 30 } });
    await b.startHeat();
    await b.finished(
      [0, 1, 2].map((i) => b.boot(i)),
      150,
    );
    expect(b.etcdctl(['put', 'precious', 'data']).status).toBe(0);
    // Two of three members are lost; member 1 comes back on a fresh disk.
    await b.killEtcd(1);
    await b.killEtcd(2);
    const started = Date.now();
    const dir = b.boot(1);
    await b.finished([dir], 120);
    const seconds = (Date.now() - started) / 1000;
    timings['replacement without quorum fails'] = seconds;
    expect(b.exitCode(1), b.file(1, 'bootstrap.log')).not.toBe('0');
    const last = b
      .signals()
      .filter((s) => s.node === 'etcd-1')
      .at(-1);
    expect(last?.status).toBe('FAILURE');
    expect(last?.reason, b.file(1, 'bootstrap.log')).toMatch(
      /^etcd-1: membership: a cluster exists \(members https:\/\/[\d.]+:2379\) but did not let this member join \(no quorum\?\); it will not start an empty one \(after 30 s\)$/,
    );
    expect(seconds).toBeLessThan(30 + 60);
    expect(existsSync(join(dir, 'hotk8s-etcd.service.pid'))).toBe(false);
  });
});

describe('members booting 400 s apart (a slow peer)', () => {
  it('still form a cluster: the first member waits past any start timeout, all signal SUCCESS', async () => {
    // Default bounds (health 600 s): the first member must outwait its peers' 400 s delay.
    const b = new TestCluster(3, { bounds: {} });
    await b.startHeat();
    const started = Date.now();
    const first = b.boot(0);
    await new Promise((r) => setTimeout(r, 400_000));
    expect(existsSync(join(first, 'exit-code')), 'the first member gave up before its peers booted').toBe(false);
    const rest = [b.boot(1), b.boot(2)];
    await b.finished([first, ...rest], 400);
    timings['400 s apart: all signalled'] = (Date.now() - started) / 1000;
    expect([0, 1, 2].map((i) => b.exitCode(i))).toEqual(['0', '0', '0']);
    expect(
      b
        .signals()
        .map((s) => [s.node, s.status])
        .sort(),
    ).toEqual([
      ['etcd-0', 'SUCCESS'],
      ['etcd-1', 'SUCCESS'],
      ['etcd-2', 'SUCCESS'],
    ]);
    const health = b.etcdctl(['endpoint', 'health', '--cluster']);
    expect(health.status, health.stderr).toBe(0);
  }, 1_200_000);
});

describe('backups: a snapshot restored into a new 3-member cluster', () => {
  it("brings the keys back with the members' own backup and restore tools", async () => {
    const backup = { schedule: 'hourly', retain: 2, volume: false } as const;
    const a = await bootCluster(3, { backup });
    for (let k = 0; k < 50; k++) expect(a.etcdctl(['put', `/registry/pods/p${k}`, `pod-${k}`]).status).toBe(0);
    // The timer's service, run now (three times: retention keeps 2).
    for (let n = 0; n < 3; n++) {
      const r = a.inMember(0, ['/usr/local/sbin/hotk8s-etcd-backup']);
      expect(r.status, r.stdout + r.stderr).toBe(0);
      await new Promise((res) => setTimeout(res, 1100)); // distinct timestamps
    }
    const kept = a.inMember(0, ['find', '/var/lib/etcd-backup', '-name', '*.db']).stdout.trim().split('\n').sort();
    expect(kept).toHaveLength(2);
    expect(a.inMember(0, ['systemctl', 'is-active', 'hotk8s-etcd.service']).status).toBe(0);
    const timer = a.inMember(0, ['cat', '/etc/systemd/system/hotk8s-etcd-backup.timer']).stdout;
    expect(timer).toContain('OnCalendar=hourly');
    expect(a.file(0, 'systemctl.log')).toContain('enable hotk8s-etcd-backup.timer');
    const shared = join(a.dir, 'snapshot.db');
    const copy = a.inMember(0, ['cp', kept.at(-1) as string, shared]);
    expect(copy.status, copy.stderr).toBe(0);
    expect(a.inMember(0, ['sh', '-c', `cd /var/lib/etcd-backup && sha256sum -c ${kept.at(-1)?.split('/').pop()}.sha256`]).status).toBe(0);

    // A fresh cluster (another stack: other addresses, another token), restored on every member.
    const b = await bootCluster(3, { backup });
    expect(b.etcdctl(['get', '/registry/pods/p1', '--print-value-only']).stdout.trim()).toBe('');
    const started = Date.now();
    for (let i = 0; i < 3; i++) {
      const target = join(b.dir, `restore-${i}.db`);
      copyFileSync(shared, target);
      const r = b.inMember(i, ['/usr/local/sbin/hotk8s-etcd-restore', target]);
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toContain(`etcd-${i} restored from ${target}`);
      b.trackEtcd(b.current[i] as string);
    }
    // `endpoint health --cluster` checks only the members that have published their client URLs; the member that
    // restored last can still be listed as unstarted (no name, no client URL) while the others answer healthy, so
    // wait for every member's started line too.
    await waitFor('restored cluster healthy, every member started and published', 60, () => {
      const members = b.etcdctl(['member', 'list']);
      if (members.status !== 0 || !b.addresses.every((_, i) => members.stdout.includes(b.startedMemberLine(i)))) return undefined;
      return b.etcdctl(['endpoint', 'health', '--cluster']).status === 0 ? true : undefined;
    });
    timings['restore into a new cluster'] = (Date.now() - started) / 1000;
    const keys = b.etcdctl(['get', '--prefix', '/registry/pods/', '--keys-only']);
    expect(keys.stdout.split('\n').filter((l) => l !== '')).toHaveLength(50);
    expect(b.etcdctl(['get', '/registry/pods/p42', '--print-value-only']).stdout.trim()).toBe('pod-42');
    const list = b.etcdctl(['member', 'list']);
    for (let i = 0; i < 3; i++) expect(list.stdout).toContain(b.startedMemberLine(i));
    // The data before the restore is kept beside it.
    expect(readdirSync(b.dir).length).toBeGreaterThan(0);
    expect(b.inMember(0, ['sh', '-c', 'ls -d /var/lib/etcd/data.before-restore-*']).status).toBe(0);
  });
});

describe("backups to Swift: through a temp URL the member signs, checked by Swift's own tempurl middleware", () => {
  it('uploads each snapshot with X-Delete-After; with a wrong key the upload is refused, the run fails and the local snapshot stays', async () => {
    requireTool('/usr/bin/python3');
    const swiftCheck = spawnSync('/usr/bin/python3', ['-c', 'import swift.common.middleware.tempurl'], { encoding: 'utf8' });
    if (swiftCheck.status !== 0) throw new Error("prerequisite missing: Debian's python3-swift (scripts/prepare-test-env.sh installs it)");
    const backup = { schedule: 'hourly', retain: 5, volume: false, swift: { deleteAfterDays: 7 } } as const;
    const c = new TestCluster(1, { backup });
    await c.startHeat();
    // Swift in the hub: its tempurl middleware in front of a stand-in proxy; the container holds the key.
    const store = join(c.dir, 'swift');
    mkdirSync(store, { recursive: true });
    const key = randomBytes(32).toString('hex');
    c.net.spawnIn(c.net.hub, ['/usr/bin/python3', join(LIB, 'fake-swift.py'), c.net.hubAddress, store, 'AUTH_test', 'etcd-backups', key]);
    const port = await waitFor('fake Swift ready', 20, () =>
      existsSync(join(store, 'port')) ? readFileSync(join(store, 'port'), 'utf8') : undefined,
    );
    const containerUrl = `http://${c.net.hubAddress}:${port}/v1/AUTH_test/etcd-backups`;
    c.extraValues = { __ETCD_BACKUP_SWIFT_URL__: containerUrl, __ETCD_BACKUP_SWIFT_KEY__: key };
    const dir = c.boot(0);
    await c.finished([dir], 150);
    expect(c.exitCode(0), c.file(0, 'bootstrap.log')).toBe('0');
    for (let k = 0; k < 20; k++) expect(c.etcdctl(['put', `/registry/secrets/s${k}`, `v-${k}`]).status).toBe(0);
    const requests = () =>
      existsSync(join(store, 'requests.jsonl'))
        ? readFileSync(join(store, 'requests.jsonl'), 'utf8')
            .split('\n')
            .filter((l) => l !== '')
            .map(
              (l) => JSON.parse(l) as { method: string; path: string; status: number; headers?: Record<string, string>; deleteAt?: string },
            )
        : [];

    // The key is on the member only in a root-only file; not in the tools' environment file nor the logs.
    expect(c.inMember(0, ['stat', '-c', '%a %U', '/etc/hotk8s/etcd-backup-swift.key']).stdout.trim()).toBe('600 root');
    expect(c.inMember(0, ['cat', '/etc/hotk8s/etcd-backup-swift.key']).stdout.trim()).toBe(key);
    expect(c.inMember(0, ['cat', '/etc/hotk8s/etcd-member.env']).stdout).not.toContain(key);
    expect(c.file(0, 'bootstrap.log')).not.toContain(key);

    const ok = c.inMember(0, ['/usr/local/sbin/hotk8s-etcd-backup']);
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    const local = c.inMember(0, ['find', '/var/lib/etcd-backup', '-name', '*.db']).stdout.trim().split('\n');
    expect(local).toHaveLength(1);
    const stamp = /etcd-etcd-0-(\d{8}T\d{6}Z)\.db$/.exec(local[0] as string)?.[1];
    expect(stamp, local[0]).toBeDefined();
    const objectPath = `/v1/AUTH_test/etcd-backups/etcdtest/etcd-0/${stamp}.db`;
    expect(ok.stdout).toContain(`uploaded to ${containerUrl}/etcdtest/etcd-0/${stamp}.db`);
    const put = requests().filter((r) => r.method === 'PUT');
    expect(put.map((r) => [r.path, r.status])).toEqual([[objectPath, 201]]);
    expect(put[0]?.headers?.['X-Delete-After']).toBe(String(7 * 86400));
    expect(Number(put[0]?.deleteAt) - Date.now() / 1000).toBeGreaterThan(7 * 86400 - 120);
    // The object is the member's snapshot, byte for byte, and a valid etcd snapshot.
    const stored = join(store, 'objects', `etcdtest__etcd-0__${stamp}.db`);
    const localSum = c.inMember(0, ['sha256sum', local[0] as string]).stdout.split(' ')[0];
    expect(createHash('sha256').update(readFileSync(stored)).digest('hex')).toBe(localSum);
    const status = spawnSync('etcdctl', ['snapshot', 'status', stored, '--write-out=json'], {
      encoding: 'utf8',
      env: { ...process.env, ETCDCTL_API: '3' },
    });
    expect(status.status, status.stderr).toBe(0);
    expect((JSON.parse(status.stdout) as { totalKey: number }).totalKey).toBeGreaterThanOrEqual(20);

    // A key the container does not hold (rotated by a stack update the member missed): Swift refuses the URL.
    await new Promise((res) => setTimeout(res, 1100)); // a distinct timestamp
    const wrong = c.inMember(0, ['sh', '-c', `printf '%s\\n' ${'0'.repeat(64)} >/etc/hotk8s/etcd-backup-swift.key`]);
    expect(wrong.status, wrong.stderr).toBe(0);
    const refused = c.inMember(0, ['/usr/local/sbin/hotk8s-etcd-backup']);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(
      /hotk8s-etcd-backup: uploading \/var\/lib\/etcd-backup\/etcd-etcd-0-\d{8}T\d{6}Z\.db to Swift \(.*\) failed: HTTP 401; the snapshot stays in \/var\/lib\/etcd-backup/,
    );
    const after = c.inMember(0, ['find', '/var/lib/etcd-backup', '-name', '*.db']).stdout.trim().split('\n').sort();
    expect(after).toHaveLength(2);
    const kept = after.find((f) => f !== local[0]) as string;
    expect(c.inMember(0, ['sh', '-c', `cd /var/lib/etcd-backup && sha256sum -c ${kept.split('/').pop()}.sha256`]).status).toBe(0);
    const last = requests().at(-1);
    expect(last).toMatchObject({ method: 'PUT', status: 401 });
    expect(last?.path).toMatch(/^\/v1\/AUTH_test\/etcd-backups\/etcdtest\/etcd-0\/\d{8}T\d{6}Z\.db$/);
    expect(readdirSync(join(store, 'objects'))).toHaveLength(1);
    // The timer's service is a oneshot of this tool: its failure shows in systemctl (after a network, with the mount).
    const unit = c.inMember(0, ['cat', '/etc/systemd/system/hotk8s-etcd-backup.service']).stdout;
    expect(unit).toContain('Type=oneshot');
    expect(unit).toContain('ExecStart=/usr/local/sbin/hotk8s-etcd-backup');
    expect(unit).toContain('After=network-online.target');
  });
});

describe('a member whose deploy-time values are wrong', () => {
  it('signals FAILURE naming the node and the phase, and starts nothing', async () => {
    const b = new TestCluster(1);
    await b.startHeat();
    const dir = b.boot(0, { initialCluster: '' });
    await b.finished([dir], 60);
    expect(b.exitCode(0)).not.toBe('0');
    const signals = b.signals();
    expect(signals).toHaveLength(1);
    expect(signals[0]).toMatchObject({ node: 'etcd-0', status: 'FAILURE', tokenOk: true });
    expect(signals[0]?.reason).toMatch(
      /^etcd-0: validate: the initial cluster '' lacks this member \(etcd-0=https:\/\/10\.\d+\.\d+\.10:2380\)$/,
    );
    expect(existsSync(join(dir, 'hotk8s-etcd.service.pid'))).toBe(false);
  });
});
