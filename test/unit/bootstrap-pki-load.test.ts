// Loading existing PKI with node:crypto only: a re-synth never loads @peculiar/x509 (or its reflect-metadata
// polyfill), the checks of bootstrap-pki.test.ts hold for material made elsewhere, and certificates issued from a
// CA read back from disk chain to it.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { execFileSync } from 'node:child_process';
import { X509Certificate, webcrypto } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { loadOrCreateClusterPki } from '../../src/bootstrap/pki.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dirs: string[] = [];
function stateDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'hk8s-pki-load-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Runs loadOrCreateClusterPki in a fresh Node process (through tsx) and reports what it loaded. */
function inFreshProcess(state: string): { created: string[]; x509Requested: boolean; reflectMetadata: string } {
  const tsx = createRequire(join(root, 'package.json')).resolve('tsx');
  const url = (p: string): string => pathToFileURL(join(root, p)).href;
  const program = `
    const { loadOrCreateClusterPki } = await import(${JSON.stringify(url('src/bootstrap/index.ts'))});
    const { x509Requested } = await import(${JSON.stringify(url('src/bootstrap/private/x509.ts'))});
    const p = await loadOrCreateClusterPki(${JSON.stringify(state)}, 'demo');
    console.log(JSON.stringify({ created: p.created, x509Requested: x509Requested(), reflectMetadata: typeof Reflect.getMetadata }));
  `;
  const out = execFileSync(process.execPath, ['--import', pathToFileURL(tsx).href, '--input-type=module', '-e', program], {
    encoding: 'utf8',
    cwd: root,
  });
  return JSON.parse(out.trim().split('\n').pop() as string);
}

const EC256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const EC384 = { name: 'ECDSA', namedCurve: 'P-384' } as const;

async function pkcs8Pem(key: webcrypto.CryptoKey): Promise<string> {
  return `${x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY')}\n`;
}

