/**
 * Synth-time PKI for a cluster: the CAs, the service-account key pair, the encryption-at-rest key and
 * the client certificates that carry no address. Kept in the state directory and reused on every
 * re-synth; never rotated by accident.
 *
 * Libraries: node:crypto loads and checks what is on disk (X509Certificate: key match, CA flag,
 * signatures, validity), so a re-synth loads nothing else. Only creating a certificate needs
 * @peculiar/x509 (node:crypto can make keys but cannot issue X.509 certificates), loaded on first
 * use with `import()`: it is maintained, pure TypeScript over WebCrypto (no native code, no openssl
 * subprocess) and issues ECDSA P-256 certificates in milliseconds, but it and its reflect-metadata
 * polyfill cost ~150 ms to load.
 *
 * Algorithms: ECDSA P-256 everywhere. Every consumer accepts it: kubeadm loads EC CA keys for the
 * cluster, etcd and front-proxy CAs; etcd and Go's TLS take EC client certificates; kube-apiserver
 * accepts an ECDSA service-account key for both `--service-account-key-file` and
 * `--service-account-signing-key-file` (tokens are then ES256), and kubeadm (v1beta4, >= 1.31)
 * generates exactly that when `encryptionAlgorithm: ECDSA-P256` is set, so it loads an EC `sa.key`.
 * Masters should set `encryptionAlgorithm: ECDSA-P256` so the leaves kubeadm makes match.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  randomBytes,
  webcrypto,
  X509Certificate as NodeX509,
  type KeyObject,
} from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadX509 } from './private/x509.js';

type CryptoKey = webcrypto.CryptoKey;

/** Thrown when PKI material cannot be created, loaded or trusted; names the file and the rule. */
export class PkiError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PkiError';
  }
}

/** A certificate and its private key, both PEM. */
export interface CertAndKey {
  readonly certPem: string;
  /** PKCS#8 `PRIVATE KEY` PEM. */
  readonly keyPem: string;
  /** Expiry of the certificate. */
  readonly notAfter: Date;
}

/** All synth-time PKI and secrets of one cluster. */
export interface ClusterPki {
  readonly clusterName: string;
  /** `<stateDir>/<clusterName>/pki` */
  readonly dir: string;
  /** kubeadm's cluster CA (`/etc/kubernetes/pki/ca.{crt,key}`), CN=kubernetes. */
  readonly clusterCa: CertAndKey;
  /** The etcd CA (`/etc/kubernetes/pki/etcd/ca.{crt,key}` and each etcd member), CN=etcd-ca. */
  readonly etcdCa: CertAndKey;
  /** kubeadm's front-proxy CA (`front-proxy-ca.{crt,key}`), CN=front-proxy-ca. */
  readonly frontProxyCa: CertAndKey;
  /** The service-account token signing key pair (`sa.key` PKCS#8, `sa.pub` SPKI), ECDSA P-256. */
  readonly serviceAccount: { readonly privateKeyPem: string; readonly publicKeyPem: string };
  /** kube-apiserver's etcd client certificate (`apiserver-etcd-client.{crt,key}`), signed by the etcd CA. */
  readonly apiserverEtcdClient: CertAndKey;
  /** The user's admin client certificate, signed by the cluster CA, O=kubeadm:cluster-admins. */
  readonly admin: CertAndKey;
  /** 32 random bytes, base64: the key of the EncryptionConfiguration for secrets. */
  readonly encryptionKey: string;
  /** kubeadm's `--discovery-token-ca-cert-hash`: `sha256:` + hex SHA-256 of the cluster CA's SubjectPublicKeyInfo DER. */
  readonly discoveryHash: string;
  /** Items created by this call (empty when everything was reused). */
  readonly created: readonly string[];
  /** Non-fatal findings, e.g. a CA that expires within a year, a client certificate renewed by this call. */
  readonly warnings: readonly string[];
}

export interface PkiOptions {
  /** Validity of the CAs. @default 3650 (kubeadm's 10 years) */
  readonly caValidityDays?: number;
  /**
   * Validity of the synth-time client certificates (`apiserver-etcd-client`, `admin`).
   * @default - until their CA expires: kubeadm cannot renew the etcd client certificate with an external etcd
   */
  readonly clientValidityDays?: number;
  /** Clock for tests. @default - now */
  readonly now?: Date;
}

