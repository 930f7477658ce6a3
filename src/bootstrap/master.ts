/**
 * Master (control-plane) user-data: containerd and kubelet/kubeadm/kubectl at the cluster version,
 * the pre-distributed CAs (kubeadm's manual certificate distribution for HA), kubeadm configuration
 * with an external etcd, encryption at rest for Secrets, and, on master 0 only, `kubeadm init` and
 * the add-ons (flannel; with the OpenStack cloud provider the cloud-controller-manager, Cinder CSI and
 * a default StorageClass).
 *
 * "First master" is a deploy-time test, not a synth-time role: a ResourceGroup's member template is
 * shared by all members, so every master gets the same user-data and the script compares
 * `__NODE_INDEX__` (the construct passes the group's `%index%`) with 0. Master 0 runs `kubeadm init`;
 * the others wait until the API answers through the control-plane endpoint and `kubeadm join
 * --control-plane` with the same CAs. Manifests are carried by every master (only master 0 applies
 * them) and never by workers.
 *
 * Target images: Ubuntu 24.04 LTS and Debian 12 cloud images with cloud-init (see kubeadm.ts).
 *
 * Bootstrap token. Heat makes it at deploy time (two OS::Heat::RandomString, lowercase letters and
 * digits, 6 and 16 long, joined with '.'), and kubeadm init registers it with `ttl: 0s`: it never
 * expires, so a worker group scaled up months later can still join. The trade-off: whoever obtains
 * it can register nodes until it is deleted. It sits in the nodes' user-data (pods cannot reach the
 * metadata service: see `block_metadata_from_pods`) and is not rotated by stack updates, since a
 * changed user-data would make Heat replace the servers. To rotate: mark the RandomString resources
 * unhealthy and update the stack (with the servers' `user_data_update_policy: IGNORE`, existing nodes
 * stay and only new ones get the new value), then on a master `kubeadm token create <new token> --ttl
 * 0` and `kubeadm token delete <old token id>`; `kubeadm token list` shows what is registered.
 *
 * Add-ons are applied with `kubectl apply` (idempotent) by master 0's first boot only: cloud-init runs
 * user-data once per instance, so a stack update that changes a manifest does not re-apply it unless
 * master 0 is rebuilt. Re-applying on update needs a separate mechanism (not built here).
 */
import {
  BootstrapRenderError,
  buildMultipart,
  commonContext,
  commonTemplateFields,
  findPlaceholders,
  gzipBase64,
  renderTemplate,
  userData,
  type RenderedUserData,
} from './render.js';
import {
  checkNodeLabels,
  checkTaints,
  commonNodeFiles,
  distroPackages,
  KUBE_NODE_LIBRARY_PATH,
  renderNodeLibrary,
  kubeletExtraArgs,
  NODE_PATHS,
  parseCidr,
  renderNodeCloudConfig,
  resolveKubeNode,
  taintObjects,
  type KubeNodeContext,
  type NodeTaint,
  type ResolvedKubeNode,
  type WriteFile,
} from './kubeadm.js';
import { CERT_RENEW_SCRIPT_PATH, renderCertRenewScript } from './cert-renew.js';
import { upgradeAgentFiles } from './upgrade.js';
import {
  renderAddonManifests,
  renderCloudConf,
  resolveAddonImages,
  resolveCloudProvider,
  type AddonImages,
  type AddonManifest,
  type CloudProviderConfig,
  type ExtraAddon,
  type FlannelOptions,
  type ResolvedCloudProvider,
} from './addons.js';

/** Encryption-at-rest provider for Secrets. secretbox (XSalsa20-Poly1305) is preferred; aescbc for FIPS-minded sites. */
export type EncryptionProvider = 'secretbox' | 'aescbc';

/** Synth-time settings of the masters' user-data (deploy-time values: see {@link MASTER_PLACEHOLDERS}). */
export interface MasterUserDataContext extends KubeNodeContext {
  /** Per-node pod subnet size (kube-controller-manager `--node-cidr-mask-size`). @default 24 */
  readonly nodeCidrMaskSize?: number;
  /** @default { backend: 'vxlan' } */
  readonly flannel?: FlannelOptions;
  /** @default 'secretbox' */
  readonly encryptionProvider?: EncryptionProvider;
  /** kubelet graceful node shutdown. @default { totalSec: 60, criticalPodsSec: 20 } */
  readonly gracefulShutdown?: { readonly totalSec: number; readonly criticalPodsSec: number };
  /**
   * Extra subject alternative names of the API server certificate (e.g. the load balancer's floating
   * IP, or a DNS name). Entries may be placeholder tokens the construct fills. The control-plane
   * endpoint address is always included by kubeadm. @default []
   */
  readonly apiServerCertSans?: readonly string[];
  /** Labels the masters' kubelets set on themselves (NodeRestriction rules apply). @default {} */
  readonly labels?: Readonly<Record<string, string>>;
  /** Taints of the masters. @default - kubeadm's node-role.kubernetes.io/control-plane:NoSchedule; [] for schedulable masters */
  readonly taints?: readonly NodeTaint[];
  /** The OpenStack cloud provider (CCM, Cinder CSI, kubelet --cloud-provider=external). @default - none */
  readonly cloudProvider?: CloudProviderConfig;
  /** Per-image overrides, taken verbatim (no mirror rewriting). @default - defaults, through imageRegistry */
  readonly images?: Partial<AddonImages>;
  /** Add-on files made elsewhere (autoscaling), applied after the built-in ones. @default [] */
  readonly extraAddons?: readonly ExtraAddon[];
}

