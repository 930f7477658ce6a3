/** Hidden root parameters whose values come from the cluster's synth-time PKI (kept in the state directory). */
import { Construct } from 'constructs';
import { X509Certificate } from 'node:crypto';
import { Annotations } from '../../core/annotations.js';
import { HeatParameter } from '../../core/parameter.js';
import { ETCD_CLIENT_CERT_META_PARTS, etcdClientCertMetadataKey } from '../../bootstrap/cert-renew.js';
import { loadOrCreateClusterPki, loadOrCreateSwiftTempUrlKey, type ClusterPki } from '../../bootstrap/pki.js';
import { checkAndRecordKubernetesVersion } from '../../bootstrap/version-state.js';
import { HotError } from '../../core/errors.js';

export type PkiField = (pki: ClusterPki) => string;

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

export { ETCD_CLIENT_CERT_META_PARTS, etcdClientCertMetadataKey };

/** The certificate's base64 DER in ETCD_CLIENT_CERT_META_PARTS non-empty parts of at most 255 characters. */
export function certMetadataParts(certPem: string): string[] {
  // the three parameters ask for the same certificate's parts: parsed once
  if (lastParts?.pem === certPem) return [...lastParts.parts];
  const b64 = new X509Certificate(certPem).raw.toString('base64');
  const n = ETCD_CLIENT_CERT_META_PARTS;
  const size = Math.ceil(b64.length / n);
  if (size > 255) throw new Error(`the etcd client certificate is ${b64.length} base64 characters: more than ${n} metadata values hold`);
  const parts = [...Array(n).keys()].map((i) => b64.slice(i * size, (i + 1) * size));
  lastParts = { pem: certPem, parts };
  return [...parts];
}
let lastParts: { readonly pem: string; readonly parts: readonly string[] } | undefined;

/** What each secret parameter holds. Public parts (CA certificates) travel the same way, so templates stay reproducible. */
export const PKI_SECRETS: Readonly<Record<string, { readonly description: string; readonly value: PkiField }>> = {
  etcd_ca_cert: { description: 'etcd CA certificate (PEM)', value: (p) => p.etcdCa.certPem },
  etcd_ca_key: { description: 'etcd CA private key (PEM)', value: (p) => p.etcdCa.keyPem },
  etcd_ca_cert_b64: { description: 'etcd CA certificate (base64 PEM)', value: (p) => b64(p.etcdCa.certPem) },
  ca_cert_hash: { description: 'kubeadm discovery hash of the cluster CA', value: (p) => p.discoveryHash },
  k8s_ca_cert_b64: { description: 'Cluster CA certificate (base64 PEM)', value: (p) => b64(p.clusterCa.certPem) },
  k8s_ca_key_b64: { description: 'Cluster CA private key (base64 PEM)', value: (p) => b64(p.clusterCa.keyPem) },
  front_proxy_ca_cert_b64: { description: 'Front-proxy CA certificate (base64 PEM)', value: (p) => b64(p.frontProxyCa.certPem) },
  front_proxy_ca_key_b64: { description: 'Front-proxy CA private key (base64 PEM)', value: (p) => b64(p.frontProxyCa.keyPem) },
  sa_key_b64: { description: 'Service-account signing key (base64 PEM)', value: (p) => b64(p.serviceAccount.privateKeyPem) },
  sa_pub_b64: { description: 'Service-account public key (base64 PEM)', value: (p) => b64(p.serviceAccount.publicKeyPem) },
  apiserver_etcd_client_cert_b64: {
    description: "kube-apiserver's etcd client certificate (base64 PEM)",
    value: (p) => b64(p.apiserverEtcdClient.certPem),
  },
  apiserver_etcd_client_key_b64: {
    description: "kube-apiserver's etcd client key (base64 PEM)",
    value: (p) => b64(p.apiserverEtcdClient.keyPem),
  },
  encryption_key: { description: 'Encryption-at-rest key for Secrets', value: (p) => p.encryptionKey },
  ...Object.fromEntries(
    [0, 1, 2].map((i) => [
      `apiserver_etcd_client_cert_meta_${i}`,
      {
        description: `kube-apiserver's etcd client certificate, base64 DER, part ${i + 1} of ${ETCD_CLIENT_CERT_META_PARTS}`,
        value: (p: ClusterPki) => certMetadataParts(p.apiserverEtcdClient.certPem)[i]!,
      },
    ]),
  ),
};

/** Secrets kept in the state directory apart from the PKI (made only for the clusters that use them). */
export const STATE_SECRETS: Readonly<
  Record<string, { readonly description: string; readonly value: (stateDir: string, clusterName: string) => string }>
> = {
  etcd_backup_swift_key: {
    description: "Temp URL key of the etcd backups' Swift container",
    value: (stateDir, clusterName) => loadOrCreateSwiftTempUrlKey(stateDir, clusterName),
  },
};

/** Creates each secret parameter once, on the root stack, on first use. */
export class ClusterSecrets extends Construct {
  private readonly params = new Map<string, HeatParameter>();
  constructor(
    scope: Construct,
    id: string,
    private readonly clusterName: string,
    /** Checked against, then recorded in, the state directory at synth (see src/bootstrap/version-state.ts). */
    private readonly kubernetesVersion?: string,
  ) {
    super(scope, id);
  }

  /** Refuses a skipped minor or a downgrade against the previous synth's record, then records this version. */
  private checkVersion(stateDir: string): void {
    if (this.kubernetesVersion === undefined) return;
    try {
      checkAndRecordKubernetesVersion(stateDir, this.clusterName, this.kubernetesVersion);
    } catch (e) {
      throw new HotError(this.node.scope!.node.path, e instanceof Error ? e.message : String(e));
    }
  }

  /** The hidden root parameter named `name` (a key of PKI_SECRETS or STATE_SECRETS). */
  param(name: string): HeatParameter {
    const had = this.params.get(name);
    if (had) return had;
    const state = STATE_SECRETS[name];
    const spec = PKI_SECRETS[name];
    if (!state && !spec) throw new Error(`unknown cluster secret ${name}`);
    const clusterName = this.clusterName;
    const description = (state ?? spec)!.description;
    const p = new HeatParameter(this, name, {
      type: 'string',
      name,
      hidden: true,
      label: description,
      description: `${description}; made by hotk8s synth and kept in its state directory`,
      secretValue: state
        ? async (session) =>
            (await session.memo(`${name}:${clusterName}`, async () => state.value(session.stateDir, clusterName))) as string
        : async (session) => {
            await session.memo(`kubernetes-version:${clusterName}`, async () => this.checkVersion(session.stateDir));
            const pki = await session.memo('pki', () => loadOrCreateClusterPki(session.stateDir, clusterName));
            // certificate expiry and renewal: printed by the CLI after synthesis, once per synth
            await session.memo(`pki-warnings:${clusterName}`, async () => {
              for (const w of (pki as ClusterPki).warnings) Annotations.of(this).addWarning(w);
            });
            return spec!.value(pki as ClusterPki);
          },
    });
    this.params.set(name, p);
    return p;
  }
}