const EC: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGN: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };
const CLUSTER_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DAY_MS = 86_400_000;
/** Synth warns when a CA in the state directory has less than this left (a CA rotation takes planning). */
export const CA_WARN_DAYS = 365;
/** Synth re-issues a client certificate (same key) with less than this left, and says how to deliver it. */
export const CLIENT_RENEW_DAYS = 60;
/** The group kubeadm (>= 1.29) binds to cluster-admin for admin.conf; revocable, unlike system:masters. */
export const ADMIN_GROUP = 'kubeadm:cluster-admins';

const RENEW_HINT: Readonly<Record<'apiserverEtcdClient' | 'admin', string>> = {
  apiserverEtcdClient:
    'Deliver it to the running masters: openstack stack update --existing -t <template> -e <env> -e <secrets env> <stack> ' +
    "(it reaches each master's metadata in place, one master at a time; each master's daily hotk8s-cert-renew timer " +
    'installs it and restarts kube-apiserver, or at once: systemctl start hotk8s-cert-renew.service on each master)',
  admin: 'Use the new admin kubeconfig that synth wrote (the old certificate stops working when it expires).',
};

/** The file names, relative to the pki dir (kubeadm's names where kubeadm has one). */
export const PKI_FILES = {
  clusterCa: ['ca.crt', 'ca.key'],
  etcdCa: ['etcd/ca.crt', 'etcd/ca.key'],
  frontProxyCa: ['front-proxy-ca.crt', 'front-proxy-ca.key'],
  serviceAccount: ['sa.pub', 'sa.key'],
  apiserverEtcdClient: ['apiserver-etcd-client.crt', 'apiserver-etcd-client.key'],
  admin: ['admin.crt', 'admin.key'],
  encryptionKey: ['encryption-key'],
} as const;

/** `<stateDir>/<clusterName>/pki`, once the cluster name is known to be a DNS label (nothing is created). */
function pkiDir(stateDir: string, clusterName: string): string {
  if (!CLUSTER_NAME.test(clusterName)) {
    throw new PkiError(
      `cluster name must be a DNS label (lower case letters, digits, '-', at most 63): got ${JSON.stringify(clusterName)}`,
    );
  }
  return join(stateDir, clusterName, 'pki');
}

/** The warning for a CA that expires within CA_WARN_DAYS of `now` (or has expired), else undefined. */
function caExpiryWarning(dir: string, crt: string, notAfter: Date, now: Date): string | undefined {
  const left = notAfter.getTime() - now.getTime();
  if (left >= CA_WARN_DAYS * DAY_MS) return undefined;
  return (
    `${join(dir, crt)} ${left <= 0 ? 'expired' : `expires in ${Math.floor(left / DAY_MS)} days`} (${notAfter.toISOString()}): ` +
    'every certificate it signed stops working then and nothing renews a CA automatically; plan a CA rotation ' +
    '(README "Certificates": new cluster and migrate, or add the new CA beside the old one and roll the nodes)'
  );
}

/**
 * The record of the last full validation, in the pki dir (0600): a digest of every PKI file's bytes, and what the
 * checks derived from them that a synth needs (the CAs' re-encoded PEM, each certificate's notAfter, the discovery
 * hash). When every file still has the recorded bytes, the checks would give the same answers, so a synth takes them
 * from the record instead of parsing the certificates and keys again (about 12 ms of a synth, measured: most of the
 * secrets phase). Only the time-dependent checks run again: the CA expiry warnings, and a client certificate due for
 * renewal (which takes the full path). Any other byte in any file, a record that does not check out, or a change of
 * the rules ({@link VALIDATION_RULES}) means a full validation, which writes the record anew.
 */
