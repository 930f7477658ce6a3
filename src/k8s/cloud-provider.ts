import { Construct } from 'constructs';
import { HotError, describeValue } from '../core/errors.js';
import { Fn } from '../core/intrinsics.js';
import { HeatOutput } from '../core/output.js';
import { HeatParameter, type HeatParameterProps } from '../core/parameter.js';
import { HeatStack } from '../core/stack.js';
import type { Input } from '../core/tokens.js';
import {
  resolveCloudProvider,
  type CloudProviderConfig,
  type CloudProviderMonitor,
  type ResolvedCloudProvider,
} from '../bootstrap/addons.js';
import { placeholder } from '../bootstrap/render.js';
import type { OsNeutronSecurityGroup } from '../heat/generated/neutron.generated.js';
import type { ClusterNetwork } from './cluster-network.js';
import type { ClusterSecurityGroups } from './cluster-security-groups.js';
import { wrap } from './etcd-cluster.js';
import { NODE_PORT_RANGE } from './exposed-application.js';
import { OCTAVIA_PROVIDERS, type OctaviaProvider } from './load-balancer.js';
import { parseCidr } from '../private/cidr.js';
import { checkOneOf } from './private/names.js';
import { controllerLoadBalancerPrefix, controllerTeardownScript } from './teardown.js';

/**
 * The Cluster's `cloudProvider` prop: the OpenStack cloud-controller-manager (Service type=LoadBalancer through
 * Octavia) and the Cinder CSI driver, deployed by the first master. The application credential the controller uses
 * is never in the program: the operator gives it at create time (hidden parameters `os_application_credential_id`
 * and `os_application_credential_secret`).
 */
export interface ClusterCloudProviderOptions {
  /** Keystone v3 URL (parameter `os_auth_url`), e.g. https://keystone.example.com:5000/v3. @default - a required parameter */
  readonly authUrl?: string;
  /** @default - the application credential's region */
  readonly region?: string;
  /** Octavia provider of the controller's load balancers. @default - the API load balancer's provider, else 'amphora' */
  readonly octaviaProvider?: OctaviaProvider;
  /**
   * Id of the network the controller takes floating IPs from.
   * @default - the external network of the router hotk8s creates (required with `existingNetwork`)
   */
  readonly floatingNetworkId?: string;
  /** Id of the subnet of the controller's VIPs and members. @default - the node subnet (with `existingNetwork`, give `subnetId` as an id) */
  readonly subnetId?: string;
  /** Health monitors of the controller's pools. @default { enabled: true, delaySec: 5, timeoutSec: 3, maxRetries: 1 } */
  readonly monitor?: CloudProviderMonitor;
  /**
   * The controller's `--cluster-name`: its load balancers are named `kube_service_<name>_<namespace>_<service>`, which
   * is how the teardown finds them. @default - the cluster's name
   */
  readonly controllerClusterName?: string;
  /**
   * Let the controller manage security groups for its load balancers. Required with ovn (its load balancers keep
   * client addresses, so each Service needs rules for its `loadBalancerSourceRanges`). @default true for ovn, false for amphora
   */
  readonly manageSecurityGroups?: boolean;
  /**
   * ovn only: client CIDRs admitted to the whole NodePort range (parameter `service_lb_client_cidrs`), on top of
   * the rules the controller makes per Service. @default - none (the controller's per-Service rules only)
   */
  readonly clientCidrs?: readonly string[];
  /**
   * Path of a CA bundle on every node (in the image) for Keystone/Octavia TLS; mounted from the host into the
   * cloud-controller-manager and Cinder CSI pods. @default - the system trust store
   */
  readonly caFile?: string;
  /**
   * A CA bundle (PEM certificates) for Keystone/Octavia TLS, given at synth: the cloud-config Secret carries it as
   * `ca.crt` and cloud.conf points at it. Exclusive with `caFile`. @default - the system trust store
   */
  readonly caCertificate?: string;
  /** The default StorageClass's name. @default 'csi-cinder' */
  readonly storageClassName?: string;
  /** @default false */
  readonly ignoreVolumeAz?: boolean;
}

export interface ClusterCloudProviderProps extends ClusterCloudProviderOptions {
  readonly clusterName: string;
  readonly network: ClusterNetwork;
  readonly securityGroups: ClusterSecurityGroups;
  /** The provider when the options name none. */
  readonly defaultProvider: OctaviaProvider;
}

/** A deploy-time value of the masters' user-data: its placeholder, the member-template input and the root value. */
export interface DeployTimeValue {
  readonly placeholder: string;
  readonly inputName: string;
  readonly input: Omit<HeatParameterProps, 'value' | 'secretValue' | 'name'>;
  readonly rootValue: unknown;
}

