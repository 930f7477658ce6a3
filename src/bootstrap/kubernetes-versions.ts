/**
 * THE table of Kubernetes versions hotk8s can deploy: one row per supported minor, with the patch releases that exist,
 * the end-of-life date and what each minor implies for the nodes. README "Kubernetes versions" says how to update it.
 *
 * Last updated: 2026-12-04 (KUBERNETES_VERSIONS_UPDATED). Sources, as read that day (this machine has no internet; the
 * pages were read through a stored copy, their own dates given):
 * - kubernetes.io/releases/1.35/ (latest patch 1.35.9, released 2026-09-15; maintenance 2026-12-28; EOL 2027-02-28)
 * - kubernetes.io/releases/1.36/ (latest patch 1.36.4, released 2026-08-11; maintenance 2027-04-28; EOL 2027-06-28)
 * - kubernetes.io/releases/1.37/ (latest patch 1.37.1, released 2026-09-15; maintenance 2027-08-28; EOL 2027-10-28)
 * - kubernetes.io/releases/1.34/ (EOL 2026-10-27: no longer maintained, so not listed) and
 *   kubernetes/website data/releases/eol.yaml (1.31, 1.32 and 1.33 past their EOL)
 * - github.com/kubernetes/cloud-provider-openstack/releases (v1.35.0; v1.36.0 of 2026-05-15; no 1.37 line yet)
 * - github.com/kubernetes/autoscaler/releases (cluster-autoscaler-1.36.1 of 2026-07-23)
 * Patches released after those pages are unknown to the table: update it rather than guess (see README).
 *
 * The default is the newest minor that every add-on supports: cloud-provider-openstack has no 1.37 release yet, so the
 * default stays on 1.36. On 1.37 the v1.36 controller and Cinder CSI are used, which the version-skew policy allows (a
 * cloud-controller-manager may be one minor older than the apiserver).
 *
 * The kubeadm configuration API is `kubeadm.k8s.io/v1beta4`. `pauseTag` and `corednsTag` feed the image pre-pull list and
 * the bill of materials; no stored source confirmed newer tags for 1.35-1.37 than kubeadm 1.34's (pause 3.10.1, CoreDNS
 * v1.12.1), so those are kept, and kubeadm's own defaults decide at init. Every image can be overridden (`AddonImages`).
 */
import { BootstrapRenderError } from './render.js';

/** The day the table below was last checked against the sources named above (YYYY-MM-DD). */
export const KUBERNETES_VERSIONS_UPDATED = '2026-12-04';

export interface KubernetesMinorInfo {
  /** e.g. '1.36' */
  readonly minor: string;
  /** Every patch release of the minor known on KUBERNETES_VERSIONS_UPDATED, oldest first. */
  readonly patches: readonly string[];
  /** The patch release used when the cluster names only the minor (the newest known). */
  readonly defaultVersion: string;
  /** End of life (YYYY-MM-DD): no patch release after this day; synth warns past it. */
  readonly endOfLife: string;
  /** `apiVersion` of the kubeadm configuration documents. */
  readonly kubeadmApiVersion: 'kubeadm.k8s.io/v1beta4';
  /** Tag of registry.k8s.io/pause kubeadm expects for this minor. */
  readonly pauseTag: string;
  /** Tag of registry.k8s.io/coredns/coredns kubeadm deploys for this minor. */
  readonly corednsTag: string;
  /** Release of kubernetes/cloud-provider-openstack used with this minor (CCM and Cinder CSI images). */
  readonly cloudProviderOpenstackTag: string;
}

const range = (minor: string, last: number): string[] => Array.from({ length: last + 1 }, (_, i) => `${minor}.${i}`);

