import { Construct } from 'constructs';
import { HotError, describeValue } from '../core/errors.js';
import { Fn } from '../core/intrinsics.js';
import type { HeatParameter, HeatParameterProps } from '../core/parameter.js';
import type { DeletionPolicy } from '../core/resource.js';
import { Lazy, type IResolvable, type Input } from '../core/tokens.js';
import type { RenderedUserData } from '../bootstrap/render.js';
import { OsCinderVolume, OsCinderVolumeAttachment } from '../heat/generated/cinder.generated.js';
import { OsHeatWaitCondition, OsHeatWaitConditionHandle } from '../heat/generated/heat.generated.js';
import { OsNeutronPort, type OsNeutronPortProps } from '../heat/generated/neutron.generated.js';
import { OsNovaServer, OsNovaServerGroup, type OsNovaServerProps } from '../heat/generated/nova.generated.js';
import { OsOctaviaPoolMember } from '../heat/generated/octavia.generated.js';
import type { NodeRole } from './cluster-security-groups.js';
import type { LoadBalancerPool } from './load-balancer-pool.js';
import { checkInt, checkOneOf } from './private/names.js';
import { TemplateGroup } from './private/template-group.js';

export type ServerGroupPolicy = 'anti-affinity' | 'soft-anti-affinity' | 'affinity' | 'soft-affinity';

/**
 * How a node group's members are laid out in Heat (see {@link NodeGroup}): `split` gives every node a port-only
 * member (created before any server, so every address is known at boot), a server member and one member per pool
 * membership; `compact` puts a node's port, server, wait condition and pool memberships into one member.
 */
export type NodeGroupLayout = 'split' | 'compact';
export const NODE_GROUP_LAYOUTS: readonly NodeGroupLayout[] = ['split', 'compact'];
/** The member input each node's own address is looked up in, by its member name. */
const ADDRESS_MAP_INPUT = {
  type: 'json',
  description: "Address of every node of the group, by member name (the ports group's attributes)",
} as const;

export const SERVER_GROUP_POLICIES: readonly ServerGroupPolicy[] = ['anti-affinity', 'soft-anti-affinity', 'affinity', 'soft-affinity'];

/** A boot volume instead of the flavor's root disk. */
export interface BootVolume {
  readonly sizeGiB: number;
  /** @default - the cloud's default volume type */
  readonly volumeType?: string;
}

/** A Cinder data volume per member. */
export interface DataVolume {
  readonly sizeGiB: number;
  /** @default - the cloud's default volume type */
  readonly volumeType?: string;
  /** What happens to the volume when its member or the stack is deleted. @default 'Snapshot' */
  readonly deletionPolicy?: 'Snapshot' | 'Retain';
}

/** A further Cinder volume per member (beside the data volume), e.g. the etcd backup volume. */
export interface ExtraVolume extends DataVolume {
  /** Names the member-template resources (`<name>Volume`, `<name>VolumeAttachment`) and the server-side name suffix. */
  readonly name: string;
}

/** What a member template offers the code that writes a node's user-data. */
export interface MemberContext {
  /** The member's index (a number parameter). */
  readonly index: IResolvable;
  /** The server's name, e.g. `demo-etcd-0`. */
  readonly nodeName: IResolvable;
  /** This node's fixed address. */
  readonly address: IResolvable;
  /** The WaitConditionHandle's `curl_cli`. */
  readonly signalCurl: IResolvable;
  /** Id of the member's data volume (when it has one). */
  readonly dataVolumeId?: IResolvable;
  /** Ids of the member's extra volumes, by `ExtraVolume.name`. */
  readonly extraVolumeIds: Readonly<Record<string, IResolvable>>;
  /** A member-template parameter fed from the root template (e.g. a hidden secret, an address list). */
  input(name: string, props: Omit<HeatParameterProps, 'value' | 'secretValue' | 'name'>, rootValue: unknown): HeatParameter;
}

/** The user-data of a node: rendered text with placeholders, and the value of each placeholder. */
export interface NodeUserData {
  readonly rendered: RenderedUserData;
  readonly values: Readonly<Record<string, unknown>>;
}