/**
 * What the stack adds for the OpenStack cloud provider: the parameters (Keystone URL, application credential), the
 * bootstrap configuration the masters render (values known only at deploy time as placeholders), and security-group
 * rules for the NodePort range from where the controller's load balancers send traffic (the members' subnet; with
 * ovn, which keeps client addresses, the controller manages per-Service rules and `clientCidrs` may add more).
 */
export class ClusterCloudProvider extends Construct {
  /** The configuration handed to the masters' bootstrap (placeholders for deploy-time values). */
  public readonly config: CloudProviderConfig;
  public readonly resolved: ResolvedCloudProvider;
  /** Values the masters' member template must substitute. */
  public readonly deployValues: readonly DeployTimeValue[];
  public readonly provider: OctaviaProvider;
  public readonly controllerClusterName: string;
  public readonly manageSecurityGroups: boolean;
  public readonly parameters: {
    readonly authUrl: HeatParameter;
    readonly applicationCredentialId: HeatParameter;
    readonly applicationCredentialSecret: HeatParameter;
    readonly clientCidrs?: HeatParameter;
  };
  public readonly clientSecurityGroup?: OsNeutronSecurityGroup;

  constructor(scope: Construct, id: string, props: ClusterCloudProviderProps) {
    super(scope, id);
    const path = this.node.path;
    if (typeof props !== 'object' || props === null)
      throw new HotError(path, `cloudProvider must be an object; got ${describeValue(props)}`);
    this.provider = checkOneOf(path, 'cloudProvider.octaviaProvider', props.octaviaProvider ?? props.defaultProvider, OCTAVIA_PROVIDERS);
    const ovn = this.provider === 'ovn';
    if (ovn && props.manageSecurityGroups === false) {
      throw new HotError(
        path,
        "cloudProvider.manageSecurityGroups must be true with the ovn provider: its load balancers keep client addresses, so the controller must admit each Service's clients on the nodes; got false",
      );
    }
    this.manageSecurityGroups = props.manageSecurityGroups ?? ovn;
    if (props.clientCidrs !== undefined) {
      if (!ovn)
        throw new HotError(
          path,
          `cloudProvider.clientCidrs applies to the ovn provider (amphora traffic comes from the members' subnet only); got ${describeValue(props.clientCidrs)} with ${this.provider}`,
        );
      if (!Array.isArray(props.clientCidrs) || props.clientCidrs.length === 0)
        throw new HotError(
          path,
          `cloudProvider.clientCidrs must list at least one CIDR, or be left out; got ${describeValue(props.clientCidrs)}`,
        );
      for (const c of props.clientCidrs) {
        const r = parseCidr(c);
        if (typeof r === 'string') throw new HotError(path, `cloudProvider.clientCidrs entries ${r}`);
      }
    }
    if (props.floatingNetworkId === undefined && !props.network.router) {
      throw new HotError(
        path,
        'cloudProvider.floatingNetworkId is required with existingNetwork (hotk8s reads the id from the router it creates otherwise); got undefined',
      );
    }
    if (props.authUrl !== undefined && !/^https?:\/\/[^\s/]+(\/\S*)?$/.test(props.authUrl)) {
      throw new HotError(
        path,
        `cloudProvider.authUrl must be an http(s) URL of Keystone, e.g. https://keystone.example.com:5000/v3; got ${describeValue(props.authUrl)}`,
      );
    }
    this.controllerClusterName = props.controllerClusterName ?? props.clusterName;

    // ------------------------------------------------------------ parameters
    const authUrl = new HeatParameter(this, 'AuthUrl', {
      name: 'os_auth_url',
      type: 'string',
      label: 'Keystone URL',
      description: 'Keystone v3 URL the cloud-controller-manager and Cinder CSI authenticate against',
      constraints: [
        { allowedPattern: 'https?://[^\\s/]+(/\\S*)?', description: 'an http(s) URL, e.g. https://keystone.example.com:5000/v3' },
      ],
      value: props.authUrl,
    });
    const credId = new HeatParameter(this, 'ApplicationCredentialId', {
      name: 'os_application_credential_id',
      type: 'string',
      hidden: true,
      label: 'Application credential id',
      description:
        'Id of the application credential the cloud-controller-manager and Cinder CSI use (openstack application credential create); given at stack create',
      constraints: [{ length: { min: 1 }, description: 'the application credential id is required' }],
    });
    const credSecret = new HeatParameter(this, 'ApplicationCredentialSecret', {
      name: 'os_application_credential_secret',
      type: 'string',
      hidden: true,
      label: 'Application credential secret',
      description: 'Secret of that application credential; given at stack create, never stored by hotk8s',
      constraints: [{ length: { min: 1 }, description: 'the application credential secret is required' }],
    });
    const clientCidrs = props.clientCidrs
      ? new HeatParameter(this, 'ClientCidrs', {
          name: 'service_lb_client_cidrs',
          type: 'comma_delimited_list',
          label: 'Service load balancer clients',
          description: 'CIDRs admitted to the NodePort range on the workers (ovn load balancers keep client addresses)',
          value: [...props.clientCidrs],
        })
      : undefined;
    this.parameters = { authUrl, applicationCredentialId: credId, applicationCredentialSecret: credSecret, clientCidrs };
    HeatStack.of(this).addParameterGroup({
      label: 'OpenStack cloud provider',
      description: 'Credentials of the cloud-controller-manager (Service type=LoadBalancer) and Cinder CSI',
      parameters: [authUrl, credId, credSecret, ...(clientCidrs ? [clientCidrs] : [])],
    });

    // ------------------------------------------------------------ bootstrap configuration
    const values: DeployTimeValue[] = [];
    const secret = (name: string, token: string, p: HeatParameter, description: string) =>
      values.push({
        placeholder: placeholder(token),
        inputName: name,
        input: { type: 'string', hidden: true, description },
        rootValue: p.value,
      });
    secret('os_application_credential_id', 'OS_APPLICATION_CREDENTIAL_ID', credId, 'Application credential id of the cloud provider');
    secret(
      'os_application_credential_secret',
      'OS_APPLICATION_CREDENTIAL_SECRET',
      credSecret,
      'Application credential secret of the cloud provider',
    );
    const deployTime = (name: string, token: string, v: Input<string>, description: string): string => {
      if (typeof v === 'string') return v;
      values.push({ placeholder: placeholder(token), inputName: name, input: { type: 'string', description }, rootValue: v });
      return placeholder(token);
    };
    const floatingNetwork: Input<string> =
      props.floatingNetworkId ?? Fn.getAttr(props.network.router!, 'external_gateway_info', 'network_id');
    this.config = {
      authUrl: deployTime('os_auth_url', 'OS_AUTH_URL', authUrl.value, 'Keystone v3 URL'),
      region: props.region,
      octaviaProvider: this.provider,
      floatingNetworkId: deployTime(
        'os_floating_network_id',
        'OS_FLOATING_NETWORK_ID',
        floatingNetwork,
        "Network of the controller's floating IPs",
      ),
      subnetId: deployTime(
        'os_lb_subnet_id',
        'OS_LB_SUBNET_ID',
        props.subnetId ?? props.network.subnetId,
        "Subnet of the controller's load balancers",
      ),
      monitor: props.monitor,
      controllerClusterName: this.controllerClusterName,
      manageSecurityGroups: this.manageSecurityGroups,
      caFile: props.caFile,
      caCertificate: props.caCertificate,
      storageClassName: props.storageClassName,
      ignoreVolumeAz: props.ignoreVolumeAz,
    };
    try {
      this.resolved = resolveCloudProvider(this.config);
    } catch (e) {
      throw wrap(path, e);
    }
    this.deployValues = values;

    // ------------------------------------------------------------ security groups: the NodePort range
    const range = (protocol: 'tcp' | 'udp', why: string) => ({
      protocol,
      port: NODE_PORT_RANGE.min,
      toPort: NODE_PORT_RANGE.max,
      description: `NodePorts (${protocol}) of Services type=LoadBalancer from ${why}`,
    });
    const subnet = props.network.cidr.text;
    props.securityGroups.allowFromCidr(
      'worker',
      subnet,
      range('tcp', `the ${this.provider} load balancers (members' subnet)`),
      'worker-nodeports-tcp-from-lb-subnet',
    );
    props.securityGroups.allowFromCidr(
      'worker',
      subnet,
      range('udp', `the ${this.provider} load balancers (members' subnet)`),
      'worker-nodeports-udp-from-lb-subnet',
    );
    if (clientCidrs) {
      this.clientSecurityGroup = props.securityGroups.allowFromCidrList(
        'worker',
        clientCidrs.value,
        [range('tcp', 'their clients (ovn keeps client addresses)'), range('udp', 'their clients (ovn keeps client addresses)')],
        'ServiceLbClients',
        `${props.clusterName}-service-lb-clients`,
      );
    }

    // ------------------------------------------------------------ outputs
    new HeatOutput(this, 'LoadBalancerPrefix', {
      name: 'service_load_balancer_prefix',
      value: controllerLoadBalancerPrefix(this.controllerClusterName),
      description: 'Name prefix of the load balancers the cloud-controller-manager creates: remove them before deleting the stack',
    });
    new HeatOutput(this, 'Teardown', {
      name: 'service_load_balancer_teardown',
      value: controllerTeardownScript(this.controllerClusterName, { manageSecurityGroups: this.manageSecurityGroups }),
      description: 'Commands that remove what the cloud-controller-manager created (run before and after openstack stack delete)',
    });
  }
}
