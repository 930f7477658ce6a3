import { Construct } from 'constructs';
import { Annotations } from '../core/annotations.js';
import { HotError, describeValue } from '../core/errors.js';
import { Fn } from '../core/intrinsics.js';
import { HeatOutput } from '../core/output.js';
import { HeatParameter } from '../core/parameter.js';
import { HeatStack } from '../core/stack.js';
import type { IResolvable, Input } from '../core/tokens.js';
import {
  DEFAULT_KUBERNETES_VERSION,
  KUBERNETES_MINORS,
  pastEndOfLife,
  resolveKubernetesVersion,
} from '../bootstrap/kubernetes-versions.js';
import { resolveEtcdContext, type EtcdInstall } from '../bootstrap/etcd.js';
import { SIGNAL_TOKEN_LIFETIME_SEC, SIGNAL_TOKEN_MARGIN_SEC } from '../bootstrap/render.js';
import { billOfMaterials, type BillOfMaterials } from '../bootstrap/bom.js';
import type { KubeNodeContext, KubeNodeBounds, PackageSource } from '../bootstrap/kubeadm.js';
import { OsHeatRandomString } from '../heat/generated/heat.generated.js';
import { OsNeutronFloatingIP } from '../heat/generated/neutron.generated.js';
import { ClusterAutoscaling, type AutoHealingOptions, type AutoscalingOptions } from '../autoscaling/cluster-autoscaling.js';
import { ClusterCloudProvider, type ClusterCloudProviderOptions } from './cloud-provider.js';
import { ClusterNetwork, type ExistingNetwork } from './cluster-network.js';
import { ClusterSecurityGroups } from './cluster-security-groups.js';
import { DEFAULT_ETCD_UPDATE_PAUSE_SEC, EtcdCluster, SERVER_BOOT_ALLOWANCE_SEC, wrap, type EtcdClusterBackup } from './etcd-cluster.js';
import { ExposedApplication, type ExposeNodePortOptions } from './exposed-application.js';
import { FlannelNetwork, type FlannelBackend } from './flannel-network.js';
import { LoadBalancer, type OctaviaProvider } from './load-balancer.js';
import type { LoadBalancerPool } from './load-balancer-pool.js';
import { DEFAULT_MASTER_UPDATE_PAUSE_SEC, MasterGroup } from './master-group.js';
import type { BootVolume, DataVolume, NodeGroup, ServerGroupPolicy } from './node-group.js';
import { capacityAtMax, heatConfLines, heatSettingsNeeded, type CapacityAtMax } from './private/capacity.js';
import { cidrContains, cidrsOverlap, formatIpv4, nthAddress, parseCidr, parseIpv4, type Ipv4Cidr } from '../private/cidr.js';
import { checkProps } from './private/check.js';
import { checkDnsLabel, checkInt } from './private/names.js';
import { CLUSTER_PROPS_SPEC, EXPOSE_NODE_PORT_SPEC, WORKER_GROUP_SPEC } from './private/props-spec.js';
import { roleImage } from './private/role-image.js';
import { memberTemplateSharing } from './private/member-sharing.js';
import { ClusterSecrets } from './private/secrets.js';
import { WorkerGroup, type WorkerGroupOptions } from './worker-group.js';

export { DEFAULT_KUBERNETES_VERSION };

/** The API load balancer. */
export interface ApiLoadBalancerOptions {
  /** @default 'amphora' */
  readonly provider?: OctaviaProvider;
  /** Octavia flavor (amphora only). @default - the cloud's default */
  readonly flavor?: string;
  /**
   * A floating IP for the API: true for a new one from the external network, `{ address }` for a given address
   * (new, from the external network), `{ existingId }` for one the project owns.
   * @default true
   */
  readonly floatingIp?: boolean | { readonly address: string } | { readonly existingId: string };
  /**
   * The VIP when the subnet is reused (must be free and outside the allocation pool). Without it nodes learn the
   * API address from the load balancer, so they wait for it (a synth warning says so).
   * @default - a reserved address of the subnet hotk8s creates
   */
  readonly vipAddress?: string;
  /** A second listener (2379) for etcd clients outside the cluster. @default false */
  readonly etcdListener?: boolean;
}