export const KUBERNETES_MINORS: readonly KubernetesMinorInfo[] = [
  {
    minor: '1.35',
    patches: range('1.35', 9),
    defaultVersion: '1.35.9',
    endOfLife: '2027-02-28',
    kubeadmApiVersion: 'kubeadm.k8s.io/v1beta4',
    pauseTag: '3.10.1',
    corednsTag: 'v1.12.1',
    cloudProviderOpenstackTag: 'v1.35.0',
  },
  {
    minor: '1.36',
    patches: range('1.36', 4),
    defaultVersion: '1.36.4',
    endOfLife: '2027-06-28',
    kubeadmApiVersion: 'kubeadm.k8s.io/v1beta4',
    pauseTag: '3.10.1',
    corednsTag: 'v1.12.1',
    cloudProviderOpenstackTag: 'v1.36.0',
  },
  {
    minor: '1.37',
    patches: range('1.37', 1),
    defaultVersion: '1.37.1',
    endOfLife: '2027-10-28',
    kubeadmApiVersion: 'kubeadm.k8s.io/v1beta4',
    pauseTag: '3.10.1',
    corednsTag: 'v1.12.1',
    // no 1.37 release of cloud-provider-openstack yet: the 1.36 line (one minor older, within the skew policy)
    cloudProviderOpenstackTag: 'v1.36.0',
  },
];

/** The Kubernetes version a cluster gets when it names none: the newest patch of the newest minor all add-ons support. */
export const DEFAULT_KUBERNETES_VERSION = '1.36.4';

const VERSION = /^v?(\d+)\.(\d+)(?:\.(\d+))?$/;

/** A resolved Kubernetes version: the full `x.y.z` and its minor's row. */
export interface ResolvedKubernetesVersion {
  /** '1.36.4' (no leading v) */
  readonly version: string;
  readonly info: KubernetesMinorInfo;
}

/**
 * Resolves '1.36', '1.36.4' or 'v1.36.4' to a full version and its minor's row. Throws, naming what is known, when the
 * value is not a string, the minor is not in the table, or the patch is not a known release of that minor.
 */
export function resolveKubernetesVersion(value: unknown, where = 'kubernetesVersion'): ResolvedKubernetesVersion {
  if (typeof value !== 'string') {
    throw new BootstrapRenderError(
      `${where} must be a string like '1.36' or '1.36.4' (a number loses the difference between 1.3 and 1.30); got ${typeof value} ${String(value)}`,
    );
  }
  const m = VERSION.exec(value);
  if (!m) {
    throw new BootstrapRenderError(`${where} must look like 1.36 or 1.36.4; got ${JSON.stringify(value)}`);
  }
  const minor = `${Number(m[1])}.${Number(m[2])}`;
  const info = KUBERNETES_MINORS.find((r) => r.minor === minor);
  if (!info) {
    throw new BootstrapRenderError(
      `${where}: Kubernetes ${minor} is not supported (supported minors, maintained on ${KUBERNETES_VERSIONS_UPDATED}: ${KUBERNETES_MINORS.map((r) => r.minor).join(', ')}); got ${JSON.stringify(value)}`,
    );
  }
  if (m[3] === undefined) return { version: info.defaultVersion, info };
  const version = `${minor}.${Number(m[3])}`;
  if (!info.patches.includes(version)) {
    throw new BootstrapRenderError(
      `${where}: ${version} is not a known patch release of Kubernetes ${minor} (known on ${KUBERNETES_VERSIONS_UPDATED}: ${info.patches.join(', ')}); got ${JSON.stringify(value)}`,
    );
  }
  return { version, info };
}

/** The minor's end-of-life date when `today` is past it, else undefined. */
export function pastEndOfLife(info: KubernetesMinorInfo, today: Date = new Date()): string | undefined {
  return today.toISOString().slice(0, 10) > info.endOfLife ? info.endOfLife : undefined;
}

/**
 * The cluster-autoscaler release for each Kubernetes minor (registry.k8s.io/autoscaling/cluster-autoscaler:<tag>): the
 * autoscaler is released in step with Kubernetes and simulates that minor's scheduler, so it must match the cluster.
 * A minor without an entry cannot enable `autoscaling` unless the cluster gives the image itself.
 * Sources: github.com/kubernetes/autoscaler/releases (cluster-autoscaler-1.36.1, 2026-07-23); v1.35.2 as pinned by
 * digest in published manifests. No 1.37 release was found on KUBERNETES_VERSIONS_UPDATED.
 */
export const CLUSTER_AUTOSCALER_TAGS: Readonly<Record<string, string>> = {
  '1.35': 'v1.35.2',
  '1.36': 'v1.36.1',
};