export const PKI_VALIDATED_FILE = 'validated.json';
/** Bumped whenever a check in validateCa / validateLeaf / the service-account or encryption-key checks changes. */
const VALIDATION_RULES = 1;
const CERT_ITEMS = ['clusterCa', 'etcdCa', 'frontProxyCa', 'apiserverEtcdClient', 'admin'] as const;
type CaItem = 'clusterCa' | 'etcdCa' | 'frontProxyCa';

interface ValidatedRecord {
  readonly rules: number;
  /** sha256 over every PKI file's name and bytes, in PKI_FILES order. */
  readonly files: string;
  readonly caCertPem: Readonly<Record<CaItem, string>>;
  readonly notAfter: Readonly<Record<(typeof CERT_ITEMS)[number], string>>;
  readonly discoveryHash: string;
  /** sha256 over the fields above: a record changed by anything but this code is not used. */
  readonly check: string;
}

/** Every PKI file's bytes (checked 0600 first, as a full load does), or undefined when one is missing. */
function readAllPkiFiles(dir: string): Map<string, Buffer> | undefined {
  const out = new Map<string, Buffer>();
  for (const names of Object.values(PKI_FILES)) {
    for (const f of names) {
      if (!existsSync(join(dir, f))) return undefined;
      checkPrivateFile(dir, f);
      out.set(f, readFileSync(join(dir, f)));
    }
  }
  return out;
}

function filesDigest(files: ReadonlyMap<string, Buffer>): string {
  const h = createHash('sha256');
  for (const [name, bytes] of files) h.update(`${name}\0${bytes.length}\0`).update(bytes);
  return h.digest('hex');
}

function recordCheck(r: Omit<ValidatedRecord, 'check'>): string {
  return createHash('sha256')
    .update(JSON.stringify([r.rules, r.files, r.caCertPem, r.notAfter, r.discoveryHash]))
    .digest('hex');
}

/** The PKI as a full load would give it, from the record, when every file still has the validated bytes. */
function reuseValidated(dir: string, clusterName: string, now: Date): ClusterPki | undefined {
  const recordFile = join(dir, PKI_VALIDATED_FILE);
  let record: ValidatedRecord;
  try {
    if ((statSync(recordFile).mode & 0o077) !== 0) return undefined;
    record = JSON.parse(readFileSync(recordFile, 'utf8')) as ValidatedRecord;
  } catch {
    return undefined; // no record (or not one this code wrote): a full load writes it
  }
  const files = readAllPkiFiles(dir);
  if (!files || record?.rules !== VALIDATION_RULES || record.files !== filesDigest(files) || record.check !== recordCheck(record)) {
    return undefined;
  }
  const notAfter = {} as Record<(typeof CERT_ITEMS)[number], Date>;
  for (const item of CERT_ITEMS) {
    const d = new Date(record.notAfter[item]);
    if (Number.isNaN(d.getTime())) return undefined;
    notAfter[item] = d;
  }
  // a client certificate due for renewal: the full path renews it and says so
  for (const item of ['apiserverEtcdClient', 'admin'] as const) {
    if (notAfter[item].getTime() - now.getTime() < CLIENT_RENEW_DAYS * DAY_MS) return undefined;
  }
  const text = (f: string) => files.get(f)!.toString('utf8');
  const warnings: string[] = [];
  const ca = (item: CaItem): CertAndKey => {
    const [crt, key] = PKI_FILES[item];
    const warning = caExpiryWarning(dir, crt, notAfter[item], now);
    if (warning) warnings.push(warning);
    return { certPem: record.caCertPem[item], keyPem: text(key), notAfter: notAfter[item] };
  };
  const leaf = (item: 'apiserverEtcdClient' | 'admin'): CertAndKey => {
    const [crt, key] = PKI_FILES[item];
    return { certPem: text(crt), keyPem: text(key), notAfter: notAfter[item] };
  };
  const clusterCa = ca('clusterCa');
  const etcdCa = ca('etcdCa');
  const frontProxyCa = ca('frontProxyCa');
  return {
    clusterName,
    dir,
    clusterCa,
    etcdCa,
    frontProxyCa,
    serviceAccount: { privateKeyPem: text(PKI_FILES.serviceAccount[1]), publicKeyPem: text(PKI_FILES.serviceAccount[0]) },
    apiserverEtcdClient: leaf('apiserverEtcdClient'),
    admin: leaf('admin'),
    encryptionKey: text(PKI_FILES.encryptionKey[0]).trim(),
    discoveryHash: record.discoveryHash,
    created: [],
    warnings,
  };
}