export interface ClusterProps {
  /** Cluster name (DNS label, at most 40 characters): server names, Kubernetes cluster name. @default - the stack name */
  readonly name?: string;
  /** '1.32' or '1.32.5'. @default DEFAULT_KUBERNETES_VERSION (one place, in src/bootstrap/kubernetes-versions.ts) */
  readonly kubernetesVersion?: string;
  /** Glance image of every node (parameter `image`). @default - a required parameter */
  readonly image?: string;
  /** Nova key pair (parameter `key_name`); false for none. @default - a required parameter */
  readonly keyName?: string | false;
  /** External network for the router and floating IPs (parameter `external_network`). @default - a required parameter */
  readonly externalNetwork?: string;
  /** Node subnet CIDR when hotk8s creates the network. @default '10.0.0.0/24' */
  readonly nodeCidr?: string;
  /** DNS servers of the new subnet. @default - Neutron's DHCP resolver */
  readonly dnsNameservers?: string[];
  /** Reuse a network and subnet. @default - create them with a router */
  readonly existingNetwork?: ExistingNetwork;
  /** etcd: @default { size: 3 } */
  readonly etcd?: {
    readonly size?: number;
    readonly flavor?: string;
    readonly dataVolume?: DataVolume;
    readonly serverGroupPolicy?: ServerGroupPolicy | false;
    readonly install?: EtcdInstall;
    /** Scheduled snapshots on every member, to a backup volume each (README "etcd backups"). @default - none */
    readonly backup?: EtcdClusterBackup;
    /** Seconds between two members of a rolling update (parameter `etcd_update_pause`). @default 300 */
    readonly updatePauseSeconds?: number;
    /** Glance image of the etcd members (parameter `etcd_image`, empty: the `image` parameter). @default - `image` */
    readonly image?: string;
  };
  /** Masters: @default { count: 3 } */
  readonly masters?: {
    readonly count?: number;
    readonly flavor?: string;
    readonly bootVolume?: BootVolume;
    readonly serverGroupPolicy?: ServerGroupPolicy | false;
    /** Single-master mode only: a floating IP on the master. @default true when there is no load balancer */
    readonly floatingIp?: boolean;
    /** Seconds between two masters of a rolling update (parameter `master_update_pause`). @default 300 */
    readonly updatePauseSeconds?: number;
    /** Glance image of the masters (parameter `master_image`, empty: the `image` parameter). @default - `image` */
    readonly image?: string;
  };
  /** The API load balancer, or false for the single-master mode. @default {} (amphora, new floating IP) */
  readonly loadBalancer?: ApiLoadBalancerOptions | false;
  /** Client CIDRs admitted to the API (parameter `api_allowed_cidrs`). @default ['0.0.0.0/0'] */
  readonly apiAllowedCidrs?: string[];
  /** CIDRs admitted to SSH on every node (parameter `ssh_allowed_cidrs`). @default [] */
  readonly sshAllowedCidrs?: string[];
  /** Flannel. @default { podCidr: '10.244.0.0/16', subnetLength: 24, backend: 'vxlan' } */
  readonly flannel?: { readonly podCidr?: string; readonly subnetLength?: number; readonly backend?: FlannelBackend };
  /** Service CIDR. @default '10.96.0.0/12' */
  readonly serviceCidr?: string;
  /** The cluster DNS service address; must lie in the service CIDR. @default - the 10th address of the service CIDR */
  readonly dnsServiceIp?: string;
  /** Worker groups. @default [{ name: 'default', size: 3 }] */
  readonly workerGroups?: readonly WorkerGroupOptions[];
  /** Heat's max_resources_per_stack of the target cloud (nested resources count). @default 1000 */
  readonly maxResourcesPerStack?: number;
  /** Node package source. @default { mode: 'upstream' } */
  readonly packageSource?: PackageSource;
  /** Registry mirror prefix for every image. @default - upstream registries */
  readonly imageRegistry?: string;
  /** Bounds of the node bootstrap's waits. @default DEFAULT_KUBE_NODE_BOUNDS */
  readonly bootstrapBounds?: Partial<KubeNodeBounds>;
  /**
   * The OpenStack cloud provider: the cloud-controller-manager (Service type=LoadBalancer through Octavia) and Cinder
   * CSI, with kubelets on `--cloud-provider=external`; the operator gives the application credential at create time.
   * @default - none
   */
  readonly cloudProvider?: ClusterCloudProviderOptions;
  /**
   * The upstream cluster-autoscaler scales the worker groups through stack updates (src/autoscaling); the operator gives
   * an application credential at create time. @default - none
   */
  readonly autoscaling?: AutoscalingOptions;
  /** Failed workers are replaced through stack updates (src/autoscaling). @default - none */
  readonly autoHealing?: AutoHealingOptions;
}

/** The Cluster a root stack holds, by stack. */
const CLUSTER_OF_STACK = new WeakMap<HeatStack, string>();

/**
 * A Kubernetes cluster: network, per-role security groups, flannel, a static etcd cluster, masters behind an Octavia
 * API load balancer and any number of worker groups, with safe defaults (3 etcd, 3 masters, a load balancer, one
 * group of 3 workers, vxlan). Site values are HOT parameters with constraints and groups for Horizon.
 */
export class Cluster extends Construct {
  public readonly name: string;
  public readonly kubernetesVersion: string;
  public readonly network: ClusterNetwork;
  public readonly securityGroups: ClusterSecurityGroups;
  public readonly flannel: FlannelNetwork;
  public readonly etcd: EtcdCluster;
  public readonly masters: MasterGroup;
  public readonly loadBalancer?: LoadBalancer;
  public readonly apiPool?: LoadBalancerPool;
  public readonly serviceCidr: Ipv4Cidr;
  /** The OpenStack cloud provider, when `cloudProvider` is set. */
  public readonly cloudProvider?: ClusterCloudProvider;
  /** Autoscaling and healing, when `autoscaling` or `autoHealing` is set. */
  public readonly autoscaling?: ClusterAutoscaling;
  /** The API address nodes use (deploy time or synth time). */
  public readonly apiAddress: Input<string>;
  /** The API address clients use (floating IP when there is one). */
  public readonly apiPublicAddress: Input<string>;
  public readonly parameters: {
    readonly image: HeatParameter;
    readonly keyName?: HeatParameter;
    readonly externalNetwork?: HeatParameter;
    readonly etcdFlavor: HeatParameter;
    readonly masterFlavor: HeatParameter;
    readonly apiAllowedCidrs: HeatParameter;
    readonly sshAllowedCidrs: HeatParameter;
  };
  private readonly workerGroupMap = new Map<string, WorkerGroup>();
  /** Worker node groups by member-template shape (see WorkerGroupProps.memberTemplates). */
  private readonly workerMemberTemplates = new Map<string, Map<string, NodeGroup>>();
  private readonly secrets: ClusterSecrets;
  private readonly bootstrapToken: IResolvable;
  private readonly kubeContext: KubeNodeContext;
  private readonly maxResources: number;
  private readonly announced = new Set<string>();
  private readonly applications = new Map<string, ExposedApplication>();
  /** Applications exposed on every worker group (no `workerGroups` option): groups added later join them. */
  private readonly applicationsOnAllGroups: ExposedApplication[] = [];
  private externalNetworkParameter?: HeatParameter;
  private readonly externalNetworkName?: string;
  private readonly defaultOctaviaProvider: OctaviaProvider;

