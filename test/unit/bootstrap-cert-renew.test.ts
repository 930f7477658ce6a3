/**
 * hotk8s-cert-renew (src/bootstrap/cert-renew.ts): rendered, shellcheck-clean, installed on masters with a timer
 * staggered by master index, and its decisions run with real bash and real openssl against stub kubeadm, crictl,
 * curl (health) and systemctl: kubeadm's renewal below the threshold then the control plane restarted one component
 * at a time; a renewed etcd client certificate taken from the Nova metadata only when it is newer, matches the
 * installed key and chains to the etcd CA.
 */
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CERT_RENEW_SCRIPT_PATH,
  certRenewHour,
  ETCD_CLIENT_CERT_META_PARTS,
  etcdClientCertMetadataKey,
  renderCertRenewScript,
} from '../../src/bootstrap/cert-renew.js';
import { renderMasterKubeadmConfigs, renderMasterUserData, resolveMaster } from '../../src/bootstrap/master.js';
import { certMetadataParts } from '../../src/k8s/private/secrets.js';

const work = mkdtempSync(join(tmpdir(), 'hotk8s-cert-renew-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const base = { clusterName: 'demo', kubernetesVersion: '1.36.1', podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' } as const;

function sh(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: opts.cwd, env: opts.env ?? process.env });
  if (r.error) throw r.error;
  return r;
}

function openssl(dir: string, ...args: string[]): void {
  const r = sh('openssl', args, { cwd: dir });
  expect(r.status, `openssl ${args.join(' ')}: ${r.stderr}`).toBe(0);
}

/** A master's /etc/kubernetes/pki in miniature: etcd CA, apiserver.crt valid `apiserverDays`, etcd client cert. */
function fakeMaster(name: string, apiserverDays: number, etcdClientDays: number) {
  const dir = join(work, name);
  const pki = join(dir, 'pki');
  mkdirSync(join(pki, 'etcd'), { recursive: true });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(pki, 'req', '-x509', ...ec, '-keyout', 'etcd/ca.key', '-out', 'etcd/ca.crt', '-subj', '/CN=etcd-ca', '-days', '3650');
  openssl(
    pki,
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'apiserver.key',
    '-out',
    'apiserver.crt',
    '-subj',
    '/CN=kube-apiserver',
    '-days',
    String(apiserverDays),
  );
  openssl(
    pki,
    'req',
    '-new',
    ...ec,
    '-keyout',
    'apiserver-etcd-client.key',
    '-out',
    'client.csr',
    '-subj',
    '/CN=kube-apiserver-etcd-client',
  );
  const sign = (days: number, out: string, ca = 'etcd/ca') =>
    openssl(
      pki,
      'x509',
      '-req',
      '-in',
      'client.csr',
      '-CA',
      `${ca}.crt`,
      '-CAkey',
      `${ca}.key`,
      '-set_serial',
      `0x${Date.now().toString(16)}${days}`,
      '-days',
      String(days),
      '-out',
      out,
    );
  sign(etcdClientDays, 'apiserver-etcd-client.crt');
  // stubs: every call logged in order; crictl's container ids change once stopped; health always answers
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const log = join(dir, 'calls.log');
  const stub = (tool: string, body: string) => {
    writeFileSync(join(bin, tool), `#!/bin/bash\n${body}\n`);
    chmodSync(join(bin, tool), 0o755);
  };
  stub('kubeadm', `echo "kubeadm $*" >>${log}`);
  stub('systemctl', `echo "systemctl $*" >>${log}`);
  stub(
    'crictl',
    `st=${dir}/crictl-state; mkdir -p "$st"
case $1 in
  ps) c=\${3#^}; c=\${c%\\$}; echo "$c-$(cat "$st/$c" 2>/dev/null || echo 0)" ;;
  stop) id=\${4}; c=\${id%-*}; n=\${id##*-}; echo $((n + 1)) >"$st/$c"; echo "crictl stop $id" >>${log} ;;
esac`,
  );
  stub('curl', `case "$*" in *file://*) exec /usr/bin/curl "$@" ;; *) echo "health \${@: -1}" >>${log} ;; esac`);
  const meta = join(dir, 'meta_data.json');
  const run = (...args: string[]) => {
    const r = sh('bash', [join(work, 'hotk8s-cert-renew'), ...args], {
      env: {
        ...process.env,
        PATH: `${bin}:${process.env.PATH}`,
        HK_PKI: pki,
        HK_METADATA_URL: `file://${meta}`,
        HK_SYSTEMD_DIR: dir,
        HK_READY_SEC: '20',
      },
    });
    let calls = '';
    try {
      calls = readFileSync(log, 'utf8');
      rmSync(log);
    } catch {
      /* no calls */
    }
    return { status: r.status, stderr: r.stderr, calls: calls.trim().split('\n').filter(Boolean) };
  };
  const setMetadata = (certFile: string | undefined) => {
    const m: Record<string, string> = { 'hotk8s-role': 'master' };
    if (certFile) {
      certMetadataParts(readFileSync(join(pki, certFile), 'utf8')).forEach((p, i) => (m[etcdClientCertMetadataKey(i)] = p));
    }
    writeFileSync(meta, JSON.stringify({ uuid: 'x', meta: m }));
  };
  setMetadata(undefined);
  return { dir, pki, run, sign, setMetadata, openssl: (...a: string[]) => openssl(pki, ...a) };
}