/** Writes the record of a full load that passed every check (best effort: without it, the next synth checks again). */
function recordValidated(dir: string, pki: ClusterPki): void {
  try {
    const files = readAllPkiFiles(dir);
    if (!files) return;
    const fields: Omit<ValidatedRecord, 'check'> = {
      rules: VALIDATION_RULES,
      files: filesDigest(files),
      caCertPem: { clusterCa: pki.clusterCa.certPem, etcdCa: pki.etcdCa.certPem, frontProxyCa: pki.frontProxyCa.certPem },
      notAfter: Object.fromEntries(CERT_ITEMS.map((i) => [i, pki[i].notAfter.toISOString()])) as ValidatedRecord['notAfter'],
      discoveryHash: pki.discoveryHash,
    };
    writePrivate(dir, PKI_VALIDATED_FILE, `${JSON.stringify({ ...fields, check: recordCheck(fields) })}\n`);
  } catch {
    // the record only saves time
  }
}

/**
 * Loads the cluster's PKI from `<stateDir>/<clusterName>/pki/`, creating whatever is missing
 * (directories 0700, files 0600). Existing material is reused as is and validated: a certificate
 * that does not match its key, a CA that is not a CA, a client certificate its CA did not sign, a
 * half-present pair or a file readable by others is an error naming the file.
 */
export async function loadOrCreateClusterPki(stateDir: string, clusterName: string, options: PkiOptions = {}): Promise<ClusterPki> {
  const dir = pkiDir(stateDir, clusterName);
  const now = options.now ?? new Date();
  const caDays = positive('caValidityDays', options.caValidityDays ?? 3650);
  const clientDays = options.clientValidityDays === undefined ? undefined : positive('clientValidityDays', options.clientValidityDays);
  ensurePrivateDir(dir);
  ensurePrivateDir(join(dir, 'etcd'));
  const reused = reuseValidated(dir, clusterName, now);
  if (reused) return reused;
  const pki = await loadOrCreate(dir, clusterName, now, caDays, clientDays);
  recordValidated(dir, pki);
  return pki;
}