  constructor(scope: Construct, id: string, props: ClusterProps = {}) {
    super(scope, id);
    const path = this.node.path;
    const stack = HeatStack.of(this);
    if (stack.isNested) throw new HotError(path, 'a Cluster belongs in a root stack');
    // every prop's shape and type, by one declared spec (src/k8s/private/props-spec.ts); semantic rules follow
    checkProps(path, 'props', CLUSTER_PROPS_SPEC, props);
    // its parameters, outputs, secrets and bom.json artifact have fixed names in the stack: one cluster per stack
    const other = CLUSTER_OF_STACK.get(stack);
    if (other) {
      throw new HotError(
        path,
        `one Cluster per stack: stack ${stack.node.path} already holds the Cluster ${other}; put each cluster in its own HeatStack`,
      );
    }
    CLUSTER_OF_STACK.set(stack, path);
    this.name = checkDnsLabel(path, 'name', props.name ?? stack.stackName, 40);
    try {
      const resolved = resolveKubernetesVersion(props.kubernetesVersion ?? DEFAULT_KUBERNETES_VERSION);
      this.kubernetesVersion = resolved.version;
      const eol = pastEndOfLife(resolved.info);
      if (eol) {
        Annotations.of(this).addWarning(
          `Kubernetes ${resolved.info.minor} reached its end of life on ${eol} and gets no more fixes; choose a maintained minor (${
            KUBERNETES_MINORS.filter((r) => !pastEndOfLife(r))
              .map((r) => r.minor)
              .join(', ') || 'update hotk8s'
          })`,
        );
      }
    } catch (e) {
      throw wrap(path, e);
    }
    this.maxResources = checkInt(path, 'maxResourcesPerStack', props.maxResourcesPerStack ?? 1000, 1);
    const svc = parseCidr(props.serviceCidr ?? '10.96.0.0/12');
    if (typeof svc === 'string') throw new HotError(path, `serviceCidr ${svc}`);
    this.serviceCidr = svc;
    // kubeadm puts the cluster DNS service at the tenth address of the service CIDR and gives the kubelets that address
    const kubeadmDnsIp = formatIpv4(nthAddress(svc, 10));
    if (props.dnsServiceIp !== undefined) {
      const dnsIpNum = parseIpv4(props.dnsServiceIp);
      if (dnsIpNum === undefined || !cidrContains(svc, dnsIpNum)) {
        throw new HotError(
          path,
          `dnsServiceIp must be an address inside serviceCidr ${svc.text}; got ${describeValue(props.dnsServiceIp)}`,
        );
      }
      if (props.dnsServiceIp !== kubeadmDnsIp) {
        throw new HotError(
          path,
          `dnsServiceIp must be ${kubeadmDnsIp}, the tenth address of serviceCidr ${svc.text}, where kubeadm places the cluster DNS; got ${describeValue(props.dnsServiceIp)}`,
        );
      }
    }
    checkShape(path, props);
    const lbOptions = props.loadBalancer === undefined ? {} : props.loadBalancer;
    const masterCount = props.masters?.count ?? (lbOptions === false ? 1 : 3);
    if (lbOptions === false && masterCount > 1) {
      throw new HotError(
        path,
        `several masters (${masterCount}) need the API load balancer; set masters.count to 1 or remove loadBalancer: false`,
      );
    }
    if (lbOptions !== false && props.masters?.floatingIp !== undefined) {
      throw new HotError(
        path,
        'masters.floatingIp applies to the single-master mode (loadBalancer: false); with a load balancer use loadBalancer.floatingIp',
      );
    }

    // ---------------------------------------------------------------- parameters
    const image = new HeatParameter(this, 'Image', {
      name: 'image',
      type: 'string',
      label: 'Image',
      description:
        'Glance image of every node without an image of its own (etcd_image, master_image, workers_<group>_image): Ubuntu LTS or Debian with cloud-init',
      constraints: [{ customConstraint: 'glance.image' }],
      value: props.image,
    });
    const etcdImage = roleImage(this, 'EtcdImage', 'etcd_image', 'the etcd members', image, props.etcd?.image);
    const masterImage = roleImage(this, 'MasterImage', 'master_image', 'the masters', image, props.masters?.image);
    const keyName =
      props.keyName === false
        ? undefined
        : new HeatParameter(this, 'KeyName', {
            name: 'key_name',
            type: 'string',
            label: 'Key pair',
            description: 'Nova key pair for SSH to the nodes',
            constraints: [{ customConstraint: 'nova.keypair' }],
            value: props.keyName,
          });
    const needsExternal =
      !props.existingNetwork ||
      (lbOptions !== false &&
        (lbOptions.floatingIp ?? true) !== false &&
        !(typeof lbOptions.floatingIp === 'object' && 'existingId' in lbOptions.floatingIp)) ||
      (lbOptions === false && props.masters?.floatingIp !== false);
    const externalNetwork = needsExternal
      ? new HeatParameter(this, 'ExternalNetwork', {
          name: 'external_network',
          type: 'string',
          label: 'External network',
          description: 'Network of the router gateway and floating IPs',
          constraints: [{ customConstraint: 'neutron.network' }],
          value: props.externalNetwork,
        })
      : undefined;
    const etcdFlavor = new HeatParameter(this, 'EtcdFlavor', {
      name: 'etcd_flavor',
      type: 'string',
      label: 'etcd flavor',
      description: 'Nova flavor of the etcd members',
      constraints: [{ customConstraint: 'nova.flavor' }],
      value: props.etcd?.flavor,
    });
    const masterFlavor = new HeatParameter(this, 'MasterFlavor', {
      name: 'master_flavor',
      type: 'string',
      label: 'Master flavor',
      description: 'Nova flavor of the control-plane nodes',
      constraints: [{ customConstraint: 'nova.flavor' }],
      value: props.masters?.flavor,
    });
    const pauseParameter = (id: string, role: string, what: string, value: number) =>
      new HeatParameter(this, id, {
        name: `${role}_update_pause`,
        type: 'number',
        label: `${what} rolling update pause`,
        description: `Seconds between two ${what} members of a rolling update (a new image or flavor updates them one at a time)`,
        constraints: [{ range: { min: 0, max: 3600 } }],
        default: checkInt(path, `${role === 'etcd' ? 'etcd' : 'masters'}.updatePauseSeconds`, value, 0, 3600),
      });
    const etcdPause = pauseParameter('EtcdUpdatePause', 'etcd', 'etcd', props.etcd?.updatePauseSeconds ?? DEFAULT_ETCD_UPDATE_PAUSE_SEC);
    const masterPause = pauseParameter(
      'MasterUpdatePause',
      'master',
      'master',
      props.masters?.updatePauseSeconds ?? DEFAULT_MASTER_UPDATE_PAUSE_SEC,
    );
    if (props.apiAllowedCidrs !== undefined && props.apiAllowedCidrs.length === 0) {
      // Octavia reads an empty allowed_cidrs as "no restriction": an empty list would open the API to everyone
      throw new HotError(path, `apiAllowedCidrs must name at least one CIDR (Octavia treats an empty list as allow-all); got []`);
    }
    const apiAllowed = new HeatParameter(this, 'ApiAllowedCidrs', {
      name: 'api_allowed_cidrs',
      type: 'comma_delimited_list',
      label: 'API clients',
      description: "CIDRs allowed to reach the Kubernetes API (the nodes' subnet is always admitted)",
      value: props.apiAllowedCidrs ?? ['0.0.0.0/0'],
      constraints: [{ length: { min: 1 }, description: 'name at least one CIDR: an empty list would allow everyone' }],
    });
    const sshAllowed = new HeatParameter(this, 'SshAllowedCidrs', {
      name: 'ssh_allowed_cidrs',
      type: 'comma_delimited_list',
      label: 'SSH clients',
      description: 'CIDRs allowed to SSH to the nodes (empty: none)',
      value: props.sshAllowedCidrs ?? [],
    });
    for (const c of [...(props.apiAllowedCidrs ?? []), ...(props.sshAllowedCidrs ?? [])]) {
      const r = parseCidr(c);
      if (typeof r === 'string') throw new HotError(path, `apiAllowedCidrs and sshAllowedCidrs entries ${r}`);
    }
    this.parameters = {
      image,
      keyName,
      externalNetwork,
      etcdFlavor,
      masterFlavor,
      apiAllowedCidrs: apiAllowed,
      sshAllowedCidrs: sshAllowed,
    };
    this.externalNetworkParameter = externalNetwork;
    this.externalNetworkName = props.externalNetwork;
    this.defaultOctaviaProvider = lbOptions === false ? 'amphora' : (lbOptions.provider ?? 'amphora');

    // ---------------------------------------------------------------- network, security, flannel
    this.network = new ClusterNetwork(this, 'Network', {
      namePrefix: this.name,
      cidr: props.existingNetwork ? undefined : props.nodeCidr,
      dnsNameservers: props.dnsNameservers,
      externalNetwork: props.existingNetwork ? undefined : externalNetwork?.value,
      existing: props.existingNetwork,
    });
    if (props.existingNetwork && props.nodeCidr !== undefined)
      throw new HotError(
        path,
        'nodeCidr applies to a network hotk8s creates; the existing subnet has its own CIDR (existingNetwork.subnetCidr)',
      );
    this.securityGroups = new ClusterSecurityGroups(this, 'SecurityGroups', { namePrefix: this.name, sshCidrs: sshAllowed.value });
    this.flannel = new FlannelNetwork(this, 'Flannel', { ...props.flannel, securityGroups: this.securityGroups });
    this.checkCidrs();
    this.secrets = new ClusterSecrets(this, 'Secrets', this.name, this.kubernetesVersion);
    const tokenId = new OsHeatRandomString(this, 'BootstrapTokenId', {
      length: 6,
      characterClasses: [
        { class: 'lowercase', min: 1 },
        { class: 'digits', min: 1 },
      ],
    });
    const tokenSecret = new OsHeatRandomString(this, 'BootstrapTokenSecret', {
      length: 16,
      characterClasses: [
        { class: 'lowercase', min: 1 },
        { class: 'digits', min: 1 },
      ],
    });
    this.bootstrapToken = Fn.join('.', [tokenId.attrValue, tokenSecret.attrValue]);

    // ---------------------------------------------------------------- API endpoint
    let apiAddress: Input<string> | undefined;
    let apiPublic: Input<string> | undefined;
    if (lbOptions !== false) {
      let vip = this.network.reserveAddress('api');
      if (lbOptions.vipAddress !== undefined) {
        if (this.network.created)
          throw new HotError(
            path,
            `loadBalancer.vipAddress is for a reused subnet; hotk8s reserves ${vip} in the subnet it creates; got ${lbOptions.vipAddress}`,
          );
        if (!this.network.contains(lbOptions.vipAddress))
          throw new HotError(
            path,
            `loadBalancer.vipAddress must lie in the subnet ${this.network.cidr.text}; got ${describeValue(lbOptions.vipAddress)}`,
          );
        vip = lbOptions.vipAddress;
      }
      const fipOpt = lbOptions.floatingIp ?? true;
      const provider = lbOptions.provider ?? 'amphora';
      this.loadBalancer = new LoadBalancer(this, 'ApiLoadBalancer', {
        vipSubnet: this.network.subnetId,
        vipAddress: vip,
        provider,
        flavor: lbOptions.flavor,
        name: `${this.name}-api`,
        floatingIpDependsOn: this.network.routerInterface ? [this.network.routerInterface] : [],
        floatingIp:
          fipOpt === false
            ? undefined
            : fipOpt === true
              ? { network: externalNetwork!.value }
              : 'existingId' in fipOpt
                ? { existingId: fipOpt.existingId }
                : { network: externalNetwork!.value, address: fipOpt.address },
      });
      const listener = this.loadBalancer.addListener('Api', {
        port: 6443,
        protocol: 'TCP',
        // every node reaches the API through the VIP from its own address in the node subnet (an existing subnet
        // included): that subnet is always admitted, whatever api_allowed_cidrs says (ovn keeps client addresses and
        // the masters' security group admits the subnet; see trafficSources below)
        allowedCidrs:
          provider === 'amphora' ? (Fn.listConcatUnique(apiAllowed.value, [this.network.cidr.text]) as unknown as string[]) : undefined,
      });
      // amphora probes the apiserver's readiness over HTTPS (anonymous /readyz); ovn monitors only TCP
      this.apiPool = listener.addPool({
        healthMonitor:
          provider === 'ovn'
            ? { type: 'TCP', delaySec: 5, timeoutSec: 5, maxRetries: 3 }
            : { type: 'HTTPS', urlPath: '/readyz', expectedCodes: '200', delaySec: 5, timeoutSec: 5, maxRetries: 3 },
      });
      const sources = listener.trafficSources(this.network.cidr.text, apiAllowed.value);
      for (const c of sources.cidrs)
        this.securityGroups.allowFromCidr(
          'master',
          c,
          { protocol: 'tcp', port: 6443, description: `kube-apiserver from the ${provider} load balancer (members' subnet)` },
          'master-api-from-lb-subnet',
        );
      if (sources.clientCidrs)
        this.securityGroups.allowFromCidrList(
          'master',
          sources.clientCidrs,
          { protocol: 'tcp', port: 6443, description: 'kube-apiserver from API clients (ovn keeps client addresses)' },
          'ApiClients',
          `${this.name}-api-clients`,
        );
      if (vip === undefined) {
        Annotations.of(this).addWarning(
          'the subnet is reused and no loadBalancer.vipAddress is given: every node learns the API address from the load balancer, so node creation waits for it (about two minutes more); give a free address outside the allocation pool as loadBalancer.vipAddress to avoid this',
        );
      }
      apiAddress = vip ?? this.loadBalancer.vipAddress;
      apiPublic = this.loadBalancer.floatingIp ? this.loadBalancer.floatingIp.attrFloatingIpAddress : apiAddress;
    } else {
      this.securityGroups.allowFromCidrList(
        'master',
        apiAllowed.value,
        { protocol: 'tcp', port: 6443, description: 'kube-apiserver from API clients (single master, no load balancer)' },
        'ApiClients',
        `${this.name}-api-clients`,
      );
    }

    if (props.cloudProvider !== undefined) {
      if (typeof props.cloudProvider !== 'object' || props.cloudProvider === null || Array.isArray(props.cloudProvider)) {
        throw new HotError(
          path,
          `cloudProvider must be an object ({ authUrl?, octaviaProvider?, ... }); got ${describeValue(props.cloudProvider)}`,
        );
      }
      this.cloudProvider = new ClusterCloudProvider(this, 'CloudProvider', {
        ...props.cloudProvider,
        clusterName: this.name,
        network: this.network,
        securityGroups: this.securityGroups,
        defaultProvider: this.defaultOctaviaProvider,
      });
    }
    if (props.autoscaling !== undefined || props.autoHealing !== undefined) {
      this.autoscaling = new ClusterAutoscaling(this, 'Autoscaling', {
        clusterName: this.name,
        kubernetesVersion: this.kubernetesVersion,
        imageRegistry: props.imageRegistry,
        autoscaling: props.autoscaling,
        autoHealing: props.autoHealing,
        workerGroups: () => this.workerGroups,
        authUrlParameter: this.cloudProvider?.parameters.authUrl,
        cloudControllerManager: this.cloudProvider !== undefined,
      });
    }
    const kubeContext: KubeNodeContext = {
      clusterName: this.name,
      kubernetesVersion: this.kubernetesVersion,
      podCidr: this.flannel.podCidr.text,
      serviceCidr: svc.text,
      packageSource: props.packageSource,
      imageRegistry: props.imageRegistry,
      bounds: props.bootstrapBounds,
      ...(this.cloudProvider ? { externalCloudProvider: true } : {}),
    };
    this.kubeContext = kubeContext;

    // ---------------------------------------------------------------- etcd, masters
    this.etcd = new EtcdCluster(this, 'Etcd', {
      clusterName: this.name,
      kubernetesVersion: this.kubernetesVersion,
      podCidr: this.flannel.podCidr.text,
      size: props.etcd?.size,
      network: this.network,
      securityGroups: this.securityGroups,
      secrets: this.secrets,
      flavor: etcdFlavor.value,
      image: etcdImage.value,
      keyName: keyName?.value,
      serverGroupPolicy: props.etcd?.serverGroupPolicy,
      dataVolume: props.etcd?.dataVolume,
      install: props.etcd?.install,
      backup: props.etcd?.backup,
      updatePauseSeconds: etcdPause.value as unknown as number,
    });
    let masterFip: OsNeutronFloatingIP | undefined;
    if (lbOptions === false && props.masters?.floatingIp !== false) {
      masterFip = new OsNeutronFloatingIP(this, 'MasterFloatingIp', { floatingNetwork: externalNetwork!.value });
      if (this.network.routerInterface) masterFip.addDependency(this.network.routerInterface);
    }
    const publicSan = this.loadBalancer?.floatingIp?.attrFloatingIpAddress ?? masterFip?.attrFloatingIpAddress;
    this.masters = new MasterGroup(this, 'Control', {
      clusterName: this.name,
      count: masterCount,
      network: this.network,
      securityGroups: this.securityGroups,
      secrets: this.secrets,
      flavor: masterFlavor.value,
      image: masterImage.value,
      keyName: keyName?.value,
      serverGroupPolicy: props.masters?.serverGroupPolicy,
      bootVolume: props.masters?.bootVolume,
      updatePauseSeconds: masterPause.value as unknown as number,
      allowedAddressPairs: this.flannel.allowedAddressPairs,
      apiEndpoint: apiAddress === undefined ? 'first-master' : { address: apiAddress },
      extraCertSans: publicSan ? [publicSan] : [],
      etcdEndpoints: this.etcd.clientEndpoints,
      bootstrapToken: this.bootstrapToken,
      bootstrap: {
        ...kubeContext,
        nodeCidrMaskSize: this.flannel.subnetLength,
        flannel: this.flannel.bootstrapOptions,
        ...(this.cloudProvider ? { cloudProvider: this.cloudProvider.config } : {}),
        ...(this.autoscaling ? { extraAddons: this.autoscaling.addons } : {}),
      },
      deployValues: [...(this.cloudProvider?.deployValues ?? []), ...(this.autoscaling?.deployValues ?? [])],
    });
    if (masterFip) {
      masterFip.heatProperties = { ...masterFip.heatProperties, portId: this.masters.firstPortId };
    }
    this.apiAddress = apiAddress ?? this.masters.firstAddress;
    this.apiPublicAddress = apiPublic ?? masterFip?.attrFloatingIpAddress ?? this.apiAddress;
    if (this.apiPool) {
      this.masters.nodes.addPoolMembership('ApiPoolMembers', this.apiPool, 6443);
      if (lbOptions !== false && lbOptions.etcdListener) {
        const etcdPool = this.loadBalancer!.addListener('EtcdClients', {
          port: 2379,
          protocol: 'TCP',
          allowedCidrs: lbOptions.provider === 'ovn' ? undefined : [this.network.cidr.text],
        }).addPool();
        this.etcd.nodes.addPoolMembership('EtcdPoolMembers', etcdPool, 2379);
        this.securityGroups.allowFromCidr(
          'etcd',
          this.network.cidr.text,
          { protocol: 'tcp', port: 2379, description: "etcd clients through the load balancer (members' subnet)" },
          'etcd-from-lb-subnet',
        );
      }
    }

    // ---------------------------------------------------------------- workers
    for (const g of props.workerGroups ?? [{ name: 'default' }]) this.addWorkerGroup(g);
    // what the nodes fetch, for sites that mirror it (computed at synthesis, so groups added later count)
    stack.addArtifact('bom.json', () => JSON.stringify(this.billOfMaterials(), null, 2) + '\n');

    // ---------------------------------------------------------------- stack settings, outputs, checks
    stack.addParameterGroup({
      label: 'Images and flavors',
      description: 'What the nodes run on',
      parameters: [image, etcdImage.parameter, masterImage.parameter, etcdFlavor, masterFlavor],
    });
    stack.addParameterGroup({
      label: 'Rolling updates',
      description: 'Pauses between members when an update changes an image or a flavor',
      parameters: [etcdPause, masterPause],
    });
    stack.addParameterGroup({
      label: 'Access',
      description: 'Who may reach the cluster',
      parameters: [...(keyName ? [keyName] : []), apiAllowed, sshAllowed, ...(externalNetwork ? [externalNetwork] : [])],
    });
    this.node.addValidation({ validate: () => this.validateCluster() });
    const budget = Math.max(
      this.etcd.nodes.waitTimeoutSec,
      this.masters.nodes.waitTimeoutSec,
      ...[...this.workerGroupMap.values()].map((w) => w.nodes.waitTimeoutSec),
    );
    stack.createTimeoutMinutes = Math.max(stack.createTimeoutMinutes ?? 0, Math.ceil((budget + SERVER_BOOT_ALLOWANCE_SEC) / 60));
    Annotations.of(this).addInfo(
      `nodes signal with Heat TOKEN_SIGNAL handles made in their own member template (fresh for every new member), whose Keystone token Heat never renews; the longest wait condition is ${budget} s, and a node still bootstrapping ${SIGNAL_TOKEN_LIFETIME_SEC - SIGNAL_TOKEN_MARGIN_SEC} s after it booted reports FAILURE before that token expires (Keystone's default lifetime, ${SIGNAL_TOKEN_LIFETIME_SEC} s)`,
    );
    this.addOutputs();
  }

