/**
 * The in-place upgrade agent (template kube/upgrade-agent.sh) as rendered, run with real bash against stub `kubelet`,
 * `kubeadm`, `kubectl`, `apt-get`, `apt-mark`, `systemctl` and `curl` (the metadata service) in a temp dir. Checks its
 * decisions: which kubeadm command, in which order with the packages and the apt source of the target minor, the
 * master lease, the worker drain hand-shake, no retry loop after a failure, and what it refuses.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderMasterUserData, renderWorkerUserData, resolveKubeNode } from '../../src/bootstrap/index.js';
import { renderUpgradeAgent, upgradeMetadata, UPGRADE_AGENT_PATHS, UPGRADE_METADATA_KEY } from '../../src/bootstrap/upgrade.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const node = resolveKubeNode({ clusterName: 'k8s', podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12', kubernetesVersion: '1.36.4' });

/** One stub for every command: records "name args" in calls.log and answers from files in the state dir. */
const STUB = readFileSync(join(import.meta.dirname, '..', 'bootstrap', 'lib', 'upgrade-agent-stub.sh'), 'utf8');

interface Run {
  readonly status: number;
  readonly log: string;
  readonly calls: string[];
  readonly dir: string;
}

interface Setup {
  role: 'master' | 'worker';
  target?: string;
  kubelet: string;
  cluster?: string;
  cpVersions?: string;
  lease?: string;
  annotations?: Record<string, string>;
  versions?: Record<string, string>;
  fail?: string;
  dir?: string;
}

function prepare(s: Setup): string {
  const dir = s.dir ?? mkdtempSync(join(tmpdir(), 'hotk8s-upgrade-agent-'));
  if (s.dir === undefined) dirs.push(dir);
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  mkdirSync(join(dir, 'addons'), { recursive: true });
  for (const name of ['curl', 'kubelet', 'kubeadm', 'kubectl', 'apt-get', 'apt-mark', 'systemctl']) {
    writeFileSync(join(bin, name), STUB);
    chmodSync(join(bin, name), 0o755);
  }
  writeFileSync(join(dir, 'calls.log'), '');
  if (s.target !== undefined)
    writeFileSync(join(dir, 'meta.json'), JSON.stringify({ meta: { 'hotk8s-role': s.role, [UPGRADE_METADATA_KEY]: s.target } }));
  writeFileSync(join(dir, 'kubelet-version'), `${s.kubelet}\n`);
  writeFileSync(join(dir, 'cluster-version'), `${s.cluster ?? s.kubelet}\n`);
  writeFileSync(join(dir, 'cp-versions'), s.cpVersions ?? '');
  if (s.lease !== undefined) writeFileSync(join(dir, 'lease'), `${s.lease}\n`);
  else rmSync(join(dir, 'lease'), { force: true });
  for (const [n, v] of Object.entries(s.annotations ?? {})) writeFileSync(join(dir, `ann-${n}`), `${v}\n`);
  for (const [n, v] of Object.entries(s.versions ?? {})) writeFileSync(join(dir, `ver-${n}`), `${v}\n`);
  if (s.fail !== undefined) writeFileSync(join(dir, 'fail'), s.fail);
  else rmSync(join(dir, 'fail'), { force: true });
  writeFileSync(join(dir, 'addons', '10-flannel.yaml'), 'kind: List\n');
  const script = renderUpgradeAgent(node, s.role).replace(/^HK_UP_ADDONS_DIR=.*$/m, `HK_UP_ADDONS_DIR=${dir}/addons`);
  writeFileSync(join(dir, 'agent.sh'), script);
  return dir;
}

function run(s: Setup): Run {
  const dir = prepare(s);
  const env = {
    PATH: `${join(dir, 'bin')}:/usr/bin:/bin`,
    HK_UP_STATE: join(dir, 'state'),
    HK_UP_APT_SOURCES: join(dir, 'sources.list'),
    HK_UP_APT_KEYRING: join(dir, 'keyring.asc'),
    HK_UP_NODE: s.role === 'master' ? 'k8s-master-2' : 'k8s-default-0',
    HK_UP_WAIT_SEC: '10',
    HK_STUB_STATE: dir,
  };
  const res = spawnSync('bash', [join(dir, 'agent.sh')], { env, encoding: 'utf8', timeout: 30_000 });
  const status = res.status ?? -1;
  const log = res.stderr;
  const calls = readFileSync(join(dir, 'calls.log'), 'utf8').trim().split('\n').filter(Boolean);
  return { status, log, calls, dir };
}