export interface NodeGroupProps {
  readonly role: NodeRole;
  /** Server names are `<namePrefix>-<index>`; a DNS label. */
  readonly namePrefix: string;
  /** Number of nodes: a number, or a `get_param` of a number parameter. */
  readonly count: Input<number>;
  /** The most nodes the group can have, for capacity checks. */
  readonly maxCount: number;
  readonly networkId: Input<string>;
  readonly subnetId: Input<string>;
  /** Security group ids of every node; a function is called at synthesis, so groups attached later are included. */
  readonly securityGroupIds: readonly Input<string>[] | (() => readonly Input<string>[]);
  /** Neutron allowed_address_pairs on each port (flannel host-gw). @default - none */
  readonly allowedAddressPairs?: readonly { readonly ipAddress: string }[];
  readonly flavor: Input<string>;
  readonly image: Input<string>;
  /** @default - no key pair */
  readonly keyName?: Input<string>;
  /** @default - the cloud's default zone */
  readonly availabilityZone?: Input<string>;
  /** Nova server group policy, or false for none. @default 'soft-anti-affinity' */
  readonly serverGroupPolicy?: ServerGroupPolicy | false;
  /** @default - boot from the image on the flavor's disk */
  readonly bootVolume?: BootVolume;
  /** @default - none */
  readonly dataVolume?: DataVolume;
  /** Further Cinder volumes per member, attached after the data volume. @default - none */
  readonly extraVolumes?: readonly ExtraVolume[];
  /** Seconds the member's WaitCondition waits for its node's signal. */
  readonly waitTimeoutSec: number;
  /**
   * What to do with the server when its user-data changes on a stack update. IGNORE keeps running nodes (a new
   * hotk8s release or a rotated token reaches only nodes created afterwards); REPLACE rebuilds every node.
   * @default 'IGNORE'
   */
  readonly userDataUpdatePolicy?: 'REPLACE' | 'IGNORE';
  /**
   * Further Nova server metadata (beside `hotk8s-role`). Heat changes a server's metadata in place (no rebuild) and
   * Nova's metadata service serves the new value, so this is how a stack update reaches running nodes (the target
   * Kubernetes version for the upgrade agent). @default - none
   */
  readonly serverMetadata?: Readonly<Record<string, string>>;
  /** The node's user-data, written in the member template's terms. */
  readonly userData: (m: MemberContext) => NodeUserData;
  /**
   * Extra Nova metadata of each server (keys and values at most 255 characters). Unlike the user-data, a change is
   * applied in place by a stack update and the node reads it from the metadata service: the delivery path of
   * values that must reach running nodes (the masters' renewed etcd client certificate). @default - none
   */
  readonly metadata?: (m: MemberContext) => Record<string, unknown>;
  /**
   * Member names ("0", "1", ...) to delete on the next stack update (the ports group's `removal_policies`; the nodes
   * and pool-membership groups then skip exactly the names the ports group skips). With the count lowered by as many
   * they are removed, with the count kept they are replaced by new members; Heat never reuses a removed name.
   * @default - scale-down removes the highest names
   */
  readonly removalList?: Input<string[]>;
  /**
   * How a stack update that changes the member definition (a new image or flavor) rolls through the nodes: Heat's
   * ResourceGroup `rolling_update` with `min_in_service: 0` (never an extra member: an etcd cluster or a control plane
   * must not grow during an update), `maxBatchSize` members at a time, highest member names first, a pause between
   * batches. Creation is unaffected (all members in parallel).
   * @default - every member at once (Heat's default)
   */
  readonly rollingUpdate?: RollingUpdate;
  /**
   * `split` (one port member, one server member and one member per pool membership for each node) or `compact` (one
   * member per node holding its port, server, wait condition and pool memberships). Compact costs Heat one nested
   * stack per node instead of two or more and has no address maps, but a node learns no other node's address
   * before it boots: only for nodes that need none (workers; never etcd, whose initial cluster lists every peer).
   * @default 'split'
   */
  readonly layout?: NodeGroupLayout;
  /**
   * Build no member templates: use those of `group`, a NodeGroup of the same role and layout whose members are
   * identical to what this group's would be (its caller vouches for that: every difference between the groups must
   * reach the members as member-template inputs). Only the `split` layout shares, since a `compact` member template
   * grows with each pool membership. Costs one ResourceGroup per group instead of a template per group.
   * @default - member templates of its own
   */
  readonly shareMemberTemplatesOf?: NodeGroup;
}

/** A rolling update of a node group (see {@link NodeGroupProps.rollingUpdate}). */
export interface RollingUpdate {
  /** Members updated at a time. */
  readonly maxBatchSize: number;
  /** Seconds between batches (a number, or a `get_param` of a number parameter). */
  readonly pauseSeconds: Input<number>;
}

