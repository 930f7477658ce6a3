/**
 * Versions the node bootstrap installs, in one place.
 *
 * etcd: 3.5.x up to Kubernetes 1.33, 3.6.x from 1.34 (etcd's own policy: "v3.5.x for K8s release-1.33 and lower,
 * v3.6.x for K8s release-1.34 and higher"). The etcd here is external to kubeadm, which only requires a minimum version
 * of it, so every 3.6 minor uses 3.6.5: the newest 3.6 patch whose release checksums were found in several independent
 * stored copies of its SHA256SUMS on 2026-12-04 (the date of the table in kubernetes-versions.ts). A newer 3.6 patch
 * can be used by giving its version and checksums in the etcd install settings.
 */
export class VersionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VersionError';
  }
}

/** CPU architectures etcd publishes Linux release tarballs for and that we support. */
export type Arch = 'amd64' | 'arm64';
export const ARCHES: readonly Arch[] = ['amd64', 'arm64'];

/** Kubernetes minor -> etcd version kubeadm expects. The one table. */
export const ETCD_FOR_KUBERNETES_MINOR: Readonly<Record<string, string>> = {
  '1.30': '3.5.15',
  '1.31': '3.5.21',
  '1.32': '3.5.21',
  '1.33': '3.5.21',
  '1.34': '3.6.5',
  '1.35': '3.6.5',
  '1.36': '3.6.5',
  '1.37': '3.6.5',
};

/**
 * SHA-256 of the upstream release tarballs `etcd-v<version>-linux-<arch>.tar.gz` (as published in
 * the release's SHA256SUMS). A version without an entry can still be used: give its checksums in the
 * etcd install settings (synth fails with an error naming what is missing otherwise).
 */
export const ETCD_TARBALL_SHA256: Readonly<Record<string, Readonly<Partial<Record<Arch, string>>>>> = {
  '3.5.15': {
    amd64: '3f6b48d8c2844699f2b19c1880508ecf63e1489769ed37ebb97495d5cd848a89',
    arm64: '5aa28b435edb1f22bf6455f754e16a13e3e4eb1ad8fc7c22ad47aa8e722febf2',
  },
  '3.5.16': {
    amd64: 'b414b27a5ad05f7cb01395c447c85d3227e3fb1c176e51757a283b817f645ccc',
    arm64: '8e68c55e6d72b791a9e98591c755af36f6f55aa9eca63767822cd8a3817fdb23',
  },
  '3.5.21': {
    amd64: 'adddda4b06718e68671ffabff2f8cee48488ba61ad82900e639d108f2148501c',
    arm64: '95bf6918623a097c0385b96f139d90248614485e781ec9bee4768dbb6c79c53f',
  },
  '3.6.5': {
    amd64: '66bad39ed920f6fc15fd74adcb8bfd38ba9a6412f8c7852d09eb11670e88cac3',
    arm64: '7010161787077b07de29b15b76825ceacbbcedcb77fe2e6832f509be102cab6b',
  },
};

/** Where etcd releases come from unless a mirror is configured (same layout expected of a mirror). */
export const ETCD_UPSTREAM_BASE_URL = 'https://github.com/etcd-io/etcd/releases/download';

const K8S_VERSION = /^v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+].*)?$/;

/** `'1.33'` from `'1.33'`, `'1.33.2'` or `'v1.33.2'`; errors name the value received. */
export function kubernetesMinor(version: string): string {
  const m = K8S_VERSION.exec(version);
  if (!m)
    throw new VersionError(
      `Kubernetes version must look like 1.33 or 1.33.2 (optionally with a leading v); got ${JSON.stringify(version)}`,
    );
  return `${Number(m[1])}.${Number(m[2])}`;
}

/** The etcd version kubeadm expects for a Kubernetes version. */
export function etcdVersionFor(kubernetesVersion: string): string {
  const minor = kubernetesMinor(kubernetesVersion);
  const v = ETCD_FOR_KUBERNETES_MINOR[minor];
  if (!v) {
    throw new VersionError(
      `no etcd version known for Kubernetes ${minor}; supported minors: ${Object.keys(ETCD_FOR_KUBERNETES_MINOR).join(', ')}`,
    );
  }
  return v;
}

/** The release tarball URL under `baseUrl` (upstream layout: `<base>/v<ver>/etcd-v<ver>-linux-<arch>.tar.gz`). */
export function etcdTarballUrl(version: string, arch: Arch, baseUrl: string = ETCD_UPSTREAM_BASE_URL): string {
  return `${baseUrl.replace(/\/+$/, '')}/v${version}/etcd-v${version}-linux-${arch}.tar.gz`;
}
