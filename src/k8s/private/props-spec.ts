/**
 * The declared shape of every public props interface of the Cluster (checked by `check.ts` before any construct reads
 * a prop). Each spec is `Spec<T>` of its interface: a prop added to an interface without a rule here fails `tsc`.
 * To add a prop: add its rule to the spec of its interface (e.g. `WORKER_GROUP_SPEC` for `WorkerGroupOptions`).
 */
import { Construct } from 'constructs';
import type { AutoHealingOptions, AutoscalingOptions } from '../../autoscaling/cluster-autoscaling.js';
import type { CloudProviderMonitor } from '../../bootstrap/addons.js';
import type { EtcdInstall } from '../../bootstrap/etcd.js';
import type { KubeNodeBounds, PackageSource } from '../../bootstrap/kubeadm.js';
import type { ClusterCloudProviderOptions } from '../cloud-provider.js';
import type { ApiLoadBalancerOptions, ClusterProps } from '../cluster.js';
import type { ExistingNetwork } from '../cluster-network.js';
import type { EtcdClusterBackup, EtcdClusterBackupSwift } from '../etcd-cluster.js';
import { EXPOSED_PROTOCOLS, type ExposeNodePortOptions } from '../exposed-application.js';
import { FLANNEL_BACKENDS } from '../flannel-network.js';
import { HEALTH_MONITOR_TYPES, LB_ALGORITHMS, type HealthMonitorOptions } from '../load-balancer-pool.js';
import { OCTAVIA_PROVIDERS } from '../load-balancer.js';
import { NODE_GROUP_LAYOUTS, SERVER_GROUP_POLICIES, type BootVolume, type DataVolume } from '../node-group.js';
import type { WorkerGroupOptions, WorkerRollingUpdate } from '../worker-group.js';
import { TAINT_EFFECTS, type Taint } from './names.js';
import { anyOf, bool, custom, dict, list, num, oneOf, shape, str, strInput, tagged, type Rule } from './check.js';

type Def<T> = NonNullable<T>;
type Obj<T> = Exclude<NonNullable<T>, boolean | string | number>;

const DELETION_POLICY = oneOf(['Snapshot', 'Retain']);
const SERVER_GROUP_POLICY = oneOf([...SERVER_GROUP_POLICIES, false]);
const OCTAVIA_PROVIDER = oneOf(OCTAVIA_PROVIDERS);
const CIDR_LIST = list(str);

export const BOOT_VOLUME_SPEC = shape<BootVolume>({ sizeGiB: num, volumeType: str }, { required: ['sizeGiB'] });
export const DATA_VOLUME_SPEC = shape<DataVolume>(
  { sizeGiB: num, volumeType: str, deletionPolicy: DELETION_POLICY },
  { required: ['sizeGiB'] },
);
export const TAINT_SPEC = shape<Taint>({ key: str, value: str, effect: oneOf(TAINT_EFFECTS) }, { required: ['key', 'effect'] });

export const WORKER_GROUP_SPEC = shape<WorkerGroupOptions>(
  {
    name: str,
    size: num,
    minSize: num,
    maxSize: num,
    flavor: str,
    image: str,
    availabilityZone: str,
    bootVolume: BOOT_VOLUME_SPEC,
    labels: dict(str),
    taints: list(TAINT_SPEC),
    serverGroupPolicy: SERVER_GROUP_POLICY,
    layout: oneOf(NODE_GROUP_LAYOUTS),
    rollingUpdate: shape<WorkerRollingUpdate>({ maxBatchSize: num, pauseSeconds: num }),
    shareMemberTemplates: bool,
  },
  { required: ['name'] },
);

const EXISTING_NETWORK_SPEC = shape<ExistingNetwork>(
  { networkId: strInput, subnetId: strInput, subnetCidr: str },
  { required: ['networkId', 'subnetId', 'subnetCidr'] },
);

