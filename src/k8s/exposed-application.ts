import { Construct } from 'constructs';
import { HotError, describeValue } from '../core/errors.js';
import { Fn } from '../core/intrinsics.js';
import { HeatOutput } from '../core/output.js';
import { HeatParameter } from '../core/parameter.js';
import { HeatStack } from '../core/stack.js';
import type { IResolvable, Input } from '../core/tokens.js';
import type { OsNeutronSecurityGroup } from '../heat/generated/neutron.generated.js';
import type { ClusterNetwork } from './cluster-network.js';
import type { ClusterSecurityGroups } from './cluster-security-groups.js';
import { LoadBalancer, OCTAVIA_PROVIDERS, type LoadBalancerFloatingIp, type OctaviaProvider } from './load-balancer.js';
import type { LoadBalancerListener } from './load-balancer-listener.js';
import type { HealthMonitorOptions, LbAlgorithm, LoadBalancerPool } from './load-balancer-pool.js';
import { parseCidr, parseIpv4 } from '../private/cidr.js';
import { checkDnsLabel, checkInt, checkOneOf } from './private/names.js';
import type { WorkerGroup } from './worker-group.js';

/** Kubernetes' default NodePort range (kube-apiserver `--service-node-port-range`; hotk8s keeps the default). */
export const NODE_PORT_RANGE = { min: 30000, max: 32767 } as const;

/** Listener protocols for an exposed application. HTTPS is passed through to the NodePort (no TLS termination). */
export type ExposedProtocol = 'TCP' | 'UDP' | 'HTTP' | 'HTTPS';
export const EXPOSED_PROTOCOLS: readonly ExposedProtocol[] = ['TCP', 'UDP', 'HTTP', 'HTTPS'];

/**
 * The application's floating IP: `true` for a new one from the cluster's external network, `{ address }` for a new
 * one with that address, `{ existingId, address }` for one the project owns already (its address is given because
 * Heat cannot look it up, and the outputs show it), `false` for none (the address is the VIP on the node subnet).
 */
export type ApplicationFloatingIp = boolean | { readonly address: string } | { readonly existingId: string; readonly address: string };

/** What a user chooses when exposing a NodePort (the Cluster adds the wiring). */
export interface ExposeNodePortOptions {
  /** The public port of the listener. */
  readonly port: number;
  /** The Service's NodePort on every member (30000-32767). */
  readonly nodePort: number;
  /** @default 'TCP' */
  readonly protocol?: ExposedProtocol;
  /** @default 'ROUND_ROBIN' (amphora), 'SOURCE_IP_PORT' (ovn, its only algorithm) */
  readonly algorithm?: LbAlgorithm;
  /** The pool's health monitor (always created). @default - TCP (UDP-CONNECT for UDP, HTTP GET / for HTTP), 5 s, 3 retries */
  readonly healthMonitor?: HealthMonitorOptions;
  /** Session persistence (amphora only). @default - none */
  readonly sessionPersistence?: { readonly type: 'SOURCE_IP' | 'HTTP_COOKIE' | 'APP_COOKIE'; readonly cookieName?: string };
  /** Listener connection limit. @default - unlimited */
  readonly connectionLimit?: number;
  /**
   * Client CIDRs admitted (parameter `app_<name>_allowed_cidrs`, at least one entry). amphora: the listener's
   * `allowed_cidrs`; ovn (which keeps client addresses): a security group on the members' ports.
   * @default ['0.0.0.0/0']
   */
  readonly allowedCidrs?: readonly string[];
  /** @default true (a new floating IP from the external network) */
  readonly floatingIp?: ApplicationFloatingIp;
  /** Octavia provider. @default - the API load balancer's provider, else 'amphora' */
  readonly provider?: OctaviaProvider;
  /** Octavia flavor (amphora only). @default - the cloud's default */
  readonly flavor?: string;
  /**
   * The worker groups whose nodes are members. @default - every worker group of the cluster, including groups
   * added later with `addWorkerGroup()`
   */
  readonly workerGroups?: readonly WorkerGroup[];
  /** Scheme of the `app_<name>_url` output. @default - http for HTTP, https for HTTPS, tcp or udp otherwise */
  readonly urlScheme?: string;
}

/** The wiring the Cluster gives an exposed application. */
export interface ExposedApplicationProps extends ExposeNodePortOptions {
  /** The application's name (DNS label, at most 20 characters): parameters and outputs `app_<name>_*`. */
  readonly name: string;
  readonly clusterName: string;
  readonly network: ClusterNetwork;
  readonly securityGroups: ClusterSecurityGroups;
  /** The provider when the options name none. */
  readonly defaultProvider: OctaviaProvider;
  /** The external network of new floating IPs (created on first use). */
  readonly externalNetwork: () => Input<string>;
  /** The groups to start with (the Cluster passes every group when the options name none). */
  readonly initialGroups: readonly WorkerGroup[];
}

