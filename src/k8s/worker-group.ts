import { Construct } from 'constructs';
import { HotError, describeValue } from '../core/errors.js';
import { HeatParameter } from '../core/parameter.js';
import { Fn } from '../core/intrinsics.js';
import type { IResolvable, Input } from '../core/tokens.js';
import { checkNodeLabels, kubeNodeBudgetSec, type KubeNodeContext } from '../bootstrap/kubeadm.js';
import { renderWorkerUserData, workerDeployValues, type WorkerUserDataContext } from '../bootstrap/worker.js';
import type { OsNeutronSecurityGroup } from '../heat/generated/neutron.generated.js';
import type { ClusterNetwork } from './cluster-network.js';
import type { ClusterSecurityGroups } from './cluster-security-groups.js';
import { upgradeMetadata } from '../bootstrap/upgrade.js';
import { SERVER_BOOT_ALLOWANCE_SEC, wrap } from './etcd-cluster.js';
import { NODE_GROUP_LAYOUTS, NodeGroup, type BootVolume, type NodeGroupLayout, type ServerGroupPolicy } from './node-group.js';
import { kubeNodeValues } from './private/kube-values.js';
import { roleImage } from './private/role-image.js';
import { checkDnsLabel, checkInt, checkLabelKey, checkLabelValue, checkOneOf, checkTaint, type Taint } from './private/names.js';
import type { ClusterSecrets } from './private/secrets.js';

/** Default seconds between two batches of a worker group's rolling update. */
export const DEFAULT_WORKER_UPDATE_PAUSE_SEC = 60;

/** What a user chooses for a worker group (the Cluster adds the wiring). */
export interface WorkerGroupOptions {
  /** The group's name (DNS label): servers are `<cluster>-<name>-<i>`, parameters `workers_<name>_*`. */
  readonly name: string;
  /** Nodes at creation (the count parameter's value). @default 3 */
  readonly size?: number;
  /** The count parameter's range minimum. @default 0 */
  readonly minSize?: number;
  /** The count parameter's range maximum; capacity checks use it. @default - the larger of 10 and size */
  readonly maxSize?: number;
  /** Nova flavor (the flavor parameter's value). @default - a required parameter */
  readonly flavor?: string;
  /** Glance image (parameter `workers_<name>_image`, empty: the cluster's `image`). @default - the cluster's image parameter */
  readonly image?: string;
  /** @default - the cloud's default */
  readonly availabilityZone?: string;
  /** @default - the flavor's disk */
  readonly bootVolume?: BootVolume;
  /** Kubernetes node labels. @default {} */
  readonly labels?: Readonly<Record<string, string>>;
  /** Kubernetes node taints. @default [] */
  readonly taints?: readonly Taint[];
  /** @default 'soft-anti-affinity' */
  readonly serverGroupPolicy?: ServerGroupPolicy | false;
  /**
   * Opt-in: how a stack update that changes the workers' definition (a new image or flavor) rolls through the group:
   * `maxBatchSize` workers at a time (highest names first), `pauseSeconds` between batches (the default of the
   * `workers_<name>_update_pause` parameter, which can be changed at update time).
   * Heat's ResourceGroup batches every update that changes a member's definition, and every member carries the group's
   * port and address maps, so with a rolling policy a scale-up is batched too (new members `maxBatchSize` at a time,
   * with the pause between batches): choose a batch size that keeps scale-ups fast enough. Without it, a scale-up
   * creates all new workers at once and an image or flavor change updates every worker of the group at once (never
   * etcd or masters, which always roll one at a time).
   * @default - no rolling policy
   */
  readonly rollingUpdate?: WorkerRollingUpdate;
  /**
   * Opt-in: how the group's workers are laid out in Heat. `split` gives each worker a port member, a server member
   * and one member per application pool (two or three nested stacks); `compact` puts a worker's port, server, wait
   * condition and pool members into one nested stack: about a sixth fewer Heat resources and half the nested stacks
   * per worker, so less Heat engine time and more workers under `max_resources_per_stack` (183 instead of 152 in the
   * default cluster). A worker needs no other node's address before it boots, so nothing is lost; removal by name
   * (`workers_<name>_remove`) works the same. Changing the layout of an existing group replaces its workers.
   * @default 'split'
   */
  readonly layout?: NodeGroupLayout;
  /**
   * Whether the group may use the member templates of an earlier group of the same shape (same layout, boot volume,
   * zone presence, server group policy or none) instead of building its own. Such groups write one member template
   * file either way (synthesis writes identical templates once); sharing only saves building them, a few
   * milliseconds per group. Set false when an escape hatch must reach this group's member templates alone: on a shared
   * template it reaches every group that shares it. Only `split` groups share.
   * @default true
   */
  readonly shareMemberTemplates?: boolean;
}

