/**
 * Cluster add-ons the first master applies: flannel, and with the OpenStack cloud provider the
 * cloud-controller-manager (Service type=LoadBalancer through Octavia) and the Cinder CSI driver
 * with a default StorageClass. Manifests come from our own Handlebars templates under
 * `templates/addons/`; every image reference is configurable for registry mirrors.
 */
import { BootstrapRenderError, renderTemplate } from './render.js';
import type { KubernetesMinorInfo } from './kubernetes-versions.js';

// ---------------------------------------------------------------------------------------------
// Flannel

/** Flannel backends: vxlan (default, works across subnets), host-gw (one L2 segment, fastest), udp (debugging only). */
export type FlannelBackend = 'vxlan' | 'host-gw' | 'udp';

export interface FlannelOptions {
  /** @default 'vxlan' */
  readonly backend?: FlannelBackend;
  /** VXLAN network identifier (vxlan only). @default 1 */
  readonly vxlanVni?: number;
  /** UDP port of the VXLAN or UDP backend. @default 8472 for vxlan, 8285 for udp */
  readonly port?: number;
  /** vxlan only: use direct routes (host-gw style) between nodes on the same subnet. @default false */
  readonly directRouting?: boolean;
  /** Interface flanneld uses (`--iface`); @default - the interface of the default route */
  readonly iface?: string;
}

/** The flannel net-conf.json object for `podCidr` (kube-subnet-mgr mode: no SubnetLen, the controller-manager's `--node-cidr-mask-size` decides). */
export function flannelNetConf(podCidr: string, options: FlannelOptions = {}): Record<string, unknown> {
  const backend = options.backend ?? 'vxlan';
  const b: Record<string, unknown> = { Type: backend };
  if (backend === 'vxlan') {
    b.VNI = options.vxlanVni ?? 1;
    b.Port = options.port ?? 8472;
    if (options.directRouting) b.DirectRouting = true;
  } else if (backend === 'udp') {
    b.Port = options.port ?? 8285;
  } else if (backend !== 'host-gw') {
    throw new BootstrapRenderError(`flannel.backend must be one of vxlan, host-gw, udp; got ${JSON.stringify(backend)}`);
  }
  if (backend !== 'vxlan' && (options.vxlanVni !== undefined || options.directRouting !== undefined)) {
    throw new BootstrapRenderError(`flannel: vxlanVni and directRouting apply to the vxlan backend only; backend is ${backend}`);
  }
  if (backend === 'host-gw' && options.port !== undefined) {
    throw new BootstrapRenderError(`flannel: port applies to the vxlan and udp backends only; backend is host-gw`);
  }
  if (options.port !== undefined && (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535)) {
    throw new BootstrapRenderError(`flannel.port must be an integer 1-65535; got ${options.port}`);
  }
  if (options.vxlanVni !== undefined && (!Number.isInteger(options.vxlanVni) || options.vxlanVni < 1 || options.vxlanVni > 16777215)) {
    throw new BootstrapRenderError(`flannel.vxlanVni must be an integer 1-16777215; got ${options.vxlanVni}`);
  }
  return { Network: podCidr, EnableNFTables: false, Backend: b };
}