async function loadOrCreate(
  dir: string,
  clusterName: string,
  now: Date,
  caDays: number,
  clientDays: number | undefined,
): Promise<ClusterPki> {
  const created: string[] = [];
  const warnings: string[] = [];

  const ca = async (item: 'clusterCa' | 'etcdCa' | 'frontProxyCa', cn: string): Promise<Loaded> => {
    const [crt, key] = PKI_FILES[item];
    const got = readPair(dir, crt, key);
    if (got) {
      const loaded = validateCa(dir, crt, key, got.cert, got.key);
      const warning = caExpiryWarning(dir, crt, loaded.notAfter, now);
      if (warning) warnings.push(warning);
      return loaded;
    }
    const made = await makeCa(cn, now, caDays, join(dir, key));
    writePrivate(dir, key, made.keyPem);
    writePrivate(dir, crt, made.certPem);
    created.push(item);
    return made;
  };
  const client = async (item: 'apiserverEtcdClient' | 'admin', issuer: Loaded, issuerFile: string, subject: string): Promise<Loaded> => {
    const [crt, key] = PKI_FILES[item];
    const got = readPair(dir, crt, key);
    if (got) {
      const loaded = validateLeaf(dir, crt, key, got.cert, got.key, issuer, issuerFile);
      const left = loaded.notAfter.getTime() - now.getTime();
      if (left >= CLIENT_RENEW_DAYS * DAY_MS) return loaded;
      // Re-issued with the same key: only the (public) certificate has to reach the nodes.
      const renewed = await makeClientCert(subject, issuer, now, clientDays, join(dir, key), got.key);
      writePrivate(dir, crt, renewed.certPem);
      created.push(`${item}:renewed`);
      warnings.push(
        `${join(dir, crt)} ${left <= 0 ? 'had expired' : `would have expired in ${Math.floor(left / DAY_MS)} days`} (${loaded.notAfter.toISOString()}); ` +
          `renewed with the same key until ${renewed.notAfter.toISOString()}. ${RENEW_HINT[item]}`,
      );
      return renewed;
    }
    const made = await makeClientCert(subject, issuer, now, clientDays, join(dir, key));
    writePrivate(dir, key, made.keyPem);
    writePrivate(dir, crt, made.certPem);
    created.push(item);
    return made;
  };

  const clusterCa = await ca('clusterCa', 'kubernetes');
  const etcdCa = await ca('etcdCa', 'etcd-ca');
  const frontProxyCa = await ca('frontProxyCa', 'front-proxy-ca');
  const apiserverEtcdClient = await client('apiserverEtcdClient', etcdCa, PKI_FILES.etcdCa[0], 'CN=kube-apiserver-etcd-client');
  const admin = await client('admin', clusterCa, PKI_FILES.clusterCa[0], `CN=${clusterName}-admin, O=${ADMIN_GROUP}`);

  // Service-account key pair.
  const [saPub, saKey] = PKI_FILES.serviceAccount;
  let serviceAccount: ClusterPki['serviceAccount'];
  const saPair = readPair(dir, saPub, saKey);
  if (saPair) {
    const derived = publicPemOf(dir, saKey, saPair.key);
    if (normalizePem(derived) !== normalizePem(saPair.cert)) {
      throw new PkiError(`${join(dir, saPub)} is not the public key of ${join(dir, saKey)}: the service-account key pair does not match`);
    }
    serviceAccount = { privateKeyPem: saPair.key, publicKeyPem: saPair.cert };
  } else {
    const x509 = await loadX509();
    const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
    const privateKeyPem = x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY');
    const publicKeyPem = x509.PemConverter.encode(await webcrypto.subtle.exportKey('spki', keys.publicKey), 'PUBLIC KEY');
    writePrivate(dir, saKey, privateKeyPem);
    writePrivate(dir, saPub, publicKeyPem);
    serviceAccount = { privateKeyPem, publicKeyPem };
    created.push('serviceAccount');
  }

  // Encryption-at-rest key.
  const [encFile] = PKI_FILES.encryptionKey;
  let encryptionKey: string;
  if (existsSync(join(dir, encFile))) {
    checkPrivateFile(dir, encFile);
    encryptionKey = readFileSync(join(dir, encFile), 'utf8').trim();
    const raw = Buffer.from(encryptionKey, 'base64');
    if (raw.length !== 32 || raw.toString('base64') !== encryptionKey) {
      throw new PkiError(`${join(dir, encFile)} must hold 32 bytes in base64 (an AES-256 key); got ${raw.length} bytes`);
    }
  } else {
    encryptionKey = randomBytes(32).toString('base64');
    writePrivate(dir, encFile, `${encryptionKey}\n`);
    created.push('encryptionKey');
  }

  return {
    clusterName,
    dir,
    clusterCa: pub(clusterCa),
    etcdCa: pub(etcdCa),
    frontProxyCa: pub(frontProxyCa),
    serviceAccount,
    apiserverEtcdClient: pub(apiserverEtcdClient),
    admin: pub(admin),
    encryptionKey,
    discoveryHash: discoveryHashOf(clusterCa.certPem),
    created,
    warnings,
  };
}

/** The file (relative to the pki dir) of the Swift temp URL key of the etcd backups' container. */
export const SWIFT_TEMP_URL_KEY_FILE = 'etcd-backup-swift-temp-url-key';

/**
 * Loads the temp URL key of the cluster's etcd backup container from `<stateDir>/<clusterName>/pki/`, creating it
 * (32 random bytes, hex; the file 0600) when missing. It only exists for clusters with Swift backups, so it is not
 * part of {@link loadOrCreateClusterPki}. A file readable by others, or one not holding 32-128 letters and digits, is
 * an error naming the file.
 */