  /** The worker groups, by name. */
  /**
   * Every apt package, container image and URL the nodes fetch while they boot (etcd downloads included): what an
   * air-gapped site must mirror. With a package mirror and an image registry set, nothing points elsewhere.
   */
  billOfMaterials(): BillOfMaterials & {
    readonly etcd: { readonly version: string; readonly install: string; readonly urls: readonly string[] };
  } {
    try {
      const bom = billOfMaterials(
        this.masters.userDataContext,
        this.workerGroups.map((g) => g.userDataContext),
      );
      const etcd = resolveEtcdContext(this.etcd.userDataContext);
      const etcdUrls =
        etcd.install.mode === 'download'
          ? Object.values(etcd.urls)
              .filter((u): u is string => typeof u === 'string')
              .sort()
          : [];
      return {
        ...bom,
        urls: [...new Set([...bom.urls, ...etcdUrls])].sort(),
        etcd: { version: etcd.etcdVersion, install: etcd.install.mode, urls: etcdUrls },
      };
    } catch (e) {
      throw wrap(this.node.path, e);
    }
  }

  get workerGroups(): readonly WorkerGroup[] {
    return [...this.workerGroupMap.values()];
  }

  /** Add a worker group. Its resources are named by the group name, so existing groups keep theirs. */
  addWorkerGroup(options: WorkerGroupOptions): WorkerGroup {
    checkProps(this.node.path, 'worker group options', WORKER_GROUP_SPEC, options);
    const name = options.name;
    if (this.workerGroupMap.has(name))
      throw new HotError(this.node.path, `worker group names must be unique; ${JSON.stringify(name)} exists already`);
    const id = `Workers-${typeof name === 'string' ? name : 'invalid'}`;
    const g = new WorkerGroup(this, id, {
      ...options,
      clusterName: this.name,
      network: this.network,
      securityGroups: this.securityGroups,
      secrets: this.secrets,
      clusterImage: this.parameters.image,
      keyName: this.parameters.keyName?.value,
      allowedAddressPairs: this.flannel.allowedAddressPairs,
      apiAddress: this.apiAddress,
      bootstrapToken: this.bootstrapToken,
      bootstrap: this.kubeContext,
      memberTemplates: memberTemplateSharing.enabled ? this.workerMemberTemplates : undefined,
    });
    this.workerGroupMap.set(g.name, g);
    for (const app of this.applicationsOnAllGroups) app.addWorkerGroup(g);
    HeatStack.of(this).addParameterGroup({
      label: `Worker group ${g.name}`,
      parameters: [
        g.countParameter,
        g.flavorParameter,
        g.imageParameter,
        g.removeParameter,
        ...(g.updatePauseParameter ? [g.updatePauseParameter] : []),
      ],
    });
    new HeatOutput(this, `Workers-${g.name}-Addresses`, {
      name: `workers_${g.name.replace(/-/g, '_')}_addresses`,
      value: g.nodes.addresses,
      description: `Addresses of the workers in group ${g.name}`,
    });
    return g;
  }

