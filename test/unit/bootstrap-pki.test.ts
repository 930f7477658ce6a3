import { X509Certificate, createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_GROUP, PkiError, discoveryHashOf, loadOrCreateClusterPki, reissueClientCertificate } from '../../src/bootstrap/pki.js';

const DAY = 86_400_000;

const dirs: string[] = [];
function stateDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'hk8s-pki-test-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('loadOrCreateClusterPki', () => {
  it('creates everything once, 0700/0600, and reuses it byte for byte', async () => {
    const s = stateDir();
    const a = await loadOrCreateClusterPki(s, 'demo');
    expect(a.created).toEqual(['clusterCa', 'etcdCa', 'frontProxyCa', 'apiserverEtcdClient', 'admin', 'serviceAccount', 'encryptionKey']);
    expect(statSync(a.dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(a.dir, 'etcd')).mode & 0o777).toBe(0o700);
    for (const f of ['ca.key', 'ca.crt', 'etcd/ca.key', 'sa.key', 'sa.pub', 'admin.key', 'encryption-key']) {
      expect({ f, mode: statSync(join(a.dir, f)).mode & 0o777 }).toEqual({ f, mode: 0o600 });
    }
    const b = await loadOrCreateClusterPki(s, 'demo');
    expect(b.created).toEqual([]);
    expect(b).toEqual({ ...a, created: [] });
  });

  it('issues certificates consumers accept', async () => {
    const p = await loadOrCreateClusterPki(stateDir(), 'demo');
    const ca = new X509Certificate(p.clusterCa.certPem);
    const etcdCa = new X509Certificate(p.etcdCa.certPem);
    expect(ca.ca).toBe(true);
    expect(ca.subject).toBe('CN=kubernetes');
    expect(new X509Certificate(p.frontProxyCa.certPem).subject).toBe('CN=front-proxy-ca');
    expect(ca.publicKey.asymmetricKeyDetails).toEqual({ namedCurve: 'prime256v1' });
    const admin = new X509Certificate(p.admin.certPem);
    expect(admin.verify(ca.publicKey)).toBe(true);
    expect(admin.subject).toContain(`O=${ADMIN_GROUP}`);
    expect(admin.ca).toBe(false);
    expect(admin.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    const client = new X509Certificate(p.apiserverEtcdClient.certPem);
    expect(client.verify(etcdCa.publicKey)).toBe(true);
    expect(client.verify(ca.publicKey)).toBe(false);
    expect(Buffer.from(p.encryptionKey, 'base64')).toHaveLength(32);
    expect(p.serviceAccount.privateKeyPem).toContain('BEGIN PRIVATE KEY');
    expect(p.serviceAccount.publicKeyPem).toContain('BEGIN PUBLIC KEY');
  });

  it("derives kubeadm's discovery hash from the CA's SubjectPublicKeyInfo", async () => {
    const p = await loadOrCreateClusterPki(stateDir(), 'demo');
    const spki = new X509Certificate(p.clusterCa.certPem).publicKey.export({ type: 'spki', format: 'der' });
    expect(p.discoveryHash).toBe(`sha256:${createHash('sha256').update(spki).digest('hex')}`);
    expect(discoveryHashOf(p.clusterCa.certPem)).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('fails when a CA certificate does not match its key', async () => {
    const s = stateDir();
    const a = await loadOrCreateClusterPki(s, 'demo');
    writeFileSync(join(a.dir, 'ca.key'), readFileSync(join(a.dir, 'front-proxy-ca.key')));
    await expect(loadOrCreateClusterPki(s, 'demo')).rejects.toThrow(/ca\.crt does not match .*ca\.key/);
  });

  it('fails when a client certificate was not signed by its CA', async () => {
    const s = stateDir();
    const a = await loadOrCreateClusterPki(s, 'demo');
    for (const f of ['crt', 'key'])
      writeFileSync(join(a.dir, `apiserver-etcd-client.${f}`), readFileSync(join(a.dir, `admin.${f}`)), { mode: 0o600 });
    await expect(loadOrCreateClusterPki(s, 'demo')).rejects.toThrow(/apiserver-etcd-client\.crt was not signed by .*etcd\/ca\.crt/);
  });

  it('fails when only half of a pair exists, and when a file is readable by others', async () => {
    const s = stateDir();
    const a = await loadOrCreateClusterPki(s, 'demo');
    chmodSync(join(a.dir, 'sa.key'), 0o644);
    await expect(loadOrCreateClusterPki(s, 'demo')).rejects.toThrow(/sa\.key has mode 0644/);
    chmodSync(join(a.dir, 'sa.key'), 0o600);
    unlinkSync(join(a.dir, 'etcd/ca.key'));
    await expect(loadOrCreateClusterPki(s, 'demo')).rejects.toThrow(PkiError);
    await expect(loadOrCreateClusterPki(s, 'demo')).rejects.toThrow(/etcd\/ca\.crt exists but .*etcd\/ca\.key does not/);
  });

  it('fails when the encryption key is not 32 bytes, and on a bad cluster name', async () => {
    const s = stateDir();
    const a = await loadOrCreateClusterPki(s, 'demo');
    writeFileSync(join(a.dir, 'encryption-key'), Buffer.alloc(16).toString('base64'), { mode: 0o600 });
    await expect(loadOrCreateClusterPki(s, 'demo')).rejects.toThrow(/32 bytes .* got 16 bytes/);
    await expect(loadOrCreateClusterPki(s, 'Demo_1')).rejects.toThrow(/DNS label.*"Demo_1"/);
  });

  it('gives the client certificates the lifetime of their CA (kubeadm cannot renew them with an external etcd)', async () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const p = await loadOrCreateClusterPki(stateDir(), 'demo', { now });
    expect(p.apiserverEtcdClient.notAfter).toEqual(p.etcdCa.notAfter);
    expect(p.admin.notAfter).toEqual(p.clusterCa.notAfter);
    expect(p.warnings).toEqual([]);
  });

  it('re-issues a client certificate with less than 60 days left, same key, and says how to deliver it', async () => {
    const s = stateDir();
    const now = new Date('2026-01-01T00:00:00Z');
    const old = await loadOrCreateClusterPki(s, 'demo', { now, clientValidityDays: 365 });
    // day 300: 65 days left, nothing to do
    const day300 = await loadOrCreateClusterPki(s, 'demo', { now: new Date(now.getTime() + 300 * DAY) });
    expect(day300.warnings).toEqual([]);
    expect(day300.apiserverEtcdClient.certPem).toBe(old.apiserverEtcdClient.certPem);
    // day 310: 55 days left, renewed until the CA's expiry, same key
    const day310 = await loadOrCreateClusterPki(s, 'demo', { now: new Date(now.getTime() + 310 * DAY) });
    expect(day310.created).toEqual(['apiserverEtcdClient:renewed', 'admin:renewed']);
    expect(day310.warnings[0]).toMatch(
      /apiserver-etcd-client\.crt would have expired in 55 days .* renewed with the same key until 2035-.*openstack stack update --existing/,
    );
    expect(day310.warnings[1]).toMatch(/admin\.crt would have expired in 55 days .* admin kubeconfig/);
    expect(day310.apiserverEtcdClient.keyPem).toBe(old.apiserverEtcdClient.keyPem);
    expect(day310.apiserverEtcdClient.certPem).not.toBe(old.apiserverEtcdClient.certPem);
    expect(day310.apiserverEtcdClient.notAfter).toEqual(old.etcdCa.notAfter);
    const cert = new X509Certificate(day310.apiserverEtcdClient.certPem);
    expect(cert.verify(new X509Certificate(old.etcdCa.certPem).publicKey)).toBe(true);
    expect(cert.subject).toBe('CN=kube-apiserver-etcd-client');
    // read back from disk: valid, no warning
    const again = await loadOrCreateClusterPki(s, 'demo', { now: new Date(now.getTime() + 311 * DAY) });
    expect(again.warnings).toEqual([]);
    expect(again.apiserverEtcdClient.certPem).toBe(day310.apiserverEtcdClient.certPem);
  });

  it('warns a year before a CA expires, and once it has expired', async () => {
    const s = stateDir();
    const now = new Date('2026-01-01T00:00:00Z');
    await loadOrCreateClusterPki(s, 'demo', { now, caValidityDays: 800 });
    expect((await loadOrCreateClusterPki(s, 'demo', { now: new Date(now.getTime() + 400 * DAY) })).warnings).toEqual([]);
    const late = await loadOrCreateClusterPki(s, 'demo', { now: new Date(now.getTime() + 500 * DAY) });
    const caWarnings = late.warnings.filter((w) => /ca\.crt/.test(w));
    expect(caWarnings).toHaveLength(3);
    expect(caWarnings[0]).toMatch(/\/ca\.crt expires in 300 days .*plan a CA rotation/);
    const dead = await loadOrCreateClusterPki(s, 'demo', { now: new Date(now.getTime() + 900 * DAY) });
    expect(dead.warnings.some((w) => /etcd\/ca\.crt expired/.test(w))).toBe(true);
  });

  it('reissueClientCertificate re-signs the existing key (legacy lifetimes, tests of the delivery path)', async () => {
    const s = stateDir();
    const p = await loadOrCreateClusterPki(s, 'demo');
    const legacy = await reissueClientCertificate(s, 'demo', 'apiserverEtcdClient', {
      now: new Date(Date.now() - 330 * DAY),
      validityDays: 365,
    });
    expect(legacy.keyPem).toBe(p.apiserverEtcdClient.keyPem);
    expect(Math.round((legacy.notAfter.getTime() - Date.now()) / DAY)).toBe(35);
    expect(readFileSync(join(p.dir, 'apiserver-etcd-client.crt'), 'utf8')).toBe(legacy.certPem);
    const admin = await reissueClientCertificate(s, 'demo', 'admin');
    expect(new X509Certificate(admin.certPem).subject).toBe(`CN=demo-admin\nO=${ADMIN_GROUP}`);
  });
});