/** Deploy-time placeholders of the masters' user-data and what the construct must give Heat for each. */
export const MASTER_PLACEHOLDERS: Readonly<Record<string, string>> = {
  __NODE_NAME__: 'the server name (used in signal reasons)',
  __SIGNAL_CURL__: "the master's WaitConditionHandle curl_cli",
  __NODE_INDEX__: "the master ResourceGroup's %index% (0 runs kubeadm init and the add-ons)",
  __NODE_ADDRESS__: "this master's fixed IP (advertise address, kubelet node-ip)",
  __API_ADDRESS__: "the control-plane endpoint address: the API load balancer's VIP, or in single-master mode the master's own address",
  __ETCD_ENDPOINTS__: 'comma-separated etcd client URLs, https://<address>:2379 each (list_join of a repeat over the etcd addresses)',
  __BOOTSTRAP_TOKEN__:
    'kubeadm bootstrap token [a-z0-9]{6}.[a-z0-9]{16}: list_join of two OS::Heat::RandomString (lowercase+digits, 6 and 16)',
  __CA_CERT_HASH__: 'ClusterPki.discoveryHash (sha256:<hex>), hidden parameter',
  __K8S_CA_CERT_B64__: 'base64 of ClusterPki.clusterCa.certPem, hidden parameter',
  __K8S_CA_KEY_B64__: 'base64 of ClusterPki.clusterCa.keyPem, hidden parameter',
  __FRONT_PROXY_CA_CERT_B64__: 'base64 of ClusterPki.frontProxyCa.certPem, hidden parameter',
  __FRONT_PROXY_CA_KEY_B64__: 'base64 of ClusterPki.frontProxyCa.keyPem, hidden parameter',
  __SA_KEY_B64__: 'base64 of ClusterPki.serviceAccount.privateKeyPem, hidden parameter',
  __SA_PUB_B64__: 'base64 of ClusterPki.serviceAccount.publicKeyPem, hidden parameter',
  __ETCD_CA_CERT_B64__: 'base64 of ClusterPki.etcdCa.certPem, hidden parameter',
  __APISERVER_ETCD_CLIENT_CERT_B64__: 'base64 of ClusterPki.apiserverEtcdClient.certPem, hidden parameter',
  __APISERVER_ETCD_CLIENT_KEY_B64__: 'base64 of ClusterPki.apiserverEtcdClient.keyPem, hidden parameter',
  __ENCRYPTION_KEY__: 'ClusterPki.encryptionKey (base64 of 32 bytes), hidden parameter',
  __OS_APPLICATION_CREDENTIAL_ID__: 'with cloudProvider: the application credential id, hidden parameter',
  __OS_APPLICATION_CREDENTIAL_SECRET__: 'with cloudProvider: the application credential secret, hidden parameter',
};

/** The masters' settings resolved (defaults applied, checked). */
export interface ResolvedMaster {
  readonly node: ResolvedKubeNode;
  readonly nodeCidrMaskSize: number;
  readonly flannel: FlannelOptions;
  readonly encryptionProvider: EncryptionProvider;
  readonly gracefulShutdown: { readonly totalSec: number; readonly criticalPodsSec: number };
  readonly apiServerCertSans: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  readonly taints: readonly NodeTaint[] | undefined;
  readonly cloudProvider: ResolvedCloudProvider | undefined;
  readonly images: AddonImages;
  readonly extraAddons: readonly ExtraAddon[];
}