/**
 * Nodes of one role, created so that nothing waits for another node's bootstrap or for a load balancer:
 *
 * - `Ports`: a ResourceGroup of port-only member templates, created first (seconds), so every node's address is
 *   known before any server boots (the etcd initial cluster, the API endpoint in single-master mode, pool members);
 * - `Nodes`: a ResourceGroup whose member template holds the server (`user_data_format: RAW`, user-data through
 *   `str_replace`), optional volumes, and the node's own WaitConditionHandle and WaitCondition;
 * - one ResourceGroup per pool membership (`addPoolMembership`), indexed like the nodes and fed from the ports'
 *   addresses: members appear beside the servers, and the servers never wait for the load balancer.
 *
 * All groups share the count, so scaling is one parameter change.
 *
 * With `layout: 'compact'` there is one ResourceGroup, `Nodes`, whose member holds the node's port, server, handle,
 * wait condition and pool members (`ports` is that same group): a node's port is still created before its server
 * (the server refers to it) and its pool members beside the server, so the creation critical path is unchanged.
 */
export class NodeGroup extends Construct {
  public readonly role: NodeRole;
  public readonly layout: NodeGroupLayout;
  /** The group whose members hold the ports (with `compact`, the same group as {@link nodes}). */
  public readonly ports: TemplateGroup;
  public readonly nodes: TemplateGroup;
  public readonly serverGroup?: OsNovaServerGroup;
  /** Every node's fixed address (a list, deploy time). */
  public readonly addresses: IResolvable;
  /** Every node's port id (a list, deploy time). */
  public readonly portIds: IResolvable;
  /** Every node's server name (a list, deploy time). */
  public readonly serverNames: IResolvable;
  public readonly waitTimeoutSec: number;
  private readonly props: NodeGroupProps;
  /** The ports group's removed names (`removed_rsrc_list`), when the group takes a removal list. */
  private readonly removedNames?: IResolvable;
  /** compact: the member's own address and the member template's subnet input (for pool members). */
  private readonly compactAddress?: IResolvable;
  private memberSubnet?: IResolvable;
  /** The member-template resources that a group sharing these templates refers to. */
  private readonly member: MemberResources;