/** A certificate made outside hotk8s (as an operator might bring one), written over `<pki>/ca.{crt,key}`. */
async function replaceClusterCa(
  pkiDir: string,
  opts: { curve?: typeof EC256 | typeof EC384; ca?: boolean; issuer?: { keys: webcrypto.CryptoKeyPair; name: string } } = {},
): Promise<void> {
  const keys = (await webcrypto.subtle.generateKey(opts.curve ?? EC256, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const hash = opts.curve === EC384 ? 'SHA-384' : 'SHA-256';
  const common = {
    serialNumber: '0badc0de',
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    extensions: [new x509.BasicConstraintsExtension(opts.ca ?? true, undefined, true)],
  };
  const cert = opts.issuer
    ? await x509.X509CertificateGenerator.create({
        ...common,
        subject: 'CN=kubernetes',
        issuer: opts.issuer.name,
        publicKey: keys.publicKey,
        signingKey: opts.issuer.keys.privateKey,
        signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      })
    : await x509.X509CertificateGenerator.createSelfSigned({
        ...common,
        name: 'CN=kubernetes',
        keys,
        signingAlgorithm: { name: 'ECDSA', hash },
      });
  writeFileSync(join(pkiDir, 'ca.crt'), `${cert.toString('pem')}\n`, { mode: 0o600 });
  writeFileSync(join(pkiDir, 'ca.key'), await pkcs8Pem(keys.privateKey), { mode: 0o600 });
}

describe('re-synth', () => {
  it('loads and checks existing material without loading @peculiar/x509 or reflect-metadata', async () => {
    const s = stateDir();
    await loadOrCreateClusterPki(s, 'demo');
    const again = inFreshProcess(s);
    expect(again).toEqual({ created: [], x509Requested: false, reflectMetadata: 'undefined' });
  }, 60_000);

  it('a first synth loads the library to issue certificates (so the check above can fail)', () => {
    const first = inFreshProcess(stateDir());
    expect(first.created).toContain('clusterCa');
    expect(first.x509Requested).toBe(true);
    expect(first.reflectMetadata).toBe('function');
  }, 60_000);
});

describe('material on disk', () => {
  it('reads notAfter to the second, also past 2049 (GeneralizedTime)', async () => {
    const s = stateDir();
    const now = new Date('2045-03-04T05:06:07.890Z');
    const made = await loadOrCreateClusterPki(s, 'demo', { now, clientValidityDays: 100 });
    const again = await loadOrCreateClusterPki(s, 'demo', { now });
    expect(again.admin.notAfter.toISOString()).toBe('2045-06-12T05:06:07.000Z');
    expect(again.clusterCa.notAfter.getTime()).toBe(Math.floor((now.getTime() + 3650 * 86_400_000) / 1000) * 1000);
    expect(again.clusterCa.notAfter.getUTCFullYear()).toBe(2055);
    expect(again.clusterCa.notAfter).toEqual(made.clusterCa.notAfter);
    expect(again.clusterCa.notAfter).toEqual(new Date(new X509Certificate(again.clusterCa.certPem).validTo));
  });

  it('gives a CA certificate in canonical PEM whatever its file wraps it in', async () => {
    const s = stateDir();
    const a = await loadOrCreateClusterPki(s, 'demo');
    const crt = join(a.dir, 'ca.crt');
    writeFileSync(crt, `Subject: CN=kubernetes\r\n${readFileSync(crt, 'utf8').replace(/\n/g, '\r\n')}`, { mode: 0o600 });
    const b = await loadOrCreateClusterPki(s, 'demo');
    expect(b.clusterCa.certPem).toBe(a.clusterCa.certPem);
    expect(b.discoveryHash).toBe(a.discoveryHash);
  });

  it('issues a missing client certificate from a CA read back from disk, chained to it', async () => {
    const s = stateDir();
    const a = await loadOrCreateClusterPki(s, 'demo');
    unlinkSync(join(a.dir, 'admin.crt'));
    unlinkSync(join(a.dir, 'admin.key'));
    const b = await loadOrCreateClusterPki(s, 'demo');
    expect(b.created).toEqual(['admin']);
    expect(b.admin.certPem).not.toBe(a.admin.certPem);
    const ca = new X509Certificate(b.clusterCa.certPem);
    const admin = new X509Certificate(b.admin.certPem);
    expect(admin.verify(ca.publicKey)).toBe(true);
    expect(admin.checkIssued(ca)).toBe(true); // issuer name and authority key id match the CA
    expect(admin.subject).toBe('CN=demo-admin\nO=kubeadm:cluster-admins');
    expect(b.admin.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+\n-----END PRIVATE KEY-----\n$/);
    expect(await loadOrCreateClusterPki(s, 'demo')).toEqual({ ...b, created: [] });
  });

  it('fails when a CA is not a CA, not self-signed, or not on P-256', async () => {
    const s = stateDir();
    const { dir } = await loadOrCreateClusterPki(s, 'demo');
    await replaceClusterCa(dir, { ca: false });
    await expect(loadOrCreateClusterPki(s, 'demo')).rejects.toThrow(/ca\.crt is not a CA certificate \(basicConstraints CA:TRUE missing\)/);
    const other = (await webcrypto.subtle.generateKey(EC256, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    await replaceClusterCa(dir, { issuer: { keys: other, name: 'CN=someone-else' } });
    await expect(loadOrCreateClusterPki(s, 'demo')).rejects.toThrow(/ca\.crt is not self-signed; a cluster CA must be a root/);
    await replaceClusterCa(dir, { curve: EC384 });
    await expect(loadOrCreateClusterPki(s, 'demo')).rejects.toThrow(/ca\.key must be an ECDSA P-256 key: got EC on curve secp384r1/);
  });

  it('fails naming the file when a certificate or key is not PEM', async () => {
    const s = stateDir();
    const { dir } = await loadOrCreateClusterPki(s, 'demo');
    const crt = readFileSync(join(dir, 'front-proxy-ca.crt'));
    writeFileSync(join(dir, 'front-proxy-ca.crt'), 'not a certificate\n', { mode: 0o600 });
    await expect(loadOrCreateClusterPki(s, 'demo')).rejects.toThrow(/front-proxy-ca\.crt is not a PEM certificate: /);
    writeFileSync(join(dir, 'front-proxy-ca.crt'), crt, { mode: 0o600 });
    writeFileSync(join(dir, 'front-proxy-ca.key'), 'garbage\n', { mode: 0o600 });
    await expect(loadOrCreateClusterPki(s, 'demo')).rejects.toThrow(/front-proxy-ca\.key is not a PEM private key: /);
  });
});