/** The CNI configuration flannel installs on every node (flannel delegating to the bridge plugin, plus portmap). */
export function flannelCniConf(): Record<string, unknown> {
  return {
    name: 'cbr0',
    cniVersion: '0.3.1',
    plugins: [
      { type: 'flannel', delegate: { hairpinMode: true, isDefaultGateway: true } },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// OpenStack cloud provider

/** Octavia provider the controller asks for. OVN keeps client addresses (see the exposure docs). */
export type OctaviaProvider = 'amphora' | 'ovn';

export interface CloudProviderMonitor {
  /** @default true */
  readonly enabled?: boolean;
  /** @default 5 */
  readonly delaySec?: number;
  /** @default 3 */
  readonly timeoutSec?: number;
  /** @default 1 */
  readonly maxRetries?: number;
}

/**
 * The OpenStack cloud provider (cloud-controller-manager + Cinder CSI), decided at synth time.
 * String fields may be literal values or placeholder tokens (`placeholder('LB_SUBNET_ID')`) that the
 * construct fills through Heat `str_replace` (e.g. a subnet the stack itself creates). The
 * application credential is always deploy-time: placeholders `__OS_APPLICATION_CREDENTIAL_ID__`
 * and `__OS_APPLICATION_CREDENTIAL_SECRET__`, fed from hidden parameters.
 */
export interface CloudProviderConfig {
  /** Keystone v3 URL, e.g. https://keystone.example.com:5000/v3 */
  readonly authUrl: string;
  /** @default - the credential's default region (no `region=` line) */
  readonly region?: string;
  /** @default 'amphora' */
  readonly octaviaProvider?: OctaviaProvider;
  /** Network the controller takes floating IPs from for Service type=LoadBalancer. */
  readonly floatingNetworkId: string;
  /** Subnet of the nodes, where load balancer VIPs and members go. */
  readonly subnetId: string;
  readonly monitor?: CloudProviderMonitor;
  /** Name the controller uses for its load balancers (`--cluster-name`), so they can be found before stack delete. */
  readonly controllerClusterName: string;
  /** Let the controller manage security-group rules for its load balancers' NodePorts. @default true for ovn, false for amphora */
  readonly manageSecurityGroups?: boolean;
  /**
   * Path of a CA bundle that exists on every node (in the image) for Keystone/Octavia TLS; it is mounted from the
   * host into the cloud-controller-manager and Cinder CSI pods at the same path. @default - the system trust store
   */
  readonly caFile?: string;
  /**
   * A CA bundle (PEM) for Keystone/Octavia TLS, given at synth: it goes into the cloud-config Secret as `ca.crt`, which
   * the pods mount with cloud.conf. Exclusive with `caFile`. @default - the system trust store
   */
  readonly caCertificate?: string;
  /** Name of the default StorageClass. @default 'csi-cinder' */
  readonly storageClassName?: string;
  /** Do not require Cinder volumes in the node's availability zone. @default false */
  readonly ignoreVolumeAz?: boolean;
}

/** Normalized cloud-provider settings (defaults applied), as the templates see them. */
export interface ResolvedCloudProvider {
  readonly authUrl: string;
  readonly region: string;
  readonly lbProvider: OctaviaProvider;
  readonly lbMethod: string;
  readonly floatingNetworkId: string;
  readonly subnetId: string;
  readonly monitor: Required<CloudProviderMonitor>;
  readonly controllerClusterName: string;
  readonly manageSecurityGroups: boolean;
  /** cloud.conf's ca-file, as the pods see it ('' for the system trust store). */
  readonly caFile: string;
  /** The PEM given at synth, for the cloud-config Secret's `ca.crt` ('' when none). */
  readonly caCertificate: string;
  /** A host file the pods mount at the same path (`caFile` given as a path on the nodes; '' when none). */
  readonly caHostFile: string;
  readonly storageClassName: string;
  readonly ignoreVolumeAz: boolean;
}

/** Where the pods find the CA bundle given with `caCertificate` (the cloud-config Secret is mounted at /etc/config). */
export const CLOUD_CA_POD_PATH = '/etc/config/ca.crt';
const PEM_CERTIFICATES = /^(\s*-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----\s*)+$/;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function resolveCloudProvider(c: CloudProviderConfig): ResolvedCloudProvider {
  const need = (field: keyof CloudProviderConfig): string => {
    const v = c[field];
    if (typeof v !== 'string' || v.trim() === '') {
      throw new BootstrapRenderError(
        `cloudProvider.${field} is required (a non-empty string or a placeholder token); got ${JSON.stringify(v)}`,
      );
    }
    if (/[\r\n]/.test(v)) throw new BootstrapRenderError(`cloudProvider.${field} must be one line; got ${JSON.stringify(v)}`);
    return v;
  };
  const provider = c.octaviaProvider ?? 'amphora';
  if (provider !== 'amphora' && provider !== 'ovn') {
    throw new BootstrapRenderError(`cloudProvider.octaviaProvider must be amphora or ovn; got ${JSON.stringify(provider)}`);
  }
  const monitor = {
    enabled: c.monitor?.enabled ?? true,
    delaySec: c.monitor?.delaySec ?? 5,
    timeoutSec: c.monitor?.timeoutSec ?? 3,
    maxRetries: c.monitor?.maxRetries ?? 1,
  };
  for (const k of ['delaySec', 'timeoutSec', 'maxRetries'] as const) {
    if (!Number.isInteger(monitor[k]) || monitor[k] < 1) {
      throw new BootstrapRenderError(`cloudProvider.monitor.${k} must be a positive integer; got ${monitor[k]}`);
    }
  }
  if (monitor.timeoutSec > monitor.delaySec) {
    throw new BootstrapRenderError(
      `cloudProvider.monitor.timeoutSec (${monitor.timeoutSec}) must not exceed delaySec (${monitor.delaySec}) (an Octavia rule)`,
    );
  }
  const storageClassName = c.storageClassName ?? 'csi-cinder';
  if (!DNS_LABEL.test(storageClassName)) {
    throw new BootstrapRenderError(`cloudProvider.storageClassName must be a DNS label; got ${JSON.stringify(storageClassName)}`);
  }
  const controllerClusterName = need('controllerClusterName');
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(controllerClusterName)) {
    throw new BootstrapRenderError(
      `cloudProvider.controllerClusterName must be letters, digits, '.', '_' or '-'; got ${JSON.stringify(controllerClusterName)}`,
    );
  }
  const caCertificate = c.caCertificate ?? '';
  const caHostFile = c.caFile ?? '';
  if (caCertificate !== '' && caHostFile !== '') {
    throw new BootstrapRenderError('cloudProvider: give caCertificate (a PEM bundle) or caFile (a path on the nodes), not both');
  }
  if (caCertificate !== '' && !PEM_CERTIFICATES.test(caCertificate)) {
    throw new BootstrapRenderError('cloudProvider.caCertificate must be one or more PEM certificates (-----BEGIN CERTIFICATE----- ...)');
  }
  if (caHostFile !== '' && !/^\/[^\s'"\\]*[^/\s'"\\]$/.test(caHostFile)) {
    throw new BootstrapRenderError(
      `cloudProvider.caFile must be an absolute path of a file on the nodes; got ${JSON.stringify(caHostFile)}`,
    );
  }
  return {
    authUrl: need('authUrl'),
    region: c.region ?? '',
    lbProvider: provider,
    // OVN's Octavia driver only balances by source IP and port.
    lbMethod: provider === 'ovn' ? 'SOURCE_IP_PORT' : '',
    floatingNetworkId: need('floatingNetworkId'),
    subnetId: need('subnetId'),
    monitor,
    controllerClusterName,
    manageSecurityGroups: c.manageSecurityGroups ?? provider === 'ovn',
    caFile: caCertificate !== '' ? CLOUD_CA_POD_PATH : caHostFile,
    caCertificate: caCertificate === '' ? '' : `${caCertificate.trim()}\n`,
    caHostFile,
    storageClassName,
    ignoreVolumeAz: c.ignoreVolumeAz ?? false,
  };
}

/** Renders cloud.conf (with the application-credential placeholders left in). */
export function renderCloudConf(cp: ResolvedCloudProvider): string {
  return renderTemplate('kube/cloud.conf', cp);
}

// ---------------------------------------------------------------------------------------------
// Images

/** Every image the nodes pull, by role in the cluster. */
export interface AddonImages {
  readonly flannel: string;
  readonly flannelCniPlugin: string;
  readonly openstackCloudControllerManager: string;
  readonly cinderCsiPlugin: string;
  readonly csiAttacher: string;
  readonly csiProvisioner: string;
  readonly csiResizer: string;
  readonly csiLivenessProbe: string;
  readonly csiNodeDriverRegistrar: string;
}

/**
 * Default flannel release (flannel and its CNI plugin image are released together): v0.28.4 with the CNI plugin
 * v1.9.1-flannel1, as of 2026-12-04 (source: flannel's kube-flannel.yml as bumped in lima-vm/lima#4843, 2026-04-24).
 */
export const FLANNEL_IMAGES = {
  flannel: 'ghcr.io/flannel-io/flannel:v0.28.4',
  flannelCniPlugin: 'ghcr.io/flannel-io/flannel-cni-plugin:v1.9.1-flannel1',
} as const;

/**
 * Default CSI sidecar images (kubernetes-csi releases; none has a maximum Kubernetes version). Checked 2026-12-04:
 * node-driver-registrar v2.16.0 (2026-02-12, endoflife.date), livenessprobe v2.15.0 (kubernetes-csi.github.io); no
 * stored source named newer attacher, provisioner or resizer releases than those below.
 */
export const CSI_SIDECAR_IMAGES = {
  csiAttacher: 'registry.k8s.io/sig-storage/csi-attacher:v4.8.1',
  csiProvisioner: 'registry.k8s.io/sig-storage/csi-provisioner:v5.2.0',
  csiResizer: 'registry.k8s.io/sig-storage/csi-resizer:v1.13.2',
  csiLivenessProbe: 'registry.k8s.io/sig-storage/livenessprobe:v2.15.0',
  csiNodeDriverRegistrar: 'registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.16.0',
} as const;

/** The registry host of an image reference ('docker.io' when the reference names none). */
export function imageRegistryHost(ref: string): string {
  const first = ref.split('/')[0] as string;
  return ref.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost') ? first : 'docker.io';
}

/**
 * Rewrites `ref` to come from `registry` (a mirror prefix such as `mirror.example.com:5000/k8s`):
 * the original registry host is replaced, the repository path kept. So registry.k8s.io/pause:3.10
 * becomes mirror.example.com:5000/k8s/pause:3.10, the same layout kubeadm's `imageRepository` uses.
 */
export function mirrorImage(ref: string, registry: string | undefined): string {
  if (!registry) return ref;
  const host = imageRegistryHost(ref);
  const path = ref.startsWith(`${host}/`) ? ref.slice(host.length + 1) : ref;
  return `${registry.replace(/\/+$/, '')}/${path}`;
}

const IMAGE_REF =
  /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;

/** Default images for `info`'s minor, mirrored through `registry`, with per-image overrides (taken verbatim). */
export function resolveAddonImages(
  info: KubernetesMinorInfo,
  registry: string | undefined,
  overrides: Partial<AddonImages> = {},
): AddonImages {
  const cpo = info.cloudProviderOpenstackTag;
  const defaults: AddonImages = {
    ...FLANNEL_IMAGES,
    openstackCloudControllerManager: `registry.k8s.io/provider-os/openstack-cloud-controller-manager:${cpo}`,
    cinderCsiPlugin: `registry.k8s.io/provider-os/cinder-csi-plugin:${cpo}`,
    ...CSI_SIDECAR_IMAGES,
  };
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(defaults)) out[k] = mirrorImage(v, registry);
  for (const [k, v] of Object.entries(overrides)) {
    if (!(k in defaults)) {
      throw new BootstrapRenderError(`images.${k} is not a known image (known: ${Object.keys(defaults).join(', ')})`);
    }
    if (typeof v !== 'string' || !IMAGE_REF.test(v)) {
      throw new BootstrapRenderError(
        `images.${k} must be an image reference like registry.example.com/path/name:tag; got ${JSON.stringify(v)}`,
      );
    }
    out[k] = v;
  }
  return out as unknown as AddonImages;
}

// ---------------------------------------------------------------------------------------------
// Manifests

export interface AddonManifestInput {
  readonly podCidr: string;
  readonly flannel: FlannelOptions;
  readonly images: AddonImages;
  readonly cloudProvider?: ResolvedCloudProvider;
}

/** One manifest file the first master applies, in order. */
export interface AddonManifest {
  /** File name under /etc/kubernetes/hotk8s/addons/ (applied in this order). */
  readonly file: string;
  readonly text: string;
}

/**
 * An add-on file made outside this module (src/autoscaling), applied after the built-in ones. One that holds
 * deploy-time placeholders travels uncompressed, mode 0600 (a Secret's values); the others compressed.
 */
export interface ExtraAddon extends AddonManifest {
  /** The images it pulls, for the bill of materials. */
  readonly images: readonly { readonly image: string; readonly usedBy: string }[];
}

/** The add-on manifests, in apply order. None holds a deploy-time placeholder (they travel compressed). */
export function renderAddonManifests(input: AddonManifestInput): AddonManifest[] {
  const flannelArgs = input.flannel.iface ? [`--iface=${input.flannel.iface}`] : [];
  const out: AddonManifest[] = [
    {
      file: '10-flannel.yaml',
      text: renderTemplate('addons/flannel.yaml', {
        flannelNamespace: 'kube-flannel',
        images: input.images,
        netConfJson: JSON.stringify(flannelNetConf(input.podCidr, input.flannel), null, 2),
        cniConfJson: JSON.stringify(flannelCniConf(), null, 2),
        flannelExtraArgs: flannelArgs,
      }),
    },
  ];
  if (input.cloudProvider) {
    const ctx = {
      images: input.images,
      controllerClusterName: input.cloudProvider.controllerClusterName,
      storageClassName: input.cloudProvider.storageClassName,
      caHostFile: input.cloudProvider.caHostFile,
    };
    out.push(
      { file: '20-openstack-cloud-controller-manager.yaml', text: renderTemplate('addons/openstack-cloud-controller-manager.yaml', ctx) },
      { file: '30-cinder-csi.yaml', text: renderTemplate('addons/cinder-csi.yaml', ctx) },
    );
  }
  return out;
}