  /** The applications exposed with `exposeNodePort()`, by name. */
  get applicationList(): readonly ExposedApplication[] {
    return [...this.applications.values()];
  }

  /**
   * Expose a NodePort to clients outside the cloud: an Octavia load balancer declared in the stack, with a listener on
   * `options.port` forwarding to `options.nodePort` on every worker of the chosen groups (by default every group,
   * including groups added later). Pool members follow each group's count parameter, so scaling is a parameter
   * change, and no server waits for the load balancer. The workers' security group opens that NodePort only to where
   * the load balancer's traffic comes from. Outputs `app_<name>_address` and `app_<name>_url`.
   *
   * `name` (a DNS label of at most 20 characters) names the construct (`App-<name>`), its parameters and outputs:
   * keep it stable, it names Heat resources.
   */
  exposeNodePort(name: string, options: ExposeNodePortOptions): ExposedApplication {
    const path = this.node.path;
    if (typeof name !== 'string' || this.applications.has(name)) {
      throw new HotError(
        path,
        `application names must be unique strings; got ${describeValue(name)}${this.applications.has(name) ? ' (exists already)' : ''}`,
      );
    }
    checkProps(path, `exposeNodePort(${JSON.stringify(name)}) options`, EXPOSE_NODE_PORT_SPEC, options);
    const family = options.protocol === 'UDP' ? 'udp' : 'tcp';
    for (const other of this.applications.values()) {
      const otherFamily = other.protocol === 'UDP' ? 'udp' : 'tcp';
      if (other.nodePort === options.nodePort && otherFamily === family) {
        throw new HotError(
          path,
          `NodePort ${options.nodePort}/${family} is exposed already by application ${other.name}; one Service NodePort takes one stack-declared load balancer (add listeners to it instead); got it again for ${name}`,
        );
      }
    }
    for (const g of options.workerGroups ?? []) {
      if (!this.workerGroups.includes(g)) {
        throw new HotError(
          path,
          `exposeNodePort(${JSON.stringify(name)}): workerGroups must be groups of this cluster (cluster.workerGroups); got ${describeValue((g as { node?: { path?: string } })?.node?.path ?? g)}`,
        );
      }
    }
    const app = new ExposedApplication(this, `App-${name}`, {
      ...options,
      name,
      clusterName: this.name,
      network: this.network,
      securityGroups: this.securityGroups,
      defaultProvider: this.defaultOctaviaProvider,
      externalNetwork: () => this.externalNetwork(),
      initialGroups: this.workerGroups,
    });
    this.applications.set(app.name, app);
    if (options.workerGroups === undefined) this.applicationsOnAllGroups.push(app);
    return app;
  }