/**
 * An application reached from outside through a load balancer declared in the stack: a listener on the public port,
 * a pool with a health monitor, and one pool member per worker of each chosen group on the NodePort. Members live in
 * a ResourceGroup indexed like the workers and sized by the group's count parameter, fed from the workers' port
 * addresses: scaling the group is a parameter change that adds or removes members, and no server waits for the load
 * balancer. The worker security group opens the NodePort only to where the load balancer's traffic comes from: the
 * members' subnet (amphorae, health checks); with ovn also the client CIDRs, on a security group of the chosen groups.
 */
export class ExposedApplication extends Construct {
  public readonly name: string;
  public readonly port: number;
  public readonly nodePort: number;
  public readonly protocol: ExposedProtocol;
  public readonly provider: OctaviaProvider;
  public readonly loadBalancer: LoadBalancer;
  public readonly listener: LoadBalancerListener;
  public readonly pool: LoadBalancerPool;
  public readonly allowedCidrsParameter: HeatParameter;
  /** The ovn provider's client security group (attached to the chosen groups' nodes). */
  public readonly clientSecurityGroup?: OsNeutronSecurityGroup;
  /** The public address: the floating IP's, else the VIP (deploy time). */
  public readonly publicAddress: Input<string>;
  /** The URL clients use (deploy time). */
  public readonly url: IResolvable;
  private readonly groups: WorkerGroup[] = [];

  constructor(scope: Construct, id: string, props: ExposedApplicationProps) {
    super(scope, id);
    const path = this.node.path;
    if (typeof props !== 'object' || props === null)
      throw new HotError(path, `exposeNodePort needs options { port, nodePort, ... }; got ${describeValue(props)}`);
    this.name = checkDnsLabel(path, 'application name', props.name, 20);
    this.port = checkInt(path, 'port', props.port, 1, 65535);
    this.nodePort = checkInt(path, 'nodePort', props.nodePort, NODE_PORT_RANGE.min, NODE_PORT_RANGE.max);
    this.protocol = checkOneOf(path, 'protocol', props.protocol ?? 'TCP', EXPOSED_PROTOCOLS);
    this.provider = checkOneOf(path, 'provider', props.provider ?? props.defaultProvider, OCTAVIA_PROVIDERS);
    const cidrs = props.allowedCidrs ?? ['0.0.0.0/0'];
    if (!Array.isArray(cidrs) || cidrs.length === 0) {
      throw new HotError(
        path,
        `allowedCidrs must list at least one CIDR (['0.0.0.0/0'] admits everyone; an empty list would too on amphora); got ${describeValue(cidrs)}`,
      );
    }
    for (const c of cidrs) {
      const r = parseCidr(c);
      if (typeof r === 'string') throw new HotError(path, `allowedCidrs entries ${r}`);
    }
    if (props.urlScheme !== undefined && !/^[a-z][a-z0-9+.-]*$/.test(props.urlScheme)) {
      throw new HotError(
        path,
        `urlScheme must be a URL scheme (lower-case letters, digits, '+', '.', '-'); got ${describeValue(props.urlScheme)}`,
      );
    }
    const fip = checkFloatingIp(path, props.floatingIp ?? true);

    const p = `app_${this.name.replace(/-/g, '_')}`;
    this.allowedCidrsParameter = new HeatParameter(this, 'AllowedCidrs', {
      name: `${p}_allowed_cidrs`,
      type: 'comma_delimited_list',
      label: `Clients of ${this.name}`,
      description: `CIDRs allowed to reach application ${this.name} on port ${this.port} (at least one; 0.0.0.0/0 for everyone)`,
      constraints: [{ length: { min: 1 }, description: `application ${this.name} needs at least one allowed CIDR` }],
      value: [...cidrs],
    });

    let floatingIp: LoadBalancerFloatingIp | undefined;
    if (fip === true) floatingIp = { network: props.externalNetwork() };
    else if (fip !== false && 'existingId' in fip) floatingIp = { existingId: fip.existingId };
    else if (fip !== false) floatingIp = { network: props.externalNetwork(), address: fip.address };
    this.loadBalancer = new LoadBalancer(this, 'LoadBalancer', {
      vipSubnet: props.network.subnetId,
      provider: this.provider,
      flavor: props.flavor,
      name: `${props.clusterName}-${this.name}`,
      description: `hotk8s: application ${this.name} (port ${this.port} to NodePort ${this.nodePort})`,
      floatingIp,
      floatingIpDependsOn: props.network.routerInterface ? [props.network.routerInterface] : [],
    });
    const amphora = this.provider === 'amphora';
    this.listener = this.loadBalancer.addListener('Listener', {
      port: this.port,
      protocol: this.protocol,
      allowedCidrs: amphora ? this.allowedCidrsParameter.value : undefined,
      connectionLimit: props.connectionLimit,
      name: `${props.clusterName}-${this.name}`,
    });
    this.pool = this.listener.addPool({
      algorithm: props.algorithm,
      healthMonitor: props.healthMonitor,
      sessionPersistence: props.sessionPersistence,
      name: `${props.clusterName}-${this.name}`,
    });

    // Where the load balancer's traffic reaches the NodePort from.
    const ruleProtocol = this.protocol === 'UDP' ? 'udp' : 'tcp';
    const sources = this.listener.trafficSources(props.network.cidr.text, this.allowedCidrsParameter.value);
    for (const c of sources.cidrs) {
      props.securityGroups.allowFromCidr(
        'worker',
        c,
        {
          protocol: ruleProtocol,
          port: this.nodePort,
          description: `NodePort ${this.nodePort} of application ${this.name} from the ${this.provider} load balancer (members' subnet)`,
        },
        `worker-app-${this.name}-from-lb-subnet`,
      );
    }
    if (sources.clientCidrs) {
      this.clientSecurityGroup = props.securityGroups.createCidrListGroup(
        `App-${this.name}-Clients`,
        `${props.clusterName}-app-${this.name}-clients`,
        sources.clientCidrs,
        {
          protocol: ruleProtocol,
          port: this.nodePort,
          description: `NodePort ${this.nodePort} of application ${this.name} from its clients (ovn keeps client addresses)`,
        },
      );
    }

    const groups = props.workerGroups ?? props.initialGroups;
    if (props.workerGroups !== undefined && (!Array.isArray(props.workerGroups) || props.workerGroups.length === 0)) {
      throw new HotError(
        path,
        `workerGroups must name at least one worker group (leave it out for every group); got ${describeValue(props.workerGroups)}`,
      );
    }
    for (const g of groups) this.addWorkerGroup(g);

    this.publicAddress =
      fip === false ? this.loadBalancer.vipAddress : typeof fip === 'object' ? fip.address : this.loadBalancer.publicAddress;
    const scheme = props.urlScheme ?? { HTTP: 'http', HTTPS: 'https', TCP: 'tcp', UDP: 'udp' }[this.protocol];
    const defaultPort = (scheme === 'http' && this.port === 80) || (scheme === 'https' && this.port === 443);
    this.url = Fn.strReplace(defaultPort ? `${scheme}://HOST` : `${scheme}://HOST:${this.port}`, { HOST: this.publicAddress });
    new HeatOutput(this, 'Address', {
      name: `${p}_address`,
      value: this.publicAddress,
      description: `Public address of application ${this.name}`,
    });
    new HeatOutput(this, 'Url', {
      name: `${p}_url`,
      value: this.url,
      description: `URL of application ${this.name} (port ${this.port}, NodePort ${this.nodePort})`,
    });
    HeatStack.of(this).addParameterGroup({
      label: `Application ${this.name}`,
      description: `Who may reach application ${this.name}`,
      parameters: [this.allowedCidrsParameter],
    });
    this.node.addValidation({
      validate: () =>
        this.groups.length === 0 ? [`application ${this.name} has no worker group to send traffic to; add one with addWorkerGroup()`] : [],
    });
  }

