/**
 * What the agent reads from its own stack: the output `hotk8s_autoscaling`, which synth writes (see
 * `../cluster-autoscaling.ts`). Because it is a stack output, a stack update that changes a group's range, labels or
 * healing settings reaches the running agent on its next read, without re-applying any manifest.
 */

/** The output's name. */
export const AUTOSCALING_OUTPUT = 'hotk8s_autoscaling';

export interface GroupView {
  /** The count parameter's range (what the autoscaler may scale between). */
  readonly min: number;
  readonly max: number;
  /** Parameter names: `workers_<g>_count`, `workers_<g>_remove`, `workers_<g>_flavor`. */
  readonly count: string;
  readonly remove: string;
  readonly flavor: string;
  /** Server names are `<prefix><member>`, e.g. `prod-default-` + `3`. */
  readonly prefix: string;
  /** Labels a new node of the group registers with (the group's, its worker-group label, kubernetes.io/os and arch). */
  readonly labels: Readonly<Record<string, string>>;
  readonly taints: readonly { readonly key: string; readonly value?: string; readonly effect: string }[];
  /** Whether the cluster-autoscaler may scale this group. */
  readonly autoscale: boolean;
  /** Whether failed nodes of this group are replaced. */
  readonly heal: boolean;
  /** Member name -> Nova server id (null while the server is being created or when it failed). */
  readonly servers: Readonly<Record<string, string | null>> | null;
}

export interface HealView {
  /** Seconds a node may be NotReady (or its server gone or in ERROR) before it is replaced. */
  readonly notReadySec: number;
  /** At most this many unhealthy nodes in a group (a number, or a percentage of the group such as "40%"), else no repair there. */
  readonly maxUnhealthy: string;
  /** Seconds between two checks. */
  readonly intervalSec: number;
}

export interface AutoscalingView {
  readonly cluster: string;
  readonly groups: Readonly<Record<string, GroupView>>;
  /** Absent when healing is off. */
  readonly heal?: HealView;
  /** Set nodes' spec.providerID (`openstack:///<server id>`) when no cloud-controller-manager does. */
  readonly providerIds: boolean;
}