const ETCD_INSTALL_SPEC = tagged('mode', {
  download: shape<Extract<EtcdInstall, { mode: 'download' }>>({
    mode: str,
    baseUrl: str,
    sha256: shape<NonNullable<Extract<EtcdInstall, { mode: 'download' }>['sha256']>>({ amd64: str, arm64: str }),
  }),
  preinstalled: shape<Extract<EtcdInstall, { mode: 'preinstalled' }>>({ mode: str, etcdPath: str, etcdctlPath: str }),
});

const ETCD_BACKUP_SPEC = shape<EtcdClusterBackup>({
  schedule: str,
  retain: num,
  randomizedDelaySec: num,
  volumeSizeGiB: num,
  volumeType: str,
  deletionPolicy: DELETION_POLICY,
  swift: shape<EtcdClusterBackupSwift>({ container: str, deleteAfterDays: num }),
});

const ETCD_SPEC = shape<Def<ClusterProps['etcd']>>({
  size: num,
  flavor: str,
  dataVolume: DATA_VOLUME_SPEC,
  serverGroupPolicy: SERVER_GROUP_POLICY,
  install: ETCD_INSTALL_SPEC,
  backup: ETCD_BACKUP_SPEC,
  updatePauseSeconds: num,
  image: str,
});

const MASTERS_SPEC = shape<Def<ClusterProps['masters']>>({
  count: num,
  flavor: str,
  bootVolume: BOOT_VOLUME_SPEC,
  serverGroupPolicy: SERVER_GROUP_POLICY,
  floatingIp: bool,
  updatePauseSeconds: num,
  image: str,
});

type ApiFip = Obj<ApiLoadBalancerOptions['floatingIp']>;
const LOAD_BALANCER_SPEC = shape<ApiLoadBalancerOptions>({
  provider: OCTAVIA_PROVIDER,
  flavor: str,
  floatingIp: anyOf(
    [
      bool,
      shape<Extract<ApiFip, { address: string }>>({ address: str }, { required: ['address'] }),
      shape<Extract<ApiFip, { existingId: string }>>({ existingId: str }, { required: ['existingId'] }),
    ],
    'true, false, { address } or { existingId }',
  ),
  vipAddress: str,
  etcdListener: bool,
});

const FLANNEL_SPEC = shape<Def<ClusterProps['flannel']>>({ podCidr: str, subnetLength: num, backend: oneOf(FLANNEL_BACKENDS) });

const PACKAGE_SOURCE_SPEC = tagged('mode', {
  upstream: shape<Extract<PackageSource, { mode: 'upstream' }>>({ mode: str }),
  mirror: shape<Extract<PackageSource, { mode: 'mirror' }>>(
    { mode: str, aptRepositoryUrl: str, aptKeyUrl: str },
    { required: ['aptRepositoryUrl', 'aptKeyUrl'] },
  ),
  preinstalled: shape<Extract<PackageSource, { mode: 'preinstalled' }>>({ mode: str }),
});

const BOUNDS_SPEC = shape<Partial<KubeNodeBounds>>({
  packagesSec: num,
  containerdSec: num,
  etcdWaitSec: num,
  initSec: num,
  apiWaitSec: num,
  joinSec: num,
  addonsSec: num,
  nodeReadySec: num,
  signalSec: num,
});

const MONITOR_SPEC = shape<CloudProviderMonitor>({ enabled: bool, delaySec: num, timeoutSec: num, maxRetries: num });

const CLOUD_PROVIDER_SPEC = shape<ClusterCloudProviderOptions>({
  authUrl: str,
  region: str,
  octaviaProvider: OCTAVIA_PROVIDER,
  floatingNetworkId: str,
  subnetId: str,
  monitor: MONITOR_SPEC,
  controllerClusterName: str,
  manageSecurityGroups: bool,
  clientCidrs: CIDR_LIST,
  caFile: str,
  caCertificate: str,
  storageClassName: str,
  ignoreVolumeAz: bool,
});

const AGENT_ACCESS = {
  authUrl: str,
  region: str,
  endpointInterface: oneOf(['public', 'internal']),
  agentImage: str,
} as const;