  /** The worker groups whose nodes are members. */
  get workerGroups(): readonly WorkerGroup[] {
    return [...this.groups];
  }

  /**
   * Make every node of `group` a member on the NodePort: a ResourceGroup beside the workers, indexed like them and
   * sized by the group's count parameter.
   */
  addWorkerGroup(group: WorkerGroup): void {
    if (typeof group !== 'object' || group === null || !(group.nodes?.addPoolMembership instanceof Function)) {
      throw new HotError(
        this.node.path,
        `workerGroups entries must be WorkerGroup constructs (cluster.workerGroups); got ${describeValue(group)}`,
      );
    }
    if (this.groups.includes(group))
      throw new HotError(this.node.path, `worker group ${group.name} is a member of application ${this.name} already`);
    if (group.node.scope !== this.node.scope) {
      throw new HotError(
        this.node.path,
        `worker group ${group.node.path} belongs to another cluster; an application's members must be workers of its own cluster (${this.node.scope?.node.path})`,
      );
    }
    group.nodes.addPoolMembership(`App-${this.name}-Members`, this.pool, this.nodePort);
    if (this.clientSecurityGroup) group.addSecurityGroup(this.clientSecurityGroup);
    this.groups.push(group);
  }
}

function checkFloatingIp(path: string, fip: unknown): ApplicationFloatingIp {
  if (typeof fip === 'boolean') return fip;
  if (typeof fip === 'object' && fip !== null) {
    const o = fip as Record<string, unknown>;
    const keys = Object.keys(o).sort().join(',');
    if (
      (keys === 'address' || keys === 'address,existingId') &&
      typeof o.address === 'string' &&
      (keys === 'address' || (typeof o.existingId === 'string' && o.existingId !== ''))
    ) {
      if (parseIpv4(o.address as string) === undefined)
        throw new HotError(path, `floatingIp.address must be an IPv4 address; got ${describeValue(o.address)}`);
      return fip as ApplicationFloatingIp;
    }
    if (keys === 'existingId') {
      throw new HotError(
        path,
        `floatingIp { existingId } needs its address too ({ existingId, address }): Heat cannot look up an existing floating IP's address, and the outputs show it; got ${describeValue(fip)}`,
      );
    }
  }
  throw new HotError(path, `floatingIp must be true, false, { address } or { existingId, address }; got ${describeValue(fip)}`);
}