export function loadOrCreateSwiftTempUrlKey(stateDir: string, clusterName: string): string {
  const dir = pkiDir(stateDir, clusterName);
  ensurePrivateDir(dir);
  const file = join(dir, SWIFT_TEMP_URL_KEY_FILE);
  if (existsSync(file)) {
    checkPrivateFile(dir, SWIFT_TEMP_URL_KEY_FILE);
    const key = readFileSync(file, 'utf8').trim();
    if (!/^[A-Za-z0-9]{32,128}$/.test(key)) {
      throw new PkiError(`${file} must hold a temp URL key of 32-128 letters and digits; got ${key.length} characters`);
    }
    return key;
  }
  const key = randomBytes(32).toString('hex');
  writePrivate(dir, SWIFT_TEMP_URL_KEY_FILE, `${key}\n`);
  return key;
}

/**
 * Re-issues one synth-time client certificate now, with its existing key (a renewal outside synth's 60-day window,
 * e.g. after a suspected leak of the certificate alone, or to test the delivery path). `validityDays` defaults to
 * the CA's remaining lifetime. Returns the new certificate; the next synth carries it.
 */
export async function reissueClientCertificate(
  stateDir: string,
  clusterName: string,
  item: 'apiserverEtcdClient' | 'admin',
  options: { readonly now?: Date; readonly validityDays?: number } = {},
): Promise<CertAndKey> {
  const dir = join(stateDir, clusterName, 'pki');
  const issuerItem = item === 'admin' ? 'clusterCa' : 'etcdCa';
  const [caCrt, caKey] = PKI_FILES[issuerItem];
  const [crt, key] = PKI_FILES[item];
  const caPair = readPair(dir, caCrt, caKey);
  const leafPair = readPair(dir, crt, key);
  if (!caPair || !leafPair) throw new PkiError(`${join(dir, crt)}: nothing to re-issue (run synth first)`);
  const ca = validateCa(dir, caCrt, caKey, caPair.cert, caPair.key);
  const old = validateLeaf(dir, crt, key, leafPair.cert, leafPair.key, ca, caCrt);
  const days = options.validityDays === undefined ? undefined : positive('validityDays', options.validityDays);
  const made = await makeClientCert(
    old.cert.subject.replace(/\n/g, ', '),
    ca,
    options.now ?? new Date(),
    days,
    join(dir, key),
    leafPair.key,
  );
  writePrivate(dir, crt, made.certPem);
  return pub(made);
}