describe('the record of the last full validation (validated.json)', () => {
  const RECORD = 'validated.json';
  /** A load with no record: every certificate and key parsed and checked again. */
  async function fullLoad(s: string, now?: Date) {
    const dir = join(s, 'demo', 'pki');
    rmSync(join(dir, RECORD), { force: true });
    return loadOrCreateClusterPki(s, 'demo', now ? { now } : {});
  }

  it('is written 0600 by a full load, and a load from it gives what a full load gives', async () => {
    const s = stateDir();
    const made = await loadOrCreateClusterPki(s, 'demo');
    expect(statSync(join(made.dir, RECORD)).mode & 0o777).toBe(0o600);
    const fromRecord = await loadOrCreateClusterPki(s, 'demo');
    const full = await fullLoad(s);
    expect(fromRecord).toEqual(full);
    expect(fromRecord).toEqual({ ...made, created: [] });
  });

  it('is what a load uses while every file keeps its bytes, and only then', async () => {
    const s = stateDir();
    const p = await loadOrCreateClusterPki(s, 'demo');
    // a record with a marked discovery hash and a check that fits it, as this code writes one: the load takes the
    // hash from the record, so the record (not a parse) is what answered
    const record = JSON.parse(readFileSync(join(p.dir, RECORD), 'utf8'));
    const marked = { ...record, discoveryHash: 'sha256:marked' };
    marked.check = createHash('sha256')
      .update(JSON.stringify([marked.rules, marked.files, marked.caCertPem, marked.notAfter, marked.discoveryHash]))
      .digest('hex');
    writeFileSync(join(p.dir, RECORD), JSON.stringify(marked), { mode: 0o600 });
    expect((await loadOrCreateClusterPki(s, 'demo')).discoveryHash).toBe('sha256:marked');
    // one byte of one file changed: a full load, which finds the damage
    const key = readFileSync(join(p.dir, 'sa.pub'), 'utf8');
    writeFileSync(join(p.dir, 'sa.pub'), key.replace('-----END PUBLIC KEY-----', '-----END PUBLIC KEY-----\n'), { mode: 0o600 });
    const reloaded = await loadOrCreateClusterPki(s, 'demo');
    expect(reloaded.discoveryHash).toBe(p.discoveryHash);
    // a key swapped for another valid key is refused as before, record or not
    writeFileSync(join(p.dir, 'ca.key'), readFileSync(join(p.dir, 'front-proxy-ca.key')), { mode: 0o600 });
    await expect(loadOrCreateClusterPki(s, 'demo')).rejects.toThrow(/ca\.crt does not match .*ca\.key/);
  });

  it('is not used when it was changed by anything else, or is readable by others', async () => {
    const s = stateDir();
    const p = await loadOrCreateClusterPki(s, 'demo');
    const record = JSON.parse(readFileSync(join(p.dir, RECORD), 'utf8'));
    writeFileSync(join(p.dir, RECORD), JSON.stringify({ ...record, discoveryHash: 'sha256:edited' }), { mode: 0o600 });
    expect((await loadOrCreateClusterPki(s, 'demo')).discoveryHash).toBe(p.discoveryHash);
    // the full load wrote a good record again; opened to others, it is ignored
    const marked = { ...record, discoveryHash: 'sha256:marked' };
    marked.check = createHash('sha256')
      .update(JSON.stringify([marked.rules, marked.files, marked.caCertPem, marked.notAfter, marked.discoveryHash]))
      .digest('hex');
    writeFileSync(join(p.dir, RECORD), JSON.stringify(marked), { mode: 0o600 });
    chmodSync(join(p.dir, RECORD), 0o644);
    expect((await loadOrCreateClusterPki(s, 'demo')).discoveryHash).toBe(p.discoveryHash);
    // and the file checks still run on the record's path: a key readable by others is refused
    await loadOrCreateClusterPki(s, 'demo');
    chmodSync(join(p.dir, 'admin.key'), 0o640);
    await expect(loadOrCreateClusterPki(s, 'demo')).rejects.toThrow(/admin\.key has mode 0640/);
  });

  it('still warns of CA expiry and still renews client certificates, as a full load does', async () => {
    const s = stateDir();
    const now = new Date('2026-01-01T00:00:00Z');
    await loadOrCreateClusterPki(s, 'demo', { now, caValidityDays: 800, clientValidityDays: 365 });
    const day200 = new Date(now.getTime() + 200 * DAY);
    expect((await loadOrCreateClusterPki(s, 'demo', { now: day200 })).warnings).toEqual([]);
    // day 500: the CAs expire within a year (warned from the record) ...
    const day500 = new Date(now.getTime() + 500 * DAY);
    await reissueClientCertificate(s, 'demo', 'apiserverEtcdClient', { now: day500, validityDays: 200 });
    await reissueClientCertificate(s, 'demo', 'admin', { now: day500, validityDays: 200 });
    await loadOrCreateClusterPki(s, 'demo', { now: day500 }); // a full load (files changed) writes the record
    const fromRecord = await loadOrCreateClusterPki(s, 'demo', { now: day500 });
    expect(fromRecord.warnings.filter((w) => /ca\.crt expires in 300 days/.test(w))).toHaveLength(3);
    expect(fromRecord).toEqual(await fullLoad(s, day500));
    // ... day 660: the client certificates have 40 days left: renewed, as a full load renews them
    const day660 = new Date(now.getTime() + 660 * DAY);
    const renewed = await loadOrCreateClusterPki(s, 'demo', { now: day660 });
    expect(renewed.created).toEqual(['apiserverEtcdClient:renewed', 'admin:renewed']);
  });
});