  /** The `external_network` parameter's value, creating the parameter when the cluster had no use for it yet. */
  private externalNetwork(): Input<string> {
    if (!this.externalNetworkParameter) {
      this.externalNetworkParameter = new HeatParameter(this, 'ExternalNetwork', {
        name: 'external_network',
        type: 'string',
        label: 'External network',
        description: 'Network of the router gateway and floating IPs',
        constraints: [{ customConstraint: 'neutron.network' }],
        value: this.externalNetworkName,
      });
      HeatStack.of(this).addParameterGroup({
        label: 'Applications',
        description: 'Where application floating IPs come from',
        parameters: [this.externalNetworkParameter],
      });
    }
    return this.externalNetworkParameter.value;
  }

  /** The largest number of Kubernetes nodes the range maxima allow. */
  get maxKubernetesNodes(): number {
    return this.masters.count + this.workerGroups.reduce((n, g) => n + g.maxSize, 0);
  }

  private checkCidrs(): void {
    const named: [string, Ipv4Cidr][] = [
      ['node subnet', this.network.cidr],
      ['pod CIDR', this.flannel.podCidr],
      ['service CIDR', this.serviceCidr],
    ];
    for (let i = 0; i < named.length; i++) {
      for (let j = i + 1; j < named.length; j++) {
        const [an, a] = named[i]!;
        const [bn, b] = named[j]!;
        if (cidrsOverlap(a, b)) throw new HotError(this.node.path, `the ${an} and the ${bn} must not overlap; got ${a.text} and ${b.text}`);
      }
    }
  }

