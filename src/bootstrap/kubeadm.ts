/**
 * What masters and workers share: the Kubernetes node context (version, CIDRs, package source,
 * image registry, bounds), kubeadm configuration rendering, the package plan and the cloud-config
 * `write_files` entries. Role specifics live in `master.ts` and `worker.ts`.
 *
 * Target images: Ubuntu 24.04 LTS (noble) and Debian 12 (bookworm) cloud images with cloud-init
 * 22.4 or newer, amd64 or arm64 (nothing here is architecture specific: packages come from apt,
 * images are multi-arch).
 */
import { compareStrings } from '../private/compare.js';
import { cidrsOverlap, parseCidr as parseIpv4Cidr, type Ipv4Cidr } from '../private/cidr.js';
import { BootstrapRenderError, renderTemplate } from './render.js';
import { DEFAULT_KUBERNETES_VERSION, resolveKubernetesVersion, type KubernetesMinorInfo } from './kubernetes-versions.js';
import { mirrorImage } from './addons.js';

// ---------------------------------------------------------------------------------------------
// Package source

/**
 * Where kubelet, kubeadm and kubectl come from.
 * - `upstream` (default): the Kubernetes project's apt repository for the cluster's minor
 *   (https://pkgs.k8s.io/core:/stable:/v1.32/deb/), key fetched from the same place.
 * - `mirror`: a mirror of that repository; `aptRepositoryUrl` is the directory holding `InRelease`
 *   (the flat repository root), `aptKeyUrl` its ASCII-armored signing key.
 * - `preinstalled`: the image already has them (air-gapped sites); the bootstrap checks the versions.
 * containerd, curl and ca-certificates come from the image's own distribution archive (cloud-config
 * `packages:`), except in `preinstalled` mode where nothing is installed.
 */
export type PackageSource =
  | { readonly mode: 'upstream' }
  | { readonly mode: 'mirror'; readonly aptRepositoryUrl: string; readonly aptKeyUrl: string }
  | { readonly mode: 'preinstalled' };

/** Upstream repository of a minor. */
export function upstreamAptRepository(minor: string): { repositoryUrl: string; keyUrl: string } {
  const repositoryUrl = `https://pkgs.k8s.io/core:/stable:/v${minor}/deb/`;
  return { repositoryUrl, keyUrl: `${repositoryUrl}Release.key` };
}

/** Distribution packages every Kubernetes node installs through cloud-config `packages:`. */
export const DISTRO_PACKAGES = ['ca-certificates', 'conntrack', 'containerd', 'curl'] as const;

// ---------------------------------------------------------------------------------------------
// Bounds

/** Upper bounds (seconds) of each waiting phase. Each retry loop stops at its bound and signals FAILURE. */
export interface KubeNodeBounds {
  /** Installing kubelet/kubeadm/kubectl (key, apt-get update, install). @default 900 */
  readonly packagesSec: number;
  /** containerd answering after its configuration is written. @default 120 */
  readonly containerdSec: number;
  /** First master: etcd answering its health endpoint with the client certificate. @default 900 */
  readonly etcdWaitSec: number;
  /** First master: `kubeadm init` attempts (each failed attempt reset and retried within this bound). @default 600 */
  readonly initSec: number;
  /** The API answering through the control-plane endpoint (first master after init; joiners before joining). @default 1800 */
  readonly apiWaitSec: number;
  /** `kubeadm join` attempts (each attempt reset and retried within this bound). @default 900 */
  readonly joinSec: number;
  /** First master: applying add-ons. @default 600 */
  readonly addonsSec: number;
  /** Every node: its Node object Ready (and no longer tainted uninitialised by the cloud provider) before SUCCESS. @default 600 */
  readonly nodeReadySec: number;
  /** Signalling Heat (fixed by the common library). */
  readonly signalSec: number;
}

export const DEFAULT_KUBE_NODE_BOUNDS: KubeNodeBounds = {
  packagesSec: 900,
  containerdSec: 120,
  etcdWaitSec: 900,
  initSec: 600,
  apiWaitSec: 1800,
  joinSec: 900,
  addonsSec: 600,
  nodeReadySec: 600,
  signalSec: 120,
};

/** Longest single attempt that can start just before a phase's deadline (curl --max-time 60 for the apt key). */
export const ATTEMPT_OVERSHOOT_SEC = 60;
/**
 * Allowance for what runs before the bootstrap script and is not bounded by it: cloud-init's own
 * stages and the cloud-config `packages:` install of containerd, curl and ca-certificates.
 */
export const CLOUD_INIT_ALLOWANCE_SEC = 600;