const kubeadmCalls = (r: Run) => r.calls.filter((c) => c.startsWith('kubeadm '));
const installs = (r: Run) =>
  r.calls
    .filter((c) => / install /.test(c))
    .map((c) =>
      c
        .split(' ')
        .filter((w) => w.includes('=1.'))
        .join(' '),
    );
const index = (r: Run, re: RegExp) => r.calls.findIndex((c) => re.test(c));

describe('upgrade agent: rendering', () => {
  it('the servers carry the target version in their metadata; masters and workers install the agent and enable its timer', () => {
    expect(upgradeMetadata('1.37')).toEqual({ [UPGRADE_METADATA_KEY]: '1.37.1' });
    const base = { clusterName: 'k8s', podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' };
    for (const text of [renderMasterUserData({ ...base, apiServerCertSans: [] } as never).text, renderWorkerUserData({ ...base }).text]) {
      for (const p of Object.values(UPGRADE_AGENT_PATHS)) expect(text).toContain(p);
      expect(text).toContain('systemctl enable --now hotk8s-upgrade.timer');
    }
    const agent = renderUpgradeAgent(node, 'worker');
    expect(agent).toContain("HK_UP_APT_REPO='https://pkgs.k8s.io/core:/stable:/v1.36/deb/'");
    expect(agent).toContain("HK_UP_PKG_REVISION='1.1'");
  });
});

describe('upgrade agent: masters', { timeout: 60_000 }, () => {
  it('the first master to move: lease, kubeadm of the target minor, upgrade apply, kubelet/kubectl, restart, add-ons, lease released', () => {
    const r = run({ role: 'master', target: '1.37.1', kubelet: '1.36.4' });
    expect(r.status, r.log).toBe(0);
    expect(readFileSync(join(r.dir, 'sources.list'), 'utf8')).toContain('https://pkgs.k8s.io/core:/stable:/v1.37/deb/ /');
    expect(installs(r)).toEqual(['kubeadm=1.37.1-1.1', 'kubelet=1.37.1-1.1 kubectl=1.37.1-1.1']);
    expect(kubeadmCalls(r)).toEqual(['kubeadm upgrade apply v1.37.1 -y']);
    const order = [
      /create -f -/,
      /install .*kubeadm=/,
      /kubeadm upgrade apply/,
      /install .*kubelet=/,
      /systemctl restart kubelet/,
      /readyz/,
      /apply -f .*flannel/,
      /delete lease/,
    ];
    const at = order.map((re) => index(r, re));
    expect(
      at.every((i) => i >= 0),
      `${at} in\n${r.calls.join('\n')}`,
    ).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    expect(existsSync(join(r.dir, 'lease'))).toBe(false);
  });

  it('a later master (kubeadm-config already at the target): upgrade node, no add-ons', () => {
    const r = run({ role: 'master', target: '1.37.1', kubelet: '1.36.4', cluster: '1.37.1' });
    expect(r.status, r.log).toBe(0);
    expect(kubeadmCalls(r)).toEqual(['kubeadm upgrade node']);
    expect(index(r, /apply -f .*flannel/)).toBe(-1);
  });

  it('another master holds the lease: waits, touches nothing', () => {
    const r = run({ role: 'master', target: '1.37.1', kubelet: '1.36.4', lease: `k8s-master-0|${new Date().toISOString()}` });
    expect(r.status, r.log).toBe(0);
    expect(r.log).toContain('waiting: k8s-master-0 holds the upgrade lease');
    expect([kubeadmCalls(r), installs(r)]).toEqual([[], []]);
    expect(existsSync(join(r.dir, 'lease'))).toBe(true);
  });

  it('a failed upgrade apply: lease released, a Warning Event, a marker; the next run does not retry', () => {
    const r = run({ role: 'master', target: '1.37.1', kubelet: '1.36.4', fail: 'kubeadm upgrade apply' });
    expect(r.status).toBe(1);
    expect(readFileSync(join(r.dir, 'events'), 'utf8')).toMatch(/reason: HotK8sUpgradeFailed[\s\S]*kubeadm upgrade apply v1.37.1 failed/);
    expect(existsSync(join(r.dir, 'lease'))).toBe(false);
    expect(index(r, /install .*kubelet=/)).toBe(-1);
    const again = run({ role: 'master', target: '1.37.1', kubelet: '1.36.4', dir: r.dir });
    expect(again.status).toBe(1);
    expect(again.log).toContain('not retrying v1.37.1');
    expect(again.calls.filter((c) => !c.startsWith('curl ') && !c.startsWith('kubelet '))).toEqual([]);
  });

  it('an up-to-date master drains the one worker that asked, and uncordons it once it runs the target', () => {
    const r = run({
      role: 'master',
      target: '1.37.1',
      kubelet: '1.37.1',
      annotations: { 'k8s-default-1': 'requested-1.37.1', 'k8s-default-2': 'requested-1.37.1' },
    });
    expect(r.status, r.log).toBe(0);
    expect(r.calls.filter((c) => / drain /.test(c))).toEqual([expect.stringMatching(/drain k8s-default-1 --ignore-daemonsets/)]);
    expect(readFileSync(join(r.dir, 'ann-k8s-default-1'), 'utf8').trim()).toBe('drained-1.37.1');
    // still on the old version: nobody else is drained (one worker at a time)
    const busy = run({ role: 'master', target: '1.37.1', kubelet: '1.37.1', versions: { 'k8s-default-1': '1.36.4' }, dir: r.dir });
    expect(busy.calls.filter((c) => / drain | uncordon /.test(c))).toEqual([]);
    const done = run({ role: 'master', target: '1.37.1', kubelet: '1.37.1', versions: { 'k8s-default-1': '1.37.1' }, dir: r.dir });
    expect(done.calls.filter((c) => / drain | uncordon /.test(c))).toEqual([
      expect.stringMatching(/uncordon k8s-default-1$/),
      expect.stringMatching(/drain k8s-default-2 /),
    ]);
    expect(kubeadmCalls(done)).toEqual([]);
  });
});

describe('upgrade agent: workers', { timeout: 60_000 }, () => {
  it('waits while a control-plane node is older than the target (a kubelet is never newer than an apiserver)', () => {
    const r = run({ role: 'worker', target: '1.37.1', kubelet: '1.36.4', cpVersions: 'v1.37.1 v1.36.4 v1.37.1' });
    expect(r.status, r.log).toBe(0);
    expect(r.log).toContain('the control plane is not at v1.37.1 yet');
    expect([kubeadmCalls(r), installs(r), r.calls.filter((c) => /annotate/.test(c))]).toEqual([[], [], []]);
  });

  it('asks to be drained, then, once drained by a master, upgrades: kubeadm, upgrade node, kubelet, restart', () => {
    const cp = 'v1.37.1 v1.37.1 v1.37.1';
    const ask = run({ role: 'worker', target: '1.37.1', kubelet: '1.36.4', cpVersions: cp });
    expect(ask.status, ask.log).toBe(0);
    expect(readFileSync(join(ask.dir, 'ann-k8s-default-0'), 'utf8').trim()).toBe('requested-1.37.1');
    expect([kubeadmCalls(ask), installs(ask)]).toEqual([[], []]);
    const r = run({
      role: 'worker',
      target: '1.37.1',
      kubelet: '1.36.4',
      cpVersions: cp,
      annotations: { 'k8s-default-0': 'drained-1.37.1' },
    });
    expect(r.status, r.log).toBe(0);
    expect(installs(r)).toEqual(['kubeadm=1.37.1-1.1', 'kubelet=1.37.1-1.1']);
    expect(kubeadmCalls(r)).toEqual(['kubeadm upgrade node']);
    const at = [/install .*kubeadm=/, /kubeadm upgrade node/, /install .*kubelet=/, /systemctl restart kubelet/].map((re) => index(r, re));
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    expect(at[0]).toBeGreaterThanOrEqual(0);
    expect(readFileSync(join(r.dir, 'kubelet-version'), 'utf8').trim()).toBe('1.37.1');
  });
});

describe('upgrade agent: what it refuses', { timeout: 60_000 }, () => {
  for (const [what, target, kubelet, message] of [
    ['two minors at once', '1.37.1', '1.35.9', 'one minor at a time'],
    ['a downgrade', '1.35.9', '1.36.4', 'refusing a downgrade'],
    ['no version in the metadata', undefined, '1.36.4', 'no valid hotk8s-kubernetes-version'],
    ['a malformed version', '1.37; rm -rf /', '1.36.4', 'no valid hotk8s-kubernetes-version'],
  ] as const) {
    it(`${what}: logs, changes nothing`, () => {
      const r = run({ role: 'master', target, kubelet });
      expect(r.status, r.log).toBe(0);
      expect(r.log).toContain(message);
      expect(r.calls.filter((c) => !c.startsWith('curl ') && !c.startsWith('kubelet '))).toEqual([]);
    });
  }

  it('the same version: nothing but reading it', () => {
    const r = run({ role: 'worker', target: '1.36.4', kubelet: '1.36.4' });
    expect(r.status, r.log).toBe(0);
    expect(r.calls.map((c) => c.split(' ')[0])).toEqual(['curl', 'kubelet']);
  });
});