  private validateCluster(): string[] {
    const errors: string[] = [];
    const maxNodes = this.maxKubernetesNodes;
    if (maxNodes > this.flannel.maxNodes) {
      errors.push(
        `the pod CIDR ${this.flannel.podCidr.text} with /${this.flannel.subnetLength} per node serves ${this.flannel.maxNodes} nodes; the groups' maxima allow ${maxNodes} (masters and workers): widen the pod CIDR, lengthen subnetLength or lower maxSize`,
      );
    }
    // two addresses per application load balancer: its VIP and the amphora's port
    const addresses = maxNodes + this.etcd.size + 4 + 2 * this.applications.size;
    if (addresses > this.network.poolSize) {
      errors.push(
        `the node subnet ${this.network.cidr.text} gives ${this.network.poolSize} addresses; the groups' maxima need ${addresses} (nodes, etcd, load balancer and DHCP ports)`,
      );
    }
    const capacity = capacityAtMax(HeatStack.of(this));
    const total = capacity.resources;
    if (total > this.maxResources) {
      errors.push(
        `at every group's maximum the stack holds ${total} resources (nested ones included), above max_resources_per_stack ${this.maxResources}: lower maxSize or set maxResourcesPerStack to the cloud's limit`,
      );
    }
    this.announceHeatSettings(capacity);
    return errors;
  }