/**
 * Longest a node's bootstrap can take before it signals (SUCCESS or FAILURE), from the bounds: the
 * WaitCondition timeout of the role must be at least this, and the stack timeout longer than the
 * longest role. Roles: 'first-master' (etcd wait, init, API, add-ons), 'master' (joins), 'worker'.
 */
export function kubeNodeBudgetSec(bounds: Partial<KubeNodeBounds> | undefined, role: 'first-master' | 'master' | 'worker'): number {
  const b = resolveBounds(bounds);
  const phases =
    role === 'first-master'
      ? [b.packagesSec, b.containerdSec, b.etcdWaitSec, b.initSec, b.apiWaitSec, b.addonsSec, b.nodeReadySec]
      : [b.packagesSec, b.containerdSec, b.apiWaitSec, b.joinSec, b.nodeReadySec];
  const prepareHostSec = 60;
  return CLOUD_INIT_ALLOWANCE_SEC + prepareHostSec + phases.reduce((sum, s) => sum + s + ATTEMPT_OVERSHOOT_SEC, 0) + b.signalSec;
}

function resolveBounds(b: Partial<KubeNodeBounds> | undefined): KubeNodeBounds {
  const out = { ...DEFAULT_KUBE_NODE_BOUNDS, ...(b ?? {}) };
  for (const [k, v] of Object.entries(out)) {
    if (!Number.isInteger(v) || v < 1 || v > 86400) {
      throw new BootstrapRenderError(`bounds.${k} must be an integer number of seconds 1-86400; got ${JSON.stringify(v)}`);
    }
  }
  if (out.signalSec !== DEFAULT_KUBE_NODE_BOUNDS.signalSec) {
    throw new BootstrapRenderError(
      `bounds.signalSec is fixed by the common library at ${DEFAULT_KUBE_NODE_BOUNDS.signalSec}; got ${out.signalSec}`,
    );
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Node context shared by masters and workers

/** A Kubernetes taint (kubeadm `nodeRegistration.taints`). */
export interface NodeTaint {
  readonly key: string;
  readonly value?: string;
  readonly effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

/** Synth-time settings every Kubernetes node (master or worker) needs. */
export interface KubeNodeContext {
  /** Kubernetes cluster name (kubeadm `clusterName`). */
  readonly clusterName: string;
  /** '1.32' or '1.32.5'. @default DEFAULT_KUBERNETES_VERSION */
  readonly kubernetesVersion?: string;
  /** Pod network (flannel Network == kubeadm podSubnet), e.g. 10.244.0.0/16 */
  readonly podCidr: string;
  /** Service network, e.g. 10.96.0.0/12 */
  readonly serviceCidr: string;
  /** @default 'cluster.local' */
  readonly dnsDomain?: string;
  /** @default { mode: 'upstream' } */
  readonly packageSource?: PackageSource;
  /** Debian revision of the pkgs.k8s.io packages (kubelet=1.32.5-<revision>). @default '1.1' */
  readonly packageRevision?: string;
  /** Registry mirror prefix for every image (kubeadm imageRepository, pause, add-ons). @default - upstream registries */
  readonly imageRegistry?: string;
  /** With the OpenStack cloud provider, kubelets run with `--cloud-provider=external`. @default false */
  readonly externalCloudProvider?: boolean;
  /** @default DEFAULT_KUBE_NODE_BOUNDS */
  readonly bounds?: Partial<KubeNodeBounds>;
}

/** The shared context resolved (defaults applied, values checked), as templates see it. */
export interface ResolvedKubeNode {
  readonly clusterName: string;
  readonly kubernetesVersion: string;
  readonly kubernetesVersionTag: string;
  readonly minor: KubernetesMinorInfo;
  readonly kubeadmApiVersion: string;
  readonly podCidr: string;
  readonly serviceCidr: string;
  readonly dnsDomain: string;
  readonly packageMode: PackageSource['mode'];
  readonly aptRepositoryUrl: string;
  readonly aptKeyUrl: string;
  readonly packageVersion: string;
  readonly imageRegistry: string | undefined;
  readonly imageRepository: string;
  readonly pauseImage: string;
  readonly externalCloudProvider: boolean;
  readonly bounds: KubeNodeBounds;
  readonly apiPort: number;
}

/** Parses an IPv4 CIDR (the one IPv4 parser the k8s layer uses too); throws naming the field. */
export function parseCidr(value: string, field: string): Ipv4Cidr {
  const c = parseIpv4Cidr(value);
  if (typeof c !== 'string') return c;
  if (c.startsWith('must be a network address')) {
    throw new BootstrapRenderError(`${field} has host bits set (not a network address); got ${JSON.stringify(value)}`);
  }
  throw new BootstrapRenderError(`${field} must be an IPv4 CIDR like 10.244.0.0/16; got ${JSON.stringify(value)}`);
}

const URL_RE = /^https?:\/\/[^\s'"\\]+$/;
const CLUSTER_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const REGISTRY = /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;

export function resolveKubeNode(ctx: KubeNodeContext): ResolvedKubeNode {
  if (!CLUSTER_NAME.test(ctx.clusterName)) {
    throw new BootstrapRenderError(
      `clusterName must be a DNS label (lower case letters, digits, '-', at most 63); got ${JSON.stringify(ctx.clusterName)}`,
    );
  }
  const { version, info } = resolveKubernetesVersion(ctx.kubernetesVersion ?? DEFAULT_KUBERNETES_VERSION);
  const pod = parseCidr(ctx.podCidr, 'podCidr');
  const svc = parseCidr(ctx.serviceCidr, 'serviceCidr');
  if (cidrsOverlap(pod, svc)) {
    throw new BootstrapRenderError(`podCidr ${ctx.podCidr} and serviceCidr ${ctx.serviceCidr} must not overlap`);
  }
  const dnsDomain = ctx.dnsDomain ?? 'cluster.local';
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(dnsDomain)) {
    throw new BootstrapRenderError(`dnsDomain must be a DNS name like cluster.local; got ${JSON.stringify(dnsDomain)}`);
  }
  const source: PackageSource = ctx.packageSource ?? { mode: 'upstream' };
  let aptRepositoryUrl = '';
  let aptKeyUrl = '';
  if (source.mode === 'upstream') {
    ({ repositoryUrl: aptRepositoryUrl, keyUrl: aptKeyUrl } = upstreamAptRepository(info.minor));
  } else if (source.mode === 'mirror') {
    for (const [k, v] of [
      ['aptRepositoryUrl', source.aptRepositoryUrl],
      ['aptKeyUrl', source.aptKeyUrl],
    ] as const) {
      if (typeof v !== 'string' || !URL_RE.test(v)) {
        throw new BootstrapRenderError(`packageSource.${k} must be an http(s) URL without spaces or quotes; got ${JSON.stringify(v)}`);
      }
    }
    aptRepositoryUrl = source.aptRepositoryUrl.endsWith('/') ? source.aptRepositoryUrl : `${source.aptRepositoryUrl}/`;
    aptKeyUrl = source.aptKeyUrl;
  } else if (source.mode !== 'preinstalled') {
    throw new BootstrapRenderError(
      `packageSource.mode must be upstream, mirror or preinstalled; got ${JSON.stringify((source as { mode: unknown }).mode)}`,
    );
  }
  const revision = ctx.packageRevision ?? '1.1';
  if (!/^[0-9][0-9A-Za-z.+~]*$/.test(revision)) {
    throw new BootstrapRenderError(`packageRevision must be a Debian revision like 1.1; got ${JSON.stringify(revision)}`);
  }
  if (ctx.imageRegistry !== undefined && !REGISTRY.test(ctx.imageRegistry)) {
    throw new BootstrapRenderError(
      `imageRegistry must be a registry prefix like mirror.example.com:5000/k8s (no scheme, no tag); got ${JSON.stringify(ctx.imageRegistry)}`,
    );
  }
  return {
    clusterName: ctx.clusterName,
    kubernetesVersion: version,
    kubernetesVersionTag: `v${version}`,
    minor: info,
    kubeadmApiVersion: info.kubeadmApiVersion,
    podCidr: ctx.podCidr,
    serviceCidr: ctx.serviceCidr,
    dnsDomain,
    packageMode: source.mode,
    aptRepositoryUrl,
    aptKeyUrl,
    packageVersion: `${version}-${revision}`,
    imageRegistry: ctx.imageRegistry,
    imageRepository: ctx.imageRegistry ?? 'registry.k8s.io',
    pauseImage: mirrorImage(`registry.k8s.io/pause:${info.pauseTag}`, ctx.imageRegistry),
    externalCloudProvider: ctx.externalCloudProvider ?? false,
    bounds: resolveBounds(ctx.bounds),
    apiPort: 6443,
  };
}

// ---------------------------------------------------------------------------------------------
// Paths on the node

/** Where the bootstrap puts things on a node. */
export const NODE_PATHS = {
  kubeadmDir: '/etc/kubernetes/hotk8s',
  kubeadmInit: '/etc/kubernetes/hotk8s/kubeadm-init.yaml',
  kubeadmJoin: '/etc/kubernetes/hotk8s/kubeadm-join.yaml',
  addonsDir: '/etc/kubernetes/hotk8s/addons',
  encryptionConfigDir: '/etc/kubernetes/encryption',
  encryptionConfig: '/etc/kubernetes/encryption/config.yaml',
  cloudConf: '/etc/kubernetes/cloud.conf',
  /** The cloud provider's CA bundle given at synth (caCertificate), for the cloud-config Secret. */
  cloudCa: '/etc/kubernetes/cloud-ca.crt',
  containerdConfig: '/etc/containerd/config.toml',
  modulesLoad: '/etc/modules-load.d/hotk8s-kubernetes.conf',
  sysctl: '/etc/sysctl.d/90-hotk8s-kubernetes.conf',
  pki: {
    caCert: '/etc/kubernetes/pki/ca.crt',
    caKey: '/etc/kubernetes/pki/ca.key',
    frontProxyCaCert: '/etc/kubernetes/pki/front-proxy-ca.crt',
    frontProxyCaKey: '/etc/kubernetes/pki/front-proxy-ca.key',
    saKey: '/etc/kubernetes/pki/sa.key',
    saPub: '/etc/kubernetes/pki/sa.pub',
    etcdCaCert: '/etc/kubernetes/pki/etcd/ca.crt',
    apiserverEtcdClientCert: '/etc/kubernetes/pki/apiserver-etcd-client.crt',
    apiserverEtcdClientKey: '/etc/kubernetes/pki/apiserver-etcd-client.key',
  },
} as const;

/** Where the Kubernetes node library is written on every node. */
export const KUBE_NODE_LIBRARY_PATH = '/usr/local/lib/hotk8s/kube-node.sh';

/** The Kubernetes node library (placeholder-free bash, travels compressed). */
export function renderNodeLibrary(node: ResolvedKubeNode): string {
  return renderTemplate('kube/node-lib.sh', { ...node, paths: NODE_PATHS });
}

/** Distribution packages installed through cloud-config (none when everything is preinstalled). */
export function distroPackages(node: ResolvedKubeNode): string[] {
  return node.packageMode === 'preinstalled' ? [] : [...DISTRO_PACKAGES];
}

// ---------------------------------------------------------------------------------------------
// write_files

/** One cloud-config `write_files` entry. */
export interface WriteFile {
  readonly path: string;
  /** Octal mode string, e.g. '0600'. */
  readonly permissions: string;
  /** 'plain': literal text; 'b64': content is base64 (a placeholder whose Heat value is base64); 'gz+b64': compressed static content. */
  readonly encoding: 'plain' | 'b64' | 'gz+b64';
  readonly content: string;
  /** Write in the final stage, after `packages:` (for files under directories or conffiles a package owns). */
  readonly defer: boolean;
}

/** Files every Kubernetes node gets: kernel modules, sysctls, containerd configuration. */
export function commonNodeFiles(node: ResolvedKubeNode): WriteFile[] {
  return [
    { path: NODE_PATHS.modulesLoad, permissions: '0644', encoding: 'plain', defer: false, content: 'overlay\nbr_netfilter\n' },
    {
      path: NODE_PATHS.sysctl,
      permissions: '0644',
      encoding: 'plain',
      defer: false,
      content: 'net.bridge.bridge-nf-call-iptables = 1\nnet.bridge.bridge-nf-call-ip6tables = 1\nnet.ipv4.ip_forward = 1\n',
    },
    {
      path: NODE_PATHS.containerdConfig,
      permissions: '0644',
      encoding: 'plain',
      defer: true,
      content: renderTemplate('kube/containerd-config.toml', { pauseImage: node.pauseImage }),
    },
  ];
}

/** Renders a role's cloud-config part from its package list and files. */
export function renderNodeCloudConfig(
  role: 'master' | 'worker',
  packages: readonly string[],
  files: readonly WriteFile[],
  common: { readonly libPath: string; readonly libGzB64: string },
): string {
  const seen = new Set<string>();
  for (const f of files) {
    if (seen.has(f.path)) throw new BootstrapRenderError(`write_files: path ${f.path} is written twice`);
    seen.add(f.path);
  }
  return renderTemplate('kube/cloud-config.yaml', {
    ...common,
    role,
    hasPackages: packages.length > 0,
    packages,
    files: files.map((f) => ({
      ...f,
      isPlain: f.encoding === 'plain',
      // Explicit indentation indicator (content may start with spaces); strip the final newline
      // when the file has none.
      blockIndicator: f.content.endsWith('\n') ? '|2' : '|2-',
      blockContent: f.content.endsWith('\n') ? f.content.slice(0, -1) : f.content,
      yamlPath: JSON.stringify(f.path),
      yamlPermissions: JSON.stringify(f.permissions),
    })),
  });
}

// ---------------------------------------------------------------------------------------------
// kubeadm configuration

export interface KubeletArg {
  readonly name: string;
  readonly value: string;
}

/** kubelet flags for every node (beyond node-ip, which is deploy-time). */
export function kubeletExtraArgs(node: ResolvedKubeNode, labels: Readonly<Record<string, string>> = {}): KubeletArg[] {
  const args: KubeletArg[] = [];
  if (node.externalCloudProvider) args.push({ name: 'cloud-provider', value: 'external' });
  if (Object.keys(labels).length > 0) args.push({ name: 'node-labels', value: nodeLabelsValue(labels) });
  return args;
}

/** kubelet's `--node-labels` value: `key=value` pairs in key order, comma-separated. */
export function nodeLabelsValue(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels)
    .sort(([a], [b]) => compareStrings(a, b))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function checkQualifiedName(key: string, what: string): void {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : '';
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if ((slash >= 0 && (!DNS_SUBDOMAIN.test(prefix) || prefix.length > 253)) || !LABEL_NAME.test(name)) {
    throw new BootstrapRenderError(
      `${what} key must be [prefix/]name (prefix a DNS subdomain, name 1-63 of [A-Za-z0-9-_.]); got ${JSON.stringify(key)}`,
    );
  }
}

/**
 * Checks node labels the kubelet sets on itself: Kubernetes' NodeRestriction admission lets a kubelet
 * set labels under kubernetes.io/k8s.io only in kubelet.kubernetes.io/ and node.kubernetes.io/ (and a
 * few well-known keys), so e.g. node-role.kubernetes.io/worker would make the kubelet fail to register.
 */
export function checkNodeLabels(labels: Readonly<Record<string, string>>, where: string): void {
  const allowed = new Set([
    'kubernetes.io/hostname',
    'kubernetes.io/arch',
    'kubernetes.io/os',
    'topology.kubernetes.io/region',
    'topology.kubernetes.io/zone',
    'node.kubernetes.io/instance-type',
  ]);
  for (const [k, v] of Object.entries(labels)) {
    checkQualifiedName(k, `${where} label`);
    if (typeof v !== 'string' || !LABEL_VALUE.test(v)) {
      throw new BootstrapRenderError(
        `${where} label ${k}: value must be at most 63 of [A-Za-z0-9-_.], starting and ending alphanumeric; got ${JSON.stringify(v)}`,
      );
    }
    const prefix = k.includes('/') ? k.slice(0, k.lastIndexOf('/')) : '';
    const restricted = prefix === 'kubernetes.io' || prefix === 'k8s.io' || prefix.endsWith('.kubernetes.io') || prefix.endsWith('.k8s.io');
    const permitted =
      allowed.has(k) ||
      prefix === 'kubelet.kubernetes.io' ||
      prefix === 'node.kubernetes.io' ||
      prefix.endsWith('.kubelet.kubernetes.io') ||
      prefix.endsWith('.node.kubernetes.io');
    if (restricted && !permitted) {
      throw new BootstrapRenderError(
        `${where} label ${k}: a kubelet may not set labels under ${prefix} (NodeRestriction admission); use node.kubernetes.io/ or your own prefix, or label the node with kubectl after it joins; got ${JSON.stringify(k)}`,
      );
    }
  }
}

export function checkTaints(taints: readonly NodeTaint[], where: string): void {
  for (const t of taints) {
    checkQualifiedName(t.key, `${where} taint`);
    if (!['NoSchedule', 'PreferNoSchedule', 'NoExecute'].includes(t.effect)) {
      throw new BootstrapRenderError(
        `${where} taint ${t.key}: effect must be NoSchedule, PreferNoSchedule or NoExecute; got ${JSON.stringify(t.effect)}`,
      );
    }
    if (t.value !== undefined && !LABEL_VALUE.test(t.value)) {
      throw new BootstrapRenderError(`${where} taint ${t.key}: value must be at most 63 of [A-Za-z0-9-_.]; got ${JSON.stringify(t.value)}`);
    }
  }
}

/** kubeadm's taint objects (`value` dropped when absent). */
export function taintObjects(taints: readonly NodeTaint[]): Array<Record<string, string>> {
  return taints.map((t): Record<string, string> =>
    t.value === undefined ? { key: t.key, effect: t.effect } : { key: t.key, value: t.value, effect: t.effect },
  );
}