  constructor(scope: Construct, id: string, props: NodeGroupProps) {
    super(scope, id);
    const path = this.node.path;
    this.props = props;
    this.role = props.role;
    checkInt(path, 'maxCount', props.maxCount, 0);
    this.waitTimeoutSec = checkInt(path, 'waitTimeoutSec', props.waitTimeoutSec, 60, 43200);
    const policy = props.serverGroupPolicy === undefined ? 'soft-anti-affinity' : props.serverGroupPolicy;
    if (policy !== false) checkOneOf(path, 'serverGroupPolicy', policy, SERVER_GROUP_POLICIES);
    if (props.bootVolume) checkInt(path, 'bootVolume.sizeGiB', props.bootVolume.sizeGiB, 1, 16384);
    if (props.dataVolume) {
      checkInt(path, 'dataVolume.sizeGiB', props.dataVolume.sizeGiB, 1, 16384);
      checkOneOf(path, 'dataVolume.deletionPolicy', props.dataVolume.deletionPolicy ?? 'Snapshot', ['Snapshot', 'Retain']);
    }

    this.layout = checkOneOf(path, 'layout', props.layout ?? 'split', NODE_GROUP_LAYOUTS);
    const compact = this.layout === 'compact';
    // a group sharing another's member templates feeds them its values through the same input() calls below, but
    // builds none of their resources: it refers to the other group's
    const leader = props.shareMemberTemplatesOf;
    if (leader && (leader.layout !== 'split' || compact || leader.role !== props.role))
      throw new HotError(
        path,
        `only split node groups of one role share member templates; ${leader.node.path} is ${leader.role} ${leader.layout}`,
      );
    const shared = leader?.member;
    // the port of a member of `t`, named after the member; the subnet input is kept for compact pool members
    const portProps = (t: TemplateGroup, namePrefix: IResolvable): OsNeutronPortProps => ({
      name: Fn.join('-', [namePrefix, Fn.strReplace('port-%i', { '%i': t.index })]) as unknown as string,
      network: t.input('network', { type: 'string', description: 'Network id' }, props.networkId).value,
      fixedIps: [{ subnet: (this.memberSubnet = t.input('subnet', { type: 'string', description: 'Subnet id' }, props.subnetId).value) }],
      securityGroups: t.input(
        'security_groups',
        { type: 'comma_delimited_list', description: 'Security group ids' },
        securityGroupList(props.securityGroupIds),
      ).value as unknown as string[],
      allowedAddressPairs: props.allowedAddressPairs?.map((p) => ({ ipAddress: p.ipAddress })),
    });

    // --- ports, first (split layout)
    let pt: TemplateGroup | undefined;
    let splitPort: OsNeutronPort | undefined;
    if (!compact) {
      pt = new TemplateGroup(this, 'Ports', {
        count: props.count,
        maxCount: props.maxCount,
        description: `hotk8s ${props.role} node port (created before any server, so every address is known at boot)`,
        removalList: props.removalList,
        shareTemplateOf: leader?.ports,
      });
      // every other group of these nodes skips the names the ports group skips, so a node and its port go together
      this.removedNames = props.removalList === undefined ? undefined : Fn.getAttr(pt.group, 'removed_rsrc_list');
      const splitPortProps = portProps(pt, pt.input('name_prefix', { type: 'string' }, props.namePrefix).value);
      const port = shared ? shared.splitPort! : new OsNeutronPort(pt.template, 'Port', splitPortProps);
      splitPort = port;
      pt.output('address', port.getAtt('fixed_ips', 0, 'ip_address'), "The port's fixed IPv4 address");
      pt.output('port_id', port.ref(), 'The port id');
    }

    // --- servers
    if (policy !== false) {
      this.serverGroup = new OsNovaServerGroup(this, 'ServerGroup', { name: `${props.namePrefix}-group`, policies: [policy] });
    }
    this.nodes = new TemplateGroup(this, 'Nodes', {
      count: props.count,
      maxCount: props.maxCount,
      description: compact
        ? `hotk8s ${props.role} node: port, server, its bootstrap, its own wait condition and its pool memberships`
        : `hotk8s ${props.role} node: server, its bootstrap and its own wait condition`,
      removalList: compact ? props.removalList : this.removedNames,
      shareTemplateOf: leader?.nodes,
    });
    const nt = this.nodes;
    this.ports = pt ?? nt;
    if (props.rollingUpdate) {
      const r = props.rollingUpdate;
      checkInt(path, 'rollingUpdate.maxBatchSize', r.maxBatchSize, 1, Math.max(1, props.maxCount));
      if (typeof r.pauseSeconds === 'number') checkInt(path, 'rollingUpdate.pauseSeconds', r.pauseSeconds, 0, 3600);
      nt.group.heatUpdatePolicy = {
        rolling_update: { min_in_service: 0, max_batch_size: r.maxBatchSize, pause_time: r.pauseSeconds },
      };
    }
    const index = nt.index;
    const namePrefix = nt.input('name_prefix', { type: 'string' }, props.namePrefix).value;
    const nodeName = Fn.join('-', [namePrefix, Fn.strReplace('%i', { '%i': index })]);
    // split: each member finds its own port and address by its name, not by a position in a list (see
    // TemplateGroup.index); compact: the member's own port
    let portId: IResolvable;
    let address: IResolvable;
    if (pt) {
      const portIdsParam = nt.input(
        'port_id_map',
        { type: 'json', description: "Port id of every node of the group, by member name (the ports group's attributes)" },
        pt.attributeMap('port_id'),
      );
      const addressesParam = nt.input('address_map', ADDRESS_MAP_INPUT, pt.attributeMap('address'));
      portId = Fn.getParam(portIdsParam, index);
      address = Fn.getParam(addressesParam, index);
      this.addresses = Fn.getAttr(pt.group, 'address');
      this.portIds = Fn.getAttr(pt.group, 'port_id');
    } else {
      const port = new OsNeutronPort(nt.template, 'Port', portProps(nt, namePrefix));
      portId = port.ref();
      address = port.getAtt('fixed_ips', 0, 'ip_address');
      this.addresses = nt.output('address', address, "The port's fixed IPv4 address");
      this.portIds = nt.output('port_id', portId, 'The port id');
    }
    this.compactAddress = pt ? undefined : address;
    const handle = shared?.handle ?? new OsHeatWaitConditionHandle(nt.template, 'WaitHandle', { signalTransport: 'TOKEN_SIGNAL' });
    let volume: OsCinderVolume | undefined;
    if (shared && (props.dataVolume || props.extraVolumes?.length))
      throw new HotError(path, 'a node group with volumes of its own does not share member templates');
    if (props.dataVolume) {
      volume = new OsCinderVolume(nt.template, 'DataVolume', {
        size: props.dataVolume.sizeGiB,
        volumeType: props.dataVolume.volumeType,
        name: Fn.join('-', [nodeName, 'data']) as unknown as string,
        availabilityZone: props.availabilityZone,
      });
      volume.heatDeletionPolicy = (props.dataVolume.deletionPolicy ?? 'Snapshot') as DeletionPolicy;
    }
    const extraVolumes = (props.extraVolumes ?? []).map((v) => {
      if (!/^[A-Z][A-Za-z0-9]{0,31}$/.test(v.name))
        throw new HotError(path, `extraVolumes name must be PascalCase letters and digits; got ${describeValue(v.name)}`);
      checkInt(path, `extraVolumes ${v.name}.sizeGiB`, v.sizeGiB, 1, 16384);
      checkOneOf(path, `extraVolumes ${v.name}.deletionPolicy`, v.deletionPolicy ?? 'Snapshot', ['Snapshot', 'Retain']);
      const extra = new OsCinderVolume(nt.template, `${v.name}Volume`, {
        size: v.sizeGiB,
        volumeType: v.volumeType,
        name: Fn.join('-', [nodeName, v.name.toLowerCase()]) as unknown as string,
        availabilityZone: props.availabilityZone,
      });
      extra.heatDeletionPolicy = (v.deletionPolicy ?? 'Snapshot') as DeletionPolicy;
      return { name: v.name, volume: extra };
    });
    const ctx: MemberContext = {
      index,
      nodeName,
      address,
      signalCurl: handle.attrCurlCli,
      dataVolumeId: volume?.ref(),
      extraVolumeIds: Object.fromEntries(extraVolumes.map((v) => [v.name, v.volume.ref()])),
      input: (name, p, rootValue) => nt.input(name, p, rootValue),
    };
    const ud = props.userData(ctx);
    const extraMetadata = props.metadata?.(ctx) ?? {};
    checkPlaceholders(path, ud);
    const imageInput = () =>
      nt.input('image', { type: 'string', description: 'Glance image', constraints: [{ customConstraint: 'glance.image' }] }, props.image)
        .value;
    // Heat 19's block_device_mapping_v2 has no volume_type: a typed boot volume is a Cinder volume of its own, made
    // from the image, that the server boots from (deleted with the member: Heat deletes the server first)
    const bootVolumeProps =
      props.bootVolume?.volumeType !== undefined
        ? {
            size: props.bootVolume.sizeGiB,
            volumeType: props.bootVolume.volumeType,
            image: imageInput(),
            name: Fn.join('-', [nodeName, 'boot']) as unknown as string,
            availabilityZone: props.availabilityZone,
          }
        : undefined;
    const typedBootVolume = shared
      ? shared.typedBootVolume
      : bootVolumeProps && new OsCinderVolume(nt.template, 'BootVolume', bootVolumeProps);
    const serverProps: OsNovaServerProps = {
      name: nodeName as unknown as string,
      flavor: nt.input(
        'flavor',
        { type: 'string', description: 'Nova flavor', constraints: [{ customConstraint: 'nova.flavor' }] },
        props.flavor,
      ).value,
      image: props.bootVolume ? undefined : imageInput(),
      blockDeviceMappingV2: typedBootVolume
        ? [{ bootIndex: 0, volumeId: typedBootVolume.ref(), deleteOnTermination: false }]
        : props.bootVolume
          ? [{ bootIndex: 0, image: imageInput(), volumeSize: props.bootVolume.sizeGiB, deleteOnTermination: true }]
          : undefined,
      keyName:
        props.keyName === undefined
          ? undefined
          : nt.input(
              'key_name',
              { type: 'string', description: 'Nova key pair', constraints: [{ customConstraint: 'nova.keypair' }] },
              props.keyName,
            ).value,
      availabilityZone:
        props.availabilityZone === undefined
          ? undefined
          : nt.input('availability_zone', { type: 'string', description: 'Availability zone' }, props.availabilityZone).value,
      schedulerHints: this.serverGroup
        ? { group: nt.input('server_group', { type: 'string', description: 'Nova server group id' }, this.serverGroup.ref()).value }
        : undefined,
      networks: [{ port: portId }],
      userDataFormat: 'RAW',
      userData: Fn.strReplace(ud.rendered.text, sortedValues(ud.values)) as unknown as string,
      userDataUpdatePolicy: props.userDataUpdatePolicy ?? 'IGNORE',
      metadata: { ...props.serverMetadata, ...extraMetadata, 'hotk8s-role': props.role },
    };
    if (shared) {
      // the outputs exist in the shared template; these only check that and give this group's attributes
      this.serverNames = nt.output('name', shared.server.attrName, 'The server name');
      nt.output('server_id', shared.server.ref(), 'The server id');
      this.member = shared;
      return;
    }
    const server = new OsNovaServer(nt.template, 'Server', serverProps);
    let previous: OsCinderVolumeAttachment | undefined;
    if (volume) {
      previous = new OsCinderVolumeAttachment(nt.template, 'DataVolumeAttachment', { instanceUuid: server.ref(), volumeId: volume.ref() });
    }
    for (const v of extraVolumes) {
      const attachment = new OsCinderVolumeAttachment(nt.template, `${v.name}VolumeAttachment`, {
        instanceUuid: server.ref(),
        volumeId: v.volume.ref(),
      });
      // one attachment at a time per server (Nova picks device names per attach request)
      if (previous) attachment.addDependency(previous);
      previous = attachment;
    }
    new OsHeatWaitCondition(nt.template, 'WaitCondition', { handle: handle.ref(), timeout: this.waitTimeoutSec, count: 1 });
    this.serverNames = nt.output('name', server.attrName, 'The server name');
    nt.output('server_id', server.ref(), 'The server id');
    this.member = { splitPort, handle, typedBootVolume, server };
  }