  /**
   * A warning per heat.conf option this cluster needs above Heat's defaults (once, however often the tree is
   * validated): maxResourcesPerStack only says what the cloud allows; the operator has to have set it.
   */
  private announceHeatSettings(capacity: CapacityAtMax): void {
    const settings = heatSettingsNeeded(HeatStack.of(this), capacity);
    if (settings.length === 0) return;
    const message =
      `this cluster needs Heat settings above Heat's defaults: ${settings
        .map((s) => `${s.option} = ${s.value} or more (default ${s.heatDefault}; ${s.reason})`)
        .join('; ')}. The cloud's operator puts these lines in heat.conf of every heat-engine and heat-api host and ` +
      `restarts them (README, "Scale"):\n${heatConfLines(settings)}`;
    if (this.announced.has(message)) return;
    this.announced.add(message);
    Annotations.of(this).addWarning(message);
  }

  private addOutputs(): void {
    new HeatOutput(this, 'ApiAddress', {
      name: 'api_address',
      value: this.apiPublicAddress,
      description: 'Address of the Kubernetes API (floating IP when there is one)',
    });
    new HeatOutput(this, 'ApiUrl', {
      name: 'api_url',
      value: Fn.strReplace('https://HOST:6443', { HOST: this.apiPublicAddress }),
      description: 'URL of the Kubernetes API',
    });
    new HeatOutput(this, 'Kubeconfig', {
      name: 'kubeconfig_howto',
      value: Fn.strReplace(
        'Where the stack was synthesized (its state directory holds the admin certificate): hotk8s kubeconfig STACK --cluster CLUSTER --api-address HOST (writes ./STACK.kubeconfig with the context set; --state DIR if the state directory is elsewhere, --merge to add it to ~/.kube/config)',
        { STACK: Fn.getParam('OS::stack_name'), HOST: this.apiPublicAddress, CLUSTER: this.name },
      ),
      description: 'How to get a kubeconfig',
    });
    new HeatOutput(this, 'EtcdAddresses', {
      name: 'etcd_addresses',
      value: this.etcd.addresses,
      description: 'Addresses of the etcd members',
    });
    new HeatOutput(this, 'MasterAddresses', {
      name: 'master_addresses',
      value: this.masters.nodes.addresses,
      description: 'Addresses of the masters',
    });
    if (this.loadBalancer)
      new HeatOutput(this, 'LoadBalancerId', {
        name: 'api_load_balancer_id',
        value: this.loadBalancer.loadBalancerId,
        description: 'Id of the API load balancer',
      });
  }
}

/** Shapes of the props that later code takes apart: a wrong shape is our error, never a TypeError. */
function checkShape(path: string, props: ClusterProps): void {
  const isMap = (x: unknown) => typeof x === 'object' && x !== null && !Array.isArray(x);
  const lb = props.loadBalancer as unknown;
  if (lb !== undefined && lb !== false && !isMap(lb))
    throw new HotError(path, `loadBalancer must be false or an options object; got ${describeValue(lb)}`);
  if (isMap(lb)) {
    const fip = (lb as { floatingIp?: unknown }).floatingIp;
    if (fip !== undefined && typeof fip !== 'boolean' && !isMap(fip)) {
      throw new HotError(
        path,
        `loadBalancer.floatingIp must be true, false, {address} or {existingId, address}; got ${describeValue(fip)}`,
      );
    }
    const address = isMap(fip) ? (fip as { address?: unknown }).address : undefined;
    if (address !== undefined && (typeof address !== 'string' || parseIpv4(address) === undefined)) {
      throw new HotError(path, `loadBalancer.floatingIp.address must be an IPv4 address; got ${describeValue(address)}`);
    }
  }
  if (props.workerGroups !== undefined && !Array.isArray(props.workerGroups)) {
    throw new HotError(path, `workerGroups must be a list of worker group options; got ${describeValue(props.workerGroups)}`);
  }
  for (const ns of (props.dnsNameservers as unknown[] | undefined) ?? []) {
    if (typeof ns !== 'string' || parseIpv4(ns) === undefined)
      throw new HotError(path, `dnsNameservers entries must be IPv4 addresses; got ${describeValue(ns)}`);
  }
  if (props.imageRegistry !== undefined && typeof props.imageRegistry !== 'string') {
    throw new HotError(
      path,
      `imageRegistry must be a registry host and path prefix such as registry.example.org/k8s; got ${describeValue(props.imageRegistry)}`,
    );
  }
  if (props.existingNetwork && props.dnsNameservers !== undefined) {
    throw new HotError(
      path,
      `dnsNameservers configure a subnet hotk8s creates; with existingNetwork set them on your subnet instead; got ${describeValue(props.dnsNameservers)}`,
    );
  }
}