export function resolveMaster(ctx: MasterUserDataContext): ResolvedMaster {
  if (ctx.externalCloudProvider !== undefined && ctx.externalCloudProvider !== (ctx.cloudProvider !== undefined)) {
    throw new BootstrapRenderError(
      `externalCloudProvider (${ctx.externalCloudProvider}) contradicts cloudProvider (${ctx.cloudProvider ? 'set' : 'not set'}); on masters it follows cloudProvider, leave it out`,
    );
  }
  const node = resolveKubeNode({ ...ctx, externalCloudProvider: ctx.cloudProvider !== undefined });
  const pod = parseCidr(node.podCidr, 'podCidr');
  const mask = ctx.nodeCidrMaskSize ?? 24;
  if (!Number.isInteger(mask) || mask <= pod.prefix || mask > 30) {
    throw new BootstrapRenderError(
      `nodeCidrMaskSize must be an integer longer than the podCidr prefix (/${pod.prefix}) and at most 30; got ${mask}`,
    );
  }
  const provider = ctx.encryptionProvider ?? 'secretbox';
  if (provider !== 'secretbox' && provider !== 'aescbc') {
    throw new BootstrapRenderError(`encryptionProvider must be secretbox or aescbc; got ${JSON.stringify(provider)}`);
  }
  const gs = ctx.gracefulShutdown ?? { totalSec: 60, criticalPodsSec: 20 };
  if (
    !Number.isInteger(gs.totalSec) ||
    !Number.isInteger(gs.criticalPodsSec) ||
    gs.criticalPodsSec < 0 ||
    gs.totalSec <= gs.criticalPodsSec
  ) {
    throw new BootstrapRenderError(
      `gracefulShutdown: totalSec must be an integer greater than criticalPodsSec (an integer >= 0); got totalSec ${gs.totalSec}, criticalPodsSec ${gs.criticalPodsSec}`,
    );
  }
  const sans = ctx.apiServerCertSans ?? [];
  for (const s of sans) {
    if (typeof s !== 'string' || !/^[A-Za-z0-9_.:*-]+$/.test(s)) {
      throw new BootstrapRenderError(
        `apiServerCertSans entries must be an IP address, a DNS name or a placeholder token; got ${JSON.stringify(s)}`,
      );
    }
  }
  const labels = ctx.labels ?? {};
  checkNodeLabels(labels, 'master');
  const extraAddons = ctx.extraAddons ?? [];
  for (const [i, a] of extraAddons.entries()) {
    if (!/^[4-9]\d-[a-z0-9-]+\.yaml$/.test(a.file) || extraAddons.findIndex((b) => b.file === a.file) !== i) {
      throw new BootstrapRenderError(
        `extraAddons: file names must be unique, 40-99 then a name, e.g. 40-example.yaml; got ${JSON.stringify(a.file)}`,
      );
    }
  }
  if (ctx.taints) checkTaints(ctx.taints, 'master');
  return {
    node,
    nodeCidrMaskSize: mask,
    flannel: ctx.flannel ?? {},
    encryptionProvider: provider,
    gracefulShutdown: gs,
    apiServerCertSans: sans,
    labels,
    taints: ctx.taints,
    cloudProvider: ctx.cloudProvider ? resolveCloudProvider(ctx.cloudProvider) : undefined,
    images: resolveAddonImages(node.minor, node.imageRegistry, ctx.images),
    extraAddons,
  };
}

/** The add-on manifests master 0 applies (rendered, uncompressed), for tests and inspection. */
export function masterAddonManifests(ctx: MasterUserDataContext): AddonManifest[] {
  const m = resolveMaster(ctx);
  return [
    ...renderAddonManifests({ podCidr: m.node.podCidr, flannel: m.flannel, images: m.images, cloudProvider: m.cloudProvider }),
    ...m.extraAddons.map((a) => ({ file: a.file, text: a.text })),
  ];
}

/** The kubeadm configuration documents a master writes (placeholders left in). */
export function renderMasterKubeadmConfigs(m: ResolvedMaster): { init: string; join: string } {
  const ctx = kubeadmTemplateContext(m);
  return {
    init: renderTemplate('kube/kubeadm-init.yaml', ctx),
    join: renderTemplate('kube/kubeadm-join.yaml', { ...ctx, controlPlane: true }),
  };
}

function kubeadmTemplateContext(m: ResolvedMaster): Record<string, unknown> {
  return {
    ...m.node,
    kubeletExtraArgs: kubeletExtraArgs(m.node, m.labels),
    hasMasterTaints: m.taints !== undefined,
    masterTaints: m.taints ? taintObjects(m.taints) : [],
    taintsText: '[]',
    pki: NODE_PATHS.pki,
    apiServerCertSans: m.apiServerCertSans,
    encryptionConfigPath: NODE_PATHS.encryptionConfig,
    encryptionConfigDir: NODE_PATHS.encryptionConfigDir,
    nodeCidrMaskSizeText: String(m.nodeCidrMaskSize),
    gracefulShutdown: m.gracefulShutdown,
  };
}