writeFileSync(join(work, 'hotk8s-cert-renew'), renderCertRenewScript());

describe('hotk8s-cert-renew', () => {
  it('renders shellcheck-clean, and every master carries it and installs its timer before waiting for Ready', () => {
    const script = renderCertRenewScript();
    expect(script).toMatch(/^DEFAULT_THRESHOLD_DAYS=90$/m);
    const r = sh('shellcheck', ['-s', 'bash', join(work, 'hotk8s-cert-renew')]);
    expect(r.status, r.stdout).toBe(0);
    const ud = renderMasterUserData(base).text;
    expect(ud).toContain(`path: "${CERT_RENEW_SCRIPT_PATH}"`);
    expect(ud).toMatch(
      /\nphase cert-renew-timer\n(?:.*\n)?'\/usr\/local\/sbin\/hotk8s-cert-renew' install "\$HK_NODE_INDEX" .*\nwait_node_ready\n(?:.*\n){0,3}finish\n/,
    );
    expect(() => renderCertRenewScript({ thresholdDays: 0 })).toThrow(/thresholdDays/);
  });

  it('turns on kubelet client certificate rotation in the KubeletConfiguration', () => {
    expect(renderMasterKubeadmConfigs(resolveMaster(base)).init).toMatch(/kind: KubeletConfiguration[\s\S]*^rotateCertificates: true$/m);
  });

  it('staggers the daily run by master index: (1 + 4N) % 24 at minute 17', () => {
    expect([0, 1, 2, 3, 4, 5, 6].map(certRenewHour)).toEqual([1, 5, 9, 13, 17, 21, 1]);
    const m = fakeMaster('install', 200, 3650);
    for (const index of [0, 2, 5]) {
      const r = m.run('install', String(index));
      expect(r.status, r.stderr).toBe(0);
      expect(r.calls).toEqual(['systemctl daemon-reload', 'systemctl enable --now hotk8s-cert-renew.timer']);
      const timer = readFileSync(join(m.dir, 'hotk8s-cert-renew.timer'), 'utf8');
      expect(timer).toContain(`OnCalendar=*-*-* ${String(certRenewHour(index)).padStart(2, '0')}:17:00`);
    }
    expect(readFileSync(join(m.dir, 'hotk8s-cert-renew.service'), 'utf8')).toContain(`ExecStart=${CERT_RENEW_SCRIPT_PATH} run`);
    expect(m.run('install', 'x').status).toBe(1);
  });

  it('runs kubeadm certs renew all below 90 days, then restarts the control plane one component at a time', () => {
    const m = fakeMaster('due', 30, 3650);
    const r = m.run('run');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/apiserver\.crt: (29|30) days left \(renewal below 90\): kubeadm certs renew all/);
    expect(r.calls[0]).toBe('kubeadm certs renew all');
    const stops = r.calls.filter((c) => c.startsWith('crictl stop'));
    expect(stops).toEqual(['crictl stop kube-apiserver-0', 'crictl stop kube-controller-manager-0', 'crictl stop kube-scheduler-0']);
    // each component healthy before the next is stopped
    const at = (s: string) => r.calls.indexOf(s);
    expect(at('health https://127.0.0.1:6443/readyz')).toBeLessThan(at('crictl stop kube-controller-manager-0'));
    expect(at('health https://127.0.0.1:10257/healthz')).toBeLessThan(at('crictl stop kube-scheduler-0'));
    expect(at('health https://127.0.0.1:10259/healthz')).toBe(r.calls.length - 1);
  });

  it('leaves everything alone with 90 days or more left', () => {
    const m = fakeMaster('not-due', 120, 3650);
    const r = m.run('run');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/apiserver\.crt: (119|120) days left, nothing to renew/);
    expect(r.calls).toEqual([]);
  });

  it('installs a renewed etcd client certificate from the metadata (same key, etcd CA, later expiry) and restarts only kube-apiserver', () => {
    const m = fakeMaster('etcd-client', 200, 30);
    const old = readFileSync(join(m.pki, 'apiserver-etcd-client.crt'), 'utf8');
    // the metadata still holds the installed certificate: nothing to do
    m.setMetadata('apiserver-etcd-client.crt');
    let r = m.run('run');
    expect(r.stderr).toMatch(/the metadata's is the installed one/);
    expect(r.calls).toEqual([]);
    // signed by another CA: ignored
    mkdirSync(join(m.pki, 'other'));
    m.openssl(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'other/ca.key',
      '-out',
      'other/ca.crt',
      '-subj',
      '/CN=etcd-ca',
      '-days',
      '3650',
    );
    m.sign(3650, 'foreign.crt', 'other/ca');
    m.setMetadata('foreign.crt');
    r = m.run('run');
    expect(r.stderr).toMatch(/not signed by the etcd CA/);
    expect(r.calls).toEqual([]);
    // another key: ignored
    m.openssl(
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'other.key',
      '-out',
      'other.csr',
      '-subj',
      '/CN=x',
    );
    m.openssl(
      'x509',
      '-req',
      '-in',
      'other.csr',
      '-CA',
      'etcd/ca.crt',
      '-CAkey',
      'etcd/ca.key',
      '-set_serial',
      '7',
      '-days',
      '3650',
      '-out',
      'other-key.crt',
    );
    m.setMetadata('other-key.crt');
    r = m.run('run');
    expect(r.stderr).toMatch(/does not match/);
    expect(readFileSync(join(m.pki, 'apiserver-etcd-client.crt'), 'utf8')).toBe(old);
    // an older one (shorter than installed): ignored
    m.sign(10, 'older.crt');
    m.setMetadata('older.crt');
    expect(m.run('run').stderr).toMatch(/expires no later than the installed one/);
    // the renewed one: installed, kube-apiserver restarted and healthy, nothing else
    m.sign(3650, 'renewed.crt');
    m.setMetadata('renewed.crt');
    r = m.run('run');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/installed a renewed etcd client certificate \(\d{4} days left\)/);
    expect(r.calls).toEqual(['crictl stop kube-apiserver-0', 'health https://127.0.0.1:6443/readyz']);
    const installed = new X509Certificate(readFileSync(join(m.pki, 'apiserver-etcd-client.crt')));
    expect(installed.fingerprint256).toBe(new X509Certificate(readFileSync(join(m.pki, 'renewed.crt'))).fingerprint256);
    // the metadata parts fit Nova (at most 255 characters each)
    const parts = certMetadataParts(readFileSync(join(m.pki, 'renewed.crt'), 'utf8'));
    expect(parts).toHaveLength(ETCD_CLIENT_CERT_META_PARTS);
    for (const p of parts) expect(p.length > 0 && p.length <= 255, p).toBe(true);
  });
});
