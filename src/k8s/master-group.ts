import { Construct } from 'constructs';
import { HotError } from '../core/errors.js';
import { Fn } from '../core/intrinsics.js';
import { Lazy, type IResolvable, type Input } from '../core/tokens.js';
import { kubeNodeBudgetSec } from '../bootstrap/kubeadm.js';
import { renderMasterUserData, type MasterUserDataContext } from '../bootstrap/master.js';
import type { DeployTimeValue } from './cloud-provider.js';
import type { ClusterNetwork } from './cluster-network.js';
import type { ClusterSecurityGroups } from './cluster-security-groups.js';
import { upgradeMetadata } from '../bootstrap/upgrade.js';
import { SERVER_BOOT_ALLOWANCE_SEC, wrap } from './etcd-cluster.js';
import { NodeGroup, type BootVolume, type ServerGroupPolicy } from './node-group.js';
import { kubeNodeValues, secretInput } from './private/kube-values.js';
import { checkInt } from './private/names.js';
import { ETCD_CLIENT_CERT_META_PARTS, etcdClientCertMetadataKey, type ClusterSecrets } from './private/secrets.js';

/** Default seconds between two masters of a rolling update. */
export const DEFAULT_MASTER_UPDATE_PAUSE_SEC = 300;

/** The API endpoint the nodes use: a fixed address (VIP, reserved or given), a deploy-time value, or the first master. */
export type ApiEndpoint = { readonly address: Input<string> } | 'first-master';

export interface MasterGroupProps {
  /** Cluster name (DNS label); servers are `<name>-master-<i>`. */
  readonly clusterName: string;
  /** @default 3 */
  readonly count?: number;
  readonly network: ClusterNetwork;
  readonly securityGroups: ClusterSecurityGroups;
  readonly secrets: ClusterSecrets;
  readonly flavor: Input<string>;
  readonly image: Input<string>;
  readonly keyName?: Input<string>;
  /** @default 'soft-anti-affinity' */
  readonly serverGroupPolicy?: ServerGroupPolicy | false;
  /** @default - the flavor's disk */
  readonly bootVolume?: BootVolume;
  /** Allowed address pairs of each port (flannel host-gw). */
  readonly allowedAddressPairs?: readonly { readonly ipAddress: string }[];
  /** Where nodes reach the API. 'first-master' is the single-master mode without a load balancer. */
  readonly apiEndpoint: ApiEndpoint;
  /** Extra API certificate names known at deploy time (e.g. the load balancer's floating IP). @default - none */
  readonly extraCertSans?: readonly Input<string>[];
  /** etcd client URLs, comma-separated (deploy time). */
  readonly etcdEndpoints: Input<string>;
  readonly bootstrapToken: Input<string>;
  /**
   * Further deploy-time values of the user-data (the cloud provider's application credential, Keystone URL, ids the
   * stack creates): each placeholder is fed from a member-template input of the given name. @default - none
   */
  readonly deployValues?: readonly DeployTimeValue[];
  /**
   * Seconds between two masters of a rolling update (a new image or flavor): masters are updated one at a time,
   * highest name first, and the next waits this long after the previous one's server is back (ACTIVE). A number or a
   * `get_param`. @default 300
   */
  readonly updatePauseSeconds?: Input<number>;
  /** Synth-time bootstrap settings (versions, CIDRs, flannel, add-ons, cloud provider). */
  readonly bootstrap: Omit<MasterUserDataContext, 'apiServerCertSans'>;
}

/**
 * The control plane: N servers (N >= 1; more than one needs a load balancer, which the Cluster checks), their server
 * group, optional boot volumes. The first master runs `kubeadm init` and the add-ons; the others join as control-plane
 * nodes. Add pool membership with `nodes.addPoolMembership(...)` (the Cluster does so for the API load balancer).
 */
export class MasterGroup extends Construct {
  public readonly count: number;
  public readonly nodes: NodeGroup;
  /** What the masters' user-data was rendered from (for the bill of materials). */
  public readonly userDataContext: MasterUserDataContext;
  /** The first master's address (deploy time). */
  public readonly firstAddress: IResolvable;
  /** The first master's port id (deploy time). */
  public readonly firstPortId: IResolvable;