  /**
   * Make every node a member of `pool` on `protocolPort`: a ResourceGroup indexed like the nodes, fed from the
   * ports' addresses, so members are created beside the servers and no server waits for the load balancer.
   */
  addPoolMembership(id: string, pool: LoadBalancerPool, protocolPort: number): TemplateGroup {
    checkInt(this.node.path, `${id} protocolPort`, protocolPort, 1, 65535);
    if (this.layout === 'compact') {
      // in each node's own member, beside its server: the pool id comes in as an input named after the membership
      const nt = this.nodes;
      const input = `pool_${id.replace(/[^A-Za-z0-9]/g, '_').toLowerCase()}`;
      if (nt.hasInput(input)) throw new HotError(this.node.path, `pool membership ${JSON.stringify(id)} is added twice`);
      new OsOctaviaPoolMember(nt.template, `${id.replace(/[^A-Za-z0-9]/g, '')}Member`, {
        pool: nt.input(input, { type: 'string', description: `Octavia pool id (${id})` }, pool.poolId).value,
        address: this.compactAddress!,
        protocolPort,
        subnet: this.memberSubnet!,
      });
      return nt;
    }
    const g = new TemplateGroup(this, id, {
      count: this.props.count,
      maxCount: this.props.maxCount,
      description: `hotk8s ${this.role} node membership in a load balancer pool`,
      removalList: this.removedNames,
    });
    const addresses = g.input('address_map', ADDRESS_MAP_INPUT, this.ports.attributeMap('address'));
    new OsOctaviaPoolMember(g.template, 'Member', {
      pool: g.input('pool', { type: 'string', description: 'Octavia pool id' }, pool.poolId).value,
      address: Fn.getParam(addresses, g.index),
      protocolPort,
      subnet: g.input('subnet', { type: 'string', description: 'Subnet of the members' }, this.props.subnetId).value,
    });
    return g;
  }
}

/** The resources of a node group's member templates that code outside them refers to. */
interface MemberResources {
  readonly splitPort?: OsNeutronPort;
  readonly handle: OsHeatWaitConditionHandle;
  readonly typedBootVolume?: OsCinderVolume;
  readonly server: OsNovaServer;
}

function securityGroupList(ids: NodeGroupProps['securityGroupIds']): unknown {
  if (typeof ids === 'function') return Lazy.value(() => [...ids()]);
  return [...ids];
}

function sortedValues(values: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(values).sort()) out[k] = values[k];
  return out;
}

function checkPlaceholders(path: string, ud: NodeUserData): void {
  const missing = ud.rendered.placeholders.filter((p) => !(p in ud.values) || ud.values[p] === undefined);
  if (missing.length > 0) {
    throw new HotError(
      path,
      `the ${ud.rendered.role} user-data needs a deploy-time value for every placeholder; missing ${missing.join(', ')}`,
    );
  }
  const unused = Object.keys(ud.values).filter((k) => !ud.rendered.placeholders.includes(k));
  if (unused.length > 0)
    throw new HotError(path, `values given for placeholders the ${ud.rendered.role} user-data does not contain: ${describeValue(unused)}`);
}
