/**
 * Kubernetes versions hotk8s can deploy, and what each minor implies for the nodes.
 *
 * One row per supported minor. The kubeadm configuration API is `kubeadm.k8s.io/v1beta4` (the
 * current one since 1.31: structured `extraArgs` lists); the default images follow what `kubeadm
 * config images list` reports for the minor; the OpenStack provider (cloud-controller-manager and
 * Cinder CSI) is released in step with Kubernetes, one minor line per Kubernetes minor.
 *
 * Tags here are defaults: every image reference can be overridden (see `AddonImages`).
 */
import { BootstrapRenderError } from './render.js';

export interface KubernetesMinorInfo {
  /** e.g. '1.32' */
  readonly minor: string;
  /** The patch release used when the cluster names only the minor. */
  readonly defaultVersion: string;
  /** `apiVersion` of the kubeadm configuration documents. */
  readonly kubeadmApiVersion: 'kubeadm.k8s.io/v1beta4';
  /** Tag of registry.k8s.io/pause kubeadm expects for this minor. */
  readonly pauseTag: string;
  /** Tag of registry.k8s.io/coredns/coredns kubeadm deploys for this minor. */
  readonly corednsTag: string;
  /** Release of kubernetes/cloud-provider-openstack matching this minor (CCM and Cinder CSI images). */
  readonly cloudProviderOpenstackTag: string;
}

export const KUBERNETES_MINORS: readonly KubernetesMinorInfo[] = [
  {
    minor: '1.31',
    defaultVersion: '1.31.9',
    kubeadmApiVersion: 'kubeadm.k8s.io/v1beta4',
    pauseTag: '3.10',
    corednsTag: 'v1.11.3',
    cloudProviderOpenstackTag: 'v1.31.2',
  },
  {
    minor: '1.32',
    defaultVersion: '1.32.5',
    kubeadmApiVersion: 'kubeadm.k8s.io/v1beta4',
    pauseTag: '3.10',
    corednsTag: 'v1.11.3',
    cloudProviderOpenstackTag: 'v1.32.0',
  },
  {
    minor: '1.33',
    defaultVersion: '1.33.1',
    kubeadmApiVersion: 'kubeadm.k8s.io/v1beta4',
    pauseTag: '3.10',
    corednsTag: 'v1.12.0',
    cloudProviderOpenstackTag: 'v1.33.0',
  },
  {
    minor: '1.34',
    defaultVersion: '1.34.1',
    kubeadmApiVersion: 'kubeadm.k8s.io/v1beta4',
    pauseTag: '3.10.1',
    corednsTag: 'v1.12.1',
    cloudProviderOpenstackTag: 'v1.34.0',
  },
];

/** The Kubernetes version a cluster gets when it names none. */
export const DEFAULT_KUBERNETES_VERSION = '1.32.5';

const VERSION = /^v?(\d+)\.(\d+)(?:\.(\d+))?$/;

/** A resolved Kubernetes version: the full `x.y.z` and its minor's row. */
export interface ResolvedKubernetesVersion {
  /** '1.32.5' (no leading v) */
  readonly version: string;
  readonly info: KubernetesMinorInfo;
}

/**
 * Resolves '1.32', '1.32.5' or 'v1.32.5' to a full version and its minor's row; throws naming the
 * supported minors when the minor is not in the table.
 */
export function resolveKubernetesVersion(value: string, where = 'kubernetesVersion'): ResolvedKubernetesVersion {
  const m = VERSION.exec(value);
  if (!m) {
    throw new BootstrapRenderError(`${where} must look like 1.32 or 1.32.5; got ${JSON.stringify(value)}`);
  }
  const minor = `${Number(m[1])}.${Number(m[2])}`;
  const info = KUBERNETES_MINORS.find((r) => r.minor === minor);
  if (!info) {
    throw new BootstrapRenderError(
      `${where}: Kubernetes ${minor} is not supported (supported minors: ${KUBERNETES_MINORS.map((r) => r.minor).join(', ')}); got ${JSON.stringify(value)}`,
    );
  }
  const version = m[3] === undefined ? info.defaultVersion : `${minor}.${Number(m[3])}`;
  return { version, info };
}

/**
 * The cluster-autoscaler release for each Kubernetes minor (registry.k8s.io/autoscaling/cluster-autoscaler:<tag>): the
 * autoscaler is released in step with Kubernetes and simulates that minor's scheduler, so it must match the cluster.
 * A minor without an entry cannot enable `autoscaling` unless the cluster gives the image itself.
 */
export const CLUSTER_AUTOSCALER_TAGS: Readonly<Record<string, string>> = {
  '1.31': 'v1.31.2',
  '1.32': 'v1.32.7',
  '1.33': 'v1.33.5',
  '1.34': 'v1.34.4',
};