  constructor(scope: Construct, id: string, props: MasterGroupProps) {
    super(scope, id);
    const path = this.node.path;
    this.count = checkInt(path, 'count', props.count ?? 3, 1, 15);
    if (props.apiEndpoint === 'first-master' && this.count > 1) {
      throw new HotError(path, `${this.count} masters need a load balancer in front of the API; 'first-master' works with one master only`);
    }
    const sans = props.extraCertSans ?? [];
    const sanTokens = sans.map((_, i) => `__API_CERT_SAN_${i}__`);
    this.userDataContext = { ...props.bootstrap, apiServerCertSans: sanTokens };
    let rendered;
    try {
      rendered = renderMasterUserData(this.userDataContext);
    } catch (e) {
      throw wrap(path, e);
    }
    // the WaitCondition outlasts the node's own bootstrap budget (every bounded phase, its overshoot, cloud-init)
    const firstMaster = kubeNodeBudgetSec(props.bootstrap.bounds, 'first-master');
    const joiner = kubeNodeBudgetSec(props.bootstrap.bounds, 'master');
    let nodes!: NodeGroup;
    const firstAddress = () => Fn.getAttr(nodes.ports.group, 'resource.0', 'address');
    this.nodes = nodes = new NodeGroup(this, 'Masters', {
      role: 'master',
      namePrefix: `${props.clusterName}-master`,
      count: this.count,
      maxCount: this.count,
      networkId: props.network.networkId,
      subnetId: props.network.subnetId,
      securityGroupIds: props.securityGroups.groupIdsFor('master'),
      allowedAddressPairs: props.allowedAddressPairs,
      flavor: props.flavor,
      image: props.image,
      keyName: props.keyName,
      serverGroupPolicy: props.serverGroupPolicy,
      bootVolume: props.bootVolume,
      waitTimeoutSec: SERVER_BOOT_ALLOWANCE_SEC + Math.max(firstMaster, joiner),
      userDataUpdatePolicy: 'IGNORE',
      serverMetadata: upgradeMetadata(props.bootstrap.kubernetesVersion),
      // one master at a time: the others keep the API and etcd's clients up
      rollingUpdate: { maxBatchSize: 1, pauseSeconds: props.updatePauseSeconds ?? DEFAULT_MASTER_UPDATE_PAUSE_SEC },
      // the etcd client certificate also as metadata: updated in place on running masters (user-data is IGNOREd)
      metadata: (m) =>
        Object.fromEntries(
          [...Array(ETCD_CLIENT_CERT_META_PARTS).keys()].map((i) => [
            etcdClientCertMetadataKey(i),
            secretInput(m, props.secrets, `apiserver_etcd_client_cert_meta_${i}`),
          ]),
        ),
      userData: (m) => {
        const apiAddress = props.apiEndpoint === 'first-master' ? Lazy.value(() => firstAddress()) : props.apiEndpoint.address;
        const values: Record<string, unknown> = {
          ...kubeNodeValues(m, { apiAddress, bootstrapToken: props.bootstrapToken, secrets: props.secrets }),
          __NODE_INDEX__: m.index,
          __ETCD_ENDPOINTS__: m.input('etcd_endpoints', { type: 'string', description: 'etcd client URLs' }, props.etcdEndpoints).value,
        };
        for (const name of [
          'k8s_ca_cert_b64',
          'k8s_ca_key_b64',
          'front_proxy_ca_cert_b64',
          'front_proxy_ca_key_b64',
          'sa_key_b64',
          'sa_pub_b64',
          'etcd_ca_cert_b64',
          'apiserver_etcd_client_cert_b64',
          'apiserver_etcd_client_key_b64',
          'encryption_key',
        ]) {
          values[`__${name.toUpperCase()}__`] = secretInput(m, props.secrets, name);
        }
        sans.forEach((v, i) => {
          values[sanTokens[i]!] = m.input(`api_cert_san_${i}`, { type: 'string', description: 'Extra API certificate name' }, v).value;
        });
        for (const d of props.deployValues ?? []) {
          if (d.placeholder in values) throw new HotError(path, `deploy-time value ${d.placeholder} is given twice`);
          values[d.placeholder] = m.input(d.inputName, d.input, d.rootValue).value;
        }
        return { rendered, values };
      },
    });
    this.firstAddress = firstAddress();
    this.firstPortId = Fn.getAttr(nodes.ports.group, 'resource.0', 'port_id');
  }
}
