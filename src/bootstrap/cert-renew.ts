/**
 * Certificate renewal on the masters: `hotk8s-cert-renew` (templates/master/cert-renew.sh) and its daily timer.
 *
 * What expires in a running cluster and what renews it:
 *  - kubeadm's leaf certificates on each master (apiserver, apiserver-kubelet-client, front-proxy-client, the
 *    admin / controller-manager / scheduler kubeconfigs): one year. The timer runs `kubeadm certs renew all` when
 *    the apiserver certificate has fewer than {@link CERT_RENEW_THRESHOLD_DAYS} days left, then restarts the
 *    control-plane static pods one at a time (stop the container, the kubelet starts a new one), each healthy
 *    (`/readyz`, `/healthz`) before the next. Masters run it at staggered hours ({@link certRenewHour}), so two
 *    masters never restart together; the API stays up through the load balancer's other members.
 *  - the kubelet client certificates: `rotateCertificates: true` in the KubeletConfiguration (the kubelet renews
 *    them itself through a CSR, auto-approved by kubeadm's bindings).
 *  - kube-apiserver's etcd client certificate: made at synth (pki.ts) with the etcd CA's lifetime; kubeadm cannot
 *    renew it with an external etcd. When synth re-issues it, `openstack stack update` writes it into each master's
 *    Nova metadata in place, and this script installs it (after checking key, chain and expiry) and restarts
 *    kube-apiserver.
 */
import { NODE_PATHS } from './kubeadm.js';
import { renderTemplate } from './render.js';

/** Where the script is installed on every master. */
export const CERT_RENEW_SCRIPT_PATH = '/usr/local/sbin/hotk8s-cert-renew';
/** kubeadm's leaf certificates are renewed when the apiserver certificate has fewer days left than this. */
export const CERT_RENEW_THRESHOLD_DAYS = 90;
/** How long each restarted control-plane component may take to be healthy again. */
export const CERT_RENEW_READY_SEC = 300;
/** How many Nova metadata values carry the etcd client certificate (base64 DER; Nova caps a value at 255). */
export const ETCD_CLIENT_CERT_META_PARTS = 3;
/** The metadata key of part `i`. */
export const etcdClientCertMetadataKey = (i: number): string => `hotk8s-etcd-client-cert-${i}`;

/** The hour (UTC on a UTC node) master `index` runs its daily check: (1 + 4 * index) % 24, at minute 17. */
export function certRenewHour(index: number): number {
  return (1 + 4 * index) % 24;
}

export interface CertRenewOptions {
  /** @default CERT_RENEW_THRESHOLD_DAYS */
  readonly thresholdDays?: number;
  /** @default CERT_RENEW_READY_SEC */
  readonly readySec?: number;
  /** The local kube-apiserver's port. @default 6443 */
  readonly apiPort?: number;
}

/** The `hotk8s-cert-renew` script (placeholder-free: the master index is given to its `install` at boot). */
export function renderCertRenewScript(options: CertRenewOptions = {}): string {
  const thresholdDays = options.thresholdDays ?? CERT_RENEW_THRESHOLD_DAYS;
  const readySec = options.readySec ?? CERT_RENEW_READY_SEC;
  const apiPort = options.apiPort ?? 6443;
  for (const [k, v] of Object.entries({ thresholdDays, readySec, apiPort })) {
    if (!Number.isInteger(v) || v <= 0) throw new Error(`cert renewal ${k} must be a positive integer; got ${v}`);
  }
  return renderTemplate('master/cert-renew.sh', {
    pkiDir: NODE_PATHS.pki.caCert.replace(/\/ca\.crt$/, ''),
    thresholdDays,
    readySec,
    apiPort,
    scriptPath: CERT_RENEW_SCRIPT_PATH,
    parts: ETCD_CLIENT_CERT_META_PARTS,
  });
}