const AUTOSCALING_SPEC = shape<AutoscalingOptions>({
  ...AGENT_ACCESS,
  excludeGroups: list(str),
  expander: oneOf(['least-waste', 'random', 'most-pods']),
  balanceSimilarNodeGroups: bool,
  scaleDown: bool,
  scaleDownUnneededSec: num,
  scaleDownDelayAfterAddSec: num,
  maxNodeProvisionSec: num,
  arch: oneOf(['amd64', 'arm64']),
  image: str,
});

const AUTO_HEALING_SPEC = shape<AutoHealingOptions>({
  ...AGENT_ACCESS,
  excludeGroups: list(str),
  notReadySec: num,
  maxUnhealthy: anyOf([num, str]),
  intervalSec: num,
});

/** Every prop of `new Cluster(scope, id, props)`. */
export const CLUSTER_PROPS_SPEC: Rule = shape<ClusterProps>(
  {
    name: str,
    kubernetesVersion: str,
    image: str,
    keyName: anyOf([str, oneOf([false])], 'a string or false'),
    externalNetwork: str,
    nodeCidr: str,
    dnsNameservers: list(str),
    existingNetwork: EXISTING_NETWORK_SPEC,
    etcd: ETCD_SPEC,
    masters: MASTERS_SPEC,
    loadBalancer: anyOf(
      [oneOf([false]), LOAD_BALANCER_SPEC],
      'false or an options object { provider?, flavor?, floatingIp?, vipAddress?, etcdListener? }',
    ),
    apiAllowedCidrs: CIDR_LIST,
    sshAllowedCidrs: CIDR_LIST,
    flannel: FLANNEL_SPEC,
    serviceCidr: str,
    dnsServiceIp: str,
    workerGroups: list(WORKER_GROUP_SPEC),
    maxResourcesPerStack: num,
    packageSource: PACKAGE_SOURCE_SPEC,
    imageRegistry: str,
    bootstrapBounds: BOUNDS_SPEC,
    cloudProvider: CLOUD_PROVIDER_SPEC,
    autoscaling: AUTOSCALING_SPEC,
    autoHealing: AUTO_HEALING_SPEC,
  },
  { what: 'an object of cluster props' },
);

const HEALTH_MONITOR_SPEC = shape<HealthMonitorOptions>({
  type: oneOf(HEALTH_MONITOR_TYPES),
  delaySec: num,
  timeoutSec: num,
  maxRetries: num,
  urlPath: str,
  expectedCodes: str,
  httpMethod: oneOf(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE']),
});

type AppFip = Obj<ExposeNodePortOptions['floatingIp']>;
/** The options of `cluster.exposeNodePort(name, options)`. */
export const EXPOSE_NODE_PORT_SPEC: Rule = shape<ExposeNodePortOptions>(
  {
    port: num,
    nodePort: num,
    protocol: oneOf(EXPOSED_PROTOCOLS),
    algorithm: oneOf(LB_ALGORITHMS),
    healthMonitor: HEALTH_MONITOR_SPEC,
    sessionPersistence: shape<Def<ExposeNodePortOptions['sessionPersistence']>>(
      { type: oneOf(['SOURCE_IP', 'HTTP_COOKIE', 'APP_COOKIE']), cookieName: str },
      { required: ['type'] },
    ),
    connectionLimit: num,
    allowedCidrs: CIDR_LIST,
    floatingIp: anyOf(
      [
        bool,
        shape<Extract<AppFip, { existingId: string }>>({ existingId: str, address: str }, { required: ['existingId', 'address'] }),
        shape<Exclude<AppFip, { existingId: string }>>({ address: str }, { required: ['address'] }),
      ],
      'true, false, { address } or { existingId, address }',
    ),
    provider: OCTAVIA_PROVIDER,
    flavor: str,
    workerGroups: list(custom('a WorkerGroup construct (cluster.workerGroups)', (v) => v instanceof Construct)),
    urlScheme: str,
  },
  { required: ['port', 'nodePort'] },
);