/** A worker group's rolling update. */
export interface WorkerRollingUpdate {
  /** @default 1 */
  readonly maxBatchSize?: number;
  /** @default 60 */
  readonly pauseSeconds?: number;
}

export interface WorkerGroupProps extends WorkerGroupOptions {
  readonly clusterName: string;
  readonly network: ClusterNetwork;
  readonly securityGroups: ClusterSecurityGroups;
  readonly secrets: ClusterSecrets;
  /** The cluster's image parameter (used when the group's own image parameter is empty). */
  readonly clusterImage: HeatParameter;
  readonly keyName?: Input<string>;
  readonly allowedAddressPairs?: readonly { readonly ipAddress: string }[];
  readonly apiAddress: Input<string>;
  readonly bootstrapToken: Input<string>;
  /** Synth-time bootstrap settings. */
  readonly bootstrap: KubeNodeContext;
  /**
   * The node groups of earlier worker groups of the same cluster, by the shape of their member templates: a group
   * finding its shape here uses that group's member templates (see {@link WorkerGroupOptions.shareMemberTemplates}),
   * else it adds itself. Only what comes from the same Cluster may share: every prop above is the same for all its
   * groups. @default - no sharing
   */
  readonly memberTemplates?: Map<string, Map<string, NodeGroup>>;
}

/**
 * A group of workers with its own name, size, flavor, image, zone, boot volume, labels and taints. The size is a
 * HOT number parameter with a `range` constraint, so scaling is a parameter change; groups are children named by
 * their name, so adding one never renames another's resources.
 */
export class WorkerGroup extends Construct {
  public readonly name: string;
  public readonly size: number;
  public readonly minSize: number;
  public readonly maxSize: number;
  public readonly countParameter: HeatParameter;
  /** What the group's user-data was rendered from (for the bill of materials). */
  public readonly userDataContext: WorkerUserDataContext;
  public readonly flavorParameter: HeatParameter;
  /** `workers_<name>_image`: the group's own image; empty means the cluster's `image`. */
  public readonly imageParameter: HeatParameter;
  /**
   * `workers_<name>_remove`: the workers to delete on the next stack update, by number or server name. Lower the count
   * by as many to remove them, keep it to have them replaced by new members; a removed number is never used again.
   */
  public readonly removeParameter: HeatParameter;
  /** `workers_<name>_update_pause`: seconds between two batches of a rolling update (only with `rollingUpdate`). */
  public readonly updatePauseParameter?: HeatParameter;
  /** Workers updated at a time by a rolling update (only with `rollingUpdate`). */
  public readonly maxBatchSize?: number;
  public readonly nodes: NodeGroup;
  /** `split` or `compact` (see {@link WorkerGroupOptions.layout}). */
  public readonly layout: NodeGroupLayout;
  private readonly extraSecurityGroups: OsNeutronSecurityGroup[] = [];