const PKI_B64: ReadonlyArray<readonly [keyof typeof NODE_PATHS.pki, string, string]> = [
  ['caCert', '__K8S_CA_CERT_B64__', '0644'],
  ['caKey', '__K8S_CA_KEY_B64__', '0600'],
  ['frontProxyCaCert', '__FRONT_PROXY_CA_CERT_B64__', '0644'],
  ['frontProxyCaKey', '__FRONT_PROXY_CA_KEY_B64__', '0600'],
  ['saKey', '__SA_KEY_B64__', '0600'],
  ['saPub', '__SA_PUB_B64__', '0644'],
  ['etcdCaCert', '__ETCD_CA_CERT_B64__', '0644'],
  ['apiserverEtcdClientCert', '__APISERVER_ETCD_CLIENT_CERT_B64__', '0644'],
  ['apiserverEtcdClientKey', '__APISERVER_ETCD_CLIENT_KEY_B64__', '0600'],
];

/** Every file a master's cloud-config writes, in order. */
export function masterFiles(m: ResolvedMaster): WriteFile[] {
  const { init, join } = renderMasterKubeadmConfigs(m);
  const files: WriteFile[] = [
    { path: KUBE_NODE_LIBRARY_PATH, permissions: '0644', encoding: 'gz+b64', defer: false, content: gzipBase64(renderNodeLibrary(m.node)) },
    ...commonNodeFiles(m.node),
    ...upgradeAgentFiles(m.node, 'master'),
    ...PKI_B64.map(([k, ph, mode]): WriteFile => ({
      path: NODE_PATHS.pki[k],
      permissions: mode,
      encoding: 'b64',
      defer: false,
      content: ph,
    })),
    {
      path: CERT_RENEW_SCRIPT_PATH,
      permissions: '0755',
      encoding: 'gz+b64',
      defer: false,
      content: gzipBase64(renderCertRenewScript({ apiPort: m.node.apiPort })),
    },
    { path: NODE_PATHS.kubeadmInit, permissions: '0600', encoding: 'plain', defer: false, content: init },
    { path: NODE_PATHS.kubeadmJoin, permissions: '0600', encoding: 'plain', defer: false, content: join },
    {
      path: NODE_PATHS.encryptionConfig,
      permissions: '0600',
      encoding: 'plain',
      defer: false,
      content: renderTemplate('kube/encryption-config.yaml', { encryptionProvider: m.encryptionProvider }),
    },
  ];
  if (m.cloudProvider) {
    files.push({
      path: NODE_PATHS.cloudConf,
      permissions: '0600',
      encoding: 'plain',
      defer: false,
      content: renderCloudConf(m.cloudProvider),
    });
    if (m.cloudProvider.caCertificate !== '') {
      files.push({
        path: NODE_PATHS.cloudCa,
        permissions: '0644',
        encoding: 'plain',
        defer: false,
        content: m.cloudProvider.caCertificate,
      });
    }
  }
  for (const a of renderAddonManifests({ podCidr: m.node.podCidr, flannel: m.flannel, images: m.images, cloudProvider: m.cloudProvider })) {
    files.push({
      path: `${NODE_PATHS.addonsDir}/${a.file}`,
      permissions: '0644',
      encoding: 'gz+b64',
      defer: false,
      content: gzipBase64(a.text),
    });
  }
  for (const a of m.extraAddons) {
    // a file with deploy-time values (a Secret's) is written as it is, for Heat to substitute, readable by root only
    const deployTime = findPlaceholders(a.text).length > 0;
    files.push({
      path: `${NODE_PATHS.addonsDir}/${a.file}`,
      permissions: deployTime ? '0600' : '0644',
      encoding: deployTime ? 'plain' : 'gz+b64',
      defer: false,
      content: deployTime ? a.text : gzipBase64(a.text),
    });
  }
  return files;
}

/** Renders the masters' user-data (one text for every member of the master group). */
export function renderMasterUserData(ctx: MasterUserDataContext): RenderedUserData {
  const m = resolveMaster(ctx);
  const common = commonTemplateFields(commonContext('master', m.node.podCidr));
  const cloudConfig = renderNodeCloudConfig('master', distroPackages(m.node), masterFiles(m), common);
  const script = renderTemplate('master/bootstrap.sh', {
    ...common,
    ...m.node,
    nodeLibPath: KUBE_NODE_LIBRARY_PATH,
    paths: NODE_PATHS,
    pki: NODE_PATHS.pki,
    pkiFiles: PKI_B64.map(([k]) => NODE_PATHS.pki[k]).join(' '),
    cloudProviderFlag: m.cloudProvider ? 1 : 0,
    cloudCaFlag: m.cloudProvider?.caCertificate ? 1 : 0,
    certRenewPath: CERT_RENEW_SCRIPT_PATH,
  });
  const text = buildMultipart([
    { filename: '10-hotk8s-master.cfg', contentType: 'text/cloud-config', content: cloudConfig },
    { filename: '50-hotk8s-master.sh', contentType: 'text/x-shellscript', content: script },
  ]);
  return userData('master', text);
}