/** kubeadm's CA public key pin: `sha256:` + hex SHA-256 of the certificate's SubjectPublicKeyInfo (DER). */
export function discoveryHashOf(caCertPem: string): string {
  const spki = new NodeX509(caCertPem).publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

// ---------------------------------------------------------------------------------------------

interface Loaded extends CertAndKey {
  readonly cert: NodeX509;
  /** Where the key came from, for messages; a CA's key is imported for signing only when a certificate must be issued. */
  readonly keyFile: string;
  /** Set when the key was made in this run (already a WebCrypto key). */
  readonly signingKey: CryptoKey | undefined;
}

function pub(l: Loaded): CertAndKey {
  return { certPem: l.certPem, keyPem: l.keyPem, notAfter: l.notAfter };
}

function positive(what: string, n: number): number {
  if (!Number.isInteger(n) || n <= 0) throw new PkiError(`${what} must be a positive whole number of days; got ${n}`);
  return n;
}

async function makeCa(cn: string, now: Date, days: number, keyFile: string): Promise<Loaded> {
  const x509 = await loadX509();
  const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${cn}`,
    notBefore: new Date(now.getTime() - 5 * 60_000),
    notAfter: new Date(now.getTime() + days * DAY_MS),
    signingAlgorithm: SIGN,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return issued(cert.toString('pem'), keys.privateKey, await exportPkcs8(keys.privateKey), keyFile);
}

async function makeClientCert(
  subject: string,
  issuer: Loaded,
  now: Date,
  days: number | undefined,
  keyFile: string,
  existingKeyPem?: string,
): Promise<Loaded> {
  const x509 = await loadX509();
  const signingKey = issuer.signingKey ?? (await importSigningKey(issuer));
  // The issuer as the library sees it: its subject name and public key go into the new certificate.
  const issuerCert = new x509.X509Certificate(issuer.certPem);
  const keys: { publicKey: CryptoKey; privateKey?: CryptoKey } = existingKeyPem
    ? {
        publicKey: await webcrypto.subtle.importKey(
          'spki',
          createPublicKey(existingKeyPem).export({ type: 'spki', format: 'der' }),
          EC,
          true,
          ['verify'],
        ),
      }
    : await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const end = days === undefined ? issuer.notAfter.getTime() : Math.min(now.getTime() + days * DAY_MS, issuer.notAfter.getTime());
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject,
    issuer: issuerCert.subject,
    notBefore: new Date(now.getTime() - 5 * 60_000),
    notAfter: new Date(end),
    signingAlgorithm: SIGN,
    publicKey: keys.publicKey,
    signingKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      await x509.AuthorityKeyIdentifierExtension.create(issuerCert.publicKey),
    ],
  });
  const keyPem = existingKeyPem ?? (await exportPkcs8(keys.privateKey!));
  return issued(cert.toString('pem'), undefined, keyPem, keyFile);
}

/** A certificate made in this run, in the PEM form a re-synth reads back (Node's: 64-column base64, trailing newline). */
function issued(pem: string, signingKey: CryptoKey | undefined, keyPem: string, keyFile: string): Loaded {
  const cert = new NodeX509(pem);
  return { cert, signingKey, keyFile, keyPem, certPem: cert.toString(), notAfter: notAfterOf('', cert) };
}

async function exportPkcs8(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** The CA's key as a WebCrypto signing key (checked to be ECDSA P-256 when the CA was loaded). */
async function importSigningKey(ca: Loaded): Promise<CryptoKey> {
  const der = createPrivateKey(ca.keyPem).export({ type: 'pkcs8', format: 'der' });
  try {
    return await webcrypto.subtle.importKey('pkcs8', der, EC, true, ['sign']);
  } catch (e) {
    throw new PkiError(`${ca.keyFile} must be an ECDSA P-256 key: ${(e as Error).message}`);
  }
}

/** A positive 128-bit serial (high bit clear, so DER needs no sign byte). */
function serial(): string {
  const b = randomBytes(16);
  b[0] = ((b[0] as number) & 0x7f) | 0x01;
  return b.toString('hex');
}

function readPair(dir: string, crt: string, key: string): { cert: string; key: string } | undefined {
  const hasCrt = existsSync(join(dir, crt));
  const hasKey = existsSync(join(dir, key));
  if (!hasCrt && !hasKey) return undefined;
  if (hasCrt !== hasKey) {
    const [present, missing] = hasCrt ? [crt, key] : [key, crt];
    throw new PkiError(
      `${join(dir, present)} exists but ${join(dir, missing)} does not: refusing to replace half of a pair (restore the missing file, or delete both to issue new ones)`,
    );
  }
  checkPrivateFile(dir, crt);
  checkPrivateFile(dir, key);
  return { cert: readFileSync(join(dir, crt), 'utf8'), key: readFileSync(join(dir, key), 'utf8') };
}

function parseCert(dir: string, file: string, pem: string): NodeX509 {
  try {
    return new NodeX509(pem);
  } catch (e) {
    throw new PkiError(`${join(dir, file)} is not a PEM certificate: ${(e as Error).message}`);
  }
}

function privateKeyOf(dir: string, file: string, keyPem: string): KeyObject {
  try {
    return createPrivateKey(keyPem);
  } catch (e) {
    throw new PkiError(`${join(dir, file)} is not a PEM private key: ${(e as Error).message}`);
  }
}

function publicPemOf(dir: string, file: string, keyPem: string): string {
  return createPublicKey(privateKeyOf(dir, file, keyPem))
    .export({ type: 'spki', format: 'pem' })
    .toString();
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** OpenSSL's printed time, as Node's `validTo` gives it: `Nov 27 09:21:21 2027 GMT` (day space-padded, optional fraction). */
const OPENSSL_TIME = /^([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2})(?:\.\d+)? (\d{4}) GMT$/;

/** The certificate's notAfter (whole seconds, as X.509 stores it). */
function notAfterOf(file: string, cert: NodeX509): Date {
  const m = OPENSSL_TIME.exec(cert.validTo);
  const month = m ? MONTHS.indexOf(m[1] as string) : -1;
  if (!m || month < 0) throw new PkiError(`${file || 'certificate'}: cannot read its expiry (notAfter) ${JSON.stringify(cert.validTo)}`);
  return new Date(Date.UTC(Number(m[6]), month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])));
}

function checkMatch(dir: string, crt: string, key: string, cert: NodeX509, keyPem: string): KeyObject {
  const privateKey = privateKeyOf(dir, key, keyPem);
  // OpenSSL's X509_check_private_key: the same answer as comparing the two public keys' DER, without exporting them
  // (measured: about 4 ms less per synth, which checks every CA and key of the state directory)
  if (!cert.checkPrivateKey(privateKey)) {
    throw new PkiError(
      `${join(dir, crt)} does not match ${join(dir, key)}: the certificate's public key is not the key's (was one of them replaced?)`,
    );
  }
  return privateKey;
}

function validateCa(dir: string, crt: string, key: string, certPem: string, keyPem: string): Loaded {
  const cert = parseCert(dir, crt, certPem);
  const privateKey = checkMatch(dir, crt, key, cert, keyPem);
  // Node's `ca` is OpenSSL's X509_check_ca() == 1: basicConstraints CA:TRUE (and keyCertSign if keyUsage is present).
  if (!cert.ca) throw new PkiError(`${join(dir, crt)} is not a CA certificate (basicConstraints CA:TRUE missing)`);
  if (cert.subject !== cert.issuer || !cert.verify(cert.publicKey)) {
    throw new PkiError(`${join(dir, crt)} is not self-signed; a cluster CA must be a root`);
  }
  const details = privateKey.asymmetricKeyDetails;
  if (privateKey.asymmetricKeyType !== 'ec' || details?.namedCurve !== 'prime256v1') {
    const got =
      privateKey.asymmetricKeyType === 'ec'
        ? `EC on curve ${details?.namedCurve ?? 'unknown'}`
        : `${privateKey.asymmetricKeyType ?? 'unknown'} key`;
    throw new PkiError(`${join(dir, key)} must be an ECDSA P-256 key: got ${got}`);
  }
  // Re-encoded, as a freshly issued CA is: the PEM that reaches the nodes is the same whatever wrapping the file has.
  return {
    cert,
    signingKey: undefined,
    keyFile: join(dir, key),
    keyPem,
    certPem: cert.toString(),
    notAfter: notAfterOf(join(dir, crt), cert),
  };
}

function validateLeaf(dir: string, crt: string, key: string, certPem: string, keyPem: string, issuer: Loaded, issuerFile: string): Loaded {
  const cert = parseCert(dir, crt, certPem);
  checkMatch(dir, crt, key, cert, keyPem);
  if (!cert.verify(issuer.cert.publicKey)) {
    throw new PkiError(`${join(dir, crt)} was not signed by ${join(dir, issuerFile)} (was the CA replaced?)`);
  }
  return { cert, signingKey: undefined, keyFile: join(dir, key), keyPem, certPem, notAfter: notAfterOf(join(dir, crt), cert) };
}

function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = statSync(dir);
  if (!st.isDirectory()) throw new PkiError(`${dir} must be a directory`);
  if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
}

function checkPrivateFile(dir: string, file: string): void {
  const st = statSync(join(dir, file));
  if ((st.mode & 0o077) !== 0) {
    throw new PkiError(
      `${join(dir, file)} has mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}; secret material must be 0600 (others may have read it: rotate it, or chmod 600 if you are sure)`,
    );
  }
}

function writePrivate(dir: string, file: string, content: string): void {
  const target = join(dir, file);
  const tmp = `${target}.tmp-${process.pid}`;
  writeFileSync(tmp, content, { mode: 0o600, flag: 'wx' });
  chmodSync(tmp, 0o600);
  renameSync(tmp, target);
}

function normalizePem(pem: string): string {
  return pem.replace(/\r/g, '').trim();
}