  constructor(scope: Construct, id: string, props: WorkerGroupProps) {
    super(scope, id);
    const path = this.node.path;
    this.name = checkDnsLabel(path, 'name', props.name, 20);
    this.size = checkInt(path, 'size', props.size ?? 3, 0);
    this.minSize = checkInt(path, 'minSize', props.minSize ?? 0, 0);
    this.maxSize = checkInt(path, 'maxSize', props.maxSize ?? Math.max(10, this.size), 1);
    if (!(this.minSize <= this.size && this.size <= this.maxSize)) {
      throw new HotError(path, `size must lie within minSize..maxSize (${this.minSize}..${this.maxSize}); got ${this.size}`);
    }
    const labels = props.labels ?? {};
    if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) {
      throw new HotError(path, `labels must be a map of label keys to values; got ${describeValue(labels)}`);
    }
    for (const [k, v] of Object.entries(labels)) {
      checkLabelKey(path, 'label', k);
      checkLabelValue(path, `label ${k}`, v);
    }
    try {
      checkNodeLabels(labels, `worker group ${this.name}`); // the NodeRestriction rule, in one place (the bootstrap's)
    } catch (e) {
      throw wrap(path, e);
    }
    if (props.taints !== undefined && !Array.isArray(props.taints)) {
      throw new HotError(path, `taints must be a list of {key, value?, effect}; got ${describeValue(props.taints)}`);
    }
    for (const t of props.taints ?? []) checkTaint(path, t);
    this.layout = checkOneOf(path, 'layout', props.layout ?? 'split', NODE_GROUP_LAYOUTS);
    const p = `workers_${this.name.replace(/-/g, '_')}`;
    this.countParameter = new HeatParameter(this, 'Count', {
      name: `${p}_count`,
      type: 'number',
      label: `Workers in group ${this.name}`,
      // the range lives only in the constraint, so a template differs from a larger group's only there
      description: `Number of worker nodes in group ${this.name}; change it to scale the group`,
      constraints: [
        {
          range: { min: this.minSize, max: this.maxSize },
          description: `group ${this.name} holds ${this.minSize} to ${this.maxSize} workers`,
        },
      ],
      value: this.size,
    });
    this.flavorParameter = new HeatParameter(this, 'Flavor', {
      name: `${p}_flavor`,
      type: 'string',
      label: `Flavor of group ${this.name}`,
      description: `Nova flavor of the workers in group ${this.name}`,
      constraints: [{ customConstraint: 'nova.flavor' }],
      value: props.flavor,
    });
    const image = roleImage(this, 'Image', `${p}_image`, `the workers of group ${this.name}`, props.clusterImage, props.image);
    this.imageParameter = image.parameter;
    const namePrefix = `${props.clusterName}-${this.name}`;
    this.removeParameter = new HeatParameter(this, 'Remove', {
      name: `${p}_remove`,
      type: 'comma_delimited_list',
      label: `Workers to remove from group ${this.name}`,
      description: `Numbers (2 for ${namePrefix}-2) or names of workers to delete on the next update; lower the count to remove them, keep it to replace them`,
      default: [],
    });
    const rolling = props.rollingUpdate;
    if (rolling !== undefined) {
      if (typeof rolling !== 'object' || rolling === null || Array.isArray(rolling)) {
        throw new HotError(path, `rollingUpdate must be { maxBatchSize?, pauseSeconds? }; got ${describeValue(rolling)}`);
      }
      this.maxBatchSize = checkInt(path, 'rollingUpdate.maxBatchSize', rolling.maxBatchSize ?? 1, 1, Math.max(1, this.maxSize));
      const pause = checkInt(path, 'rollingUpdate.pauseSeconds', rolling.pauseSeconds ?? DEFAULT_WORKER_UPDATE_PAUSE_SEC, 0, 3600);
      this.updatePauseParameter = new HeatParameter(this, 'UpdatePause', {
        name: `${p}_update_pause`,
        type: 'number',
        label: `Rolling update pause of group ${this.name}`,
        description: `Seconds between two batches of ${this.maxBatchSize} when an update changes the definition of group ${this.name} (scale-ups included)`,
        constraints: [{ range: { min: 0, max: 3600 } }],
        default: pause,
      });
    }
    this.userDataContext = { ...props.bootstrap, group: this.name, labels, taints: props.taints ?? [] };
    let rendered;
    let deployValues;
    try {
      rendered = renderWorkerUserData(this.userDataContext);
      deployValues = workerDeployValues(this.userDataContext);
    } catch (e) {
      throw wrap(path, e);
    }
    // the WaitCondition outlasts the node's own bootstrap budget (every bounded phase, its overshoot, cloud-init)
    const budget = kubeNodeBudgetSec(props.bootstrap.bounds, 'worker');
    // what of a group reaches its member templates other than through their inputs (the props below the Cluster
    // gives every group alike): the rendered user-data, the boot volume, the zone's presence (an input) and, on a
    // typed boot volume, its value, and the server group
    const registry = props.shareMemberTemplates === false || this.layout !== 'split' ? undefined : props.memberTemplates;
    const shapeKey =
      registry &&
      JSON.stringify([
        props.bootVolume ?? null,
        props.availabilityZone === undefined ? null : props.bootVolume?.volumeType === undefined ? '' : props.availabilityZone,
        props.serverGroupPolicy === false,
      ]);
    const leader = registry && registry.get(shapeKey!)?.get(rendered.text);
    this.nodes = new NodeGroup(this, 'Workers', {
      role: 'worker',
      namePrefix,
      count: this.countParameter.value,
      maxCount: this.maxSize,
      networkId: props.network.networkId,
      subnetId: props.network.subnetId,
      securityGroupIds: () => [...props.securityGroups.groupIdsFor('worker'), ...this.extraSecurityGroups.map((g) => g.ref())],
      allowedAddressPairs: props.allowedAddressPairs,
      flavor: this.flavorParameter.value,
      image: image.value,
      keyName: props.keyName,
      availabilityZone: props.availabilityZone,
      serverGroupPolicy: props.serverGroupPolicy,
      bootVolume: props.bootVolume,
      waitTimeoutSec: SERVER_BOOT_ALLOWANCE_SEC + budget,
      serverMetadata: upgradeMetadata(props.bootstrap.kubernetesVersion),
      layout: this.layout,
      shareMemberTemplatesOf: leader,
      removalList: memberNames(this.removeParameter, `${namePrefix}-`),
      rollingUpdate:
        this.updatePauseParameter && this.maxBatchSize !== undefined
          ? { maxBatchSize: this.maxBatchSize, pauseSeconds: this.updatePauseParameter.value as unknown as number }
          : undefined,
      // labels and taints come in as member-template parameters: groups of one shape share the member template
      userData: (m) => ({
        rendered,
        values: {
          ...kubeNodeValues(m, { apiAddress: props.apiAddress, bootstrapToken: props.bootstrapToken, secrets: props.secrets }),
          __NODE_LABELS__: m.input(
            'node_labels',
            { type: 'string', description: "The group's node labels (kubelet --node-labels)" },
            deployValues.__NODE_LABELS__,
          ).value,
          __NODE_TAINTS__: m.input(
            'node_taints',
            { type: 'string', description: "The group's taints (JSON list, kubeadm nodeRegistration.taints)" },
            deployValues.__NODE_TAINTS__,
          ).value,
        },
      }),
    });
    if (registry && !leader) {
      const byText = registry.get(shapeKey!) ?? new Map<string, NodeGroup>();
      registry.set(shapeKey!, byText);
      byText.set(rendered.text, this.nodes);
    }
  }

  /**
   * Attach a security group to this group's nodes only (e.g. the client CIDRs of an application exposed through an
   * ovn load balancer). The ports' security groups are read at synthesis, so this works after construction too.
   */
  addSecurityGroup(group: OsNeutronSecurityGroup): void {
    if (this.extraSecurityGroups.includes(group))
      throw new HotError(this.node.path, `security group ${group.node.path} is attached to worker group ${this.name} already`);
    this.extraSecurityGroups.push(group);
  }
}

/**
 * The member names a removal parameter lists, for the groups' `removal_policies`: server names lose their prefix
 * (`prod-general-2` -> `2`) and blanks are dropped. An empty list gives `['']`; Heat ignores names that are not
 * members (test/heat/member-removal.test.ts runs both through Heat's ResourceGroup).
 */
function memberNames(param: HeatParameter, prefix: string): IResolvable {
  const stripped = Fn.strReplace(Fn.join(',', param.value as unknown as string[]), { [prefix]: '', ' ': '' });
  return Fn.split(',', stripped as unknown as string);
}
