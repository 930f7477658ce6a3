import { Construct } from 'constructs';
import { Annotations } from '../core/annotations.js';
import { HotError, describeValue } from '../core/errors.js';
import { Fn } from '../core/intrinsics.js';
import { Lazy, type IResolvable, type Input } from '../core/tokens.js';
import { OsSwiftContainer } from '../heat/generated/swift.generated.js';
import { BootstrapRenderError } from '../bootstrap/render.js';
import {
  ETCD_PLACEHOLDERS,
  etcdBootstrapBudgetSeconds,
  renderEtcdUserData,
  type EtcdBackup,
  type EtcdInstall,
  type EtcdUserDataContext,
} from '../bootstrap/etcd.js';
import type { ClusterNetwork } from './cluster-network.js';
import type { ClusterSecurityGroups } from './cluster-security-groups.js';
import { NodeGroup, type DataVolume, type ServerGroupPolicy } from './node-group.js';
import type { ClusterSecrets } from './private/secrets.js';

export const ETCD_SIZES = [1, 3, 5, 7] as const;
/** Seconds allowed from server creation to the start of its bootstrap script (boot and cloud-init). */
export const SERVER_BOOT_ALLOWANCE_SEC = 600;
/** Default seconds between two etcd members of a rolling update. */
export const DEFAULT_ETCD_UPDATE_PAUSE_SEC = 300;

export interface EtcdClusterProps {
  /** Cluster name (DNS label); servers are `<name>-etcd-<i>`. */
  readonly clusterName: string;
  readonly kubernetesVersion: string;
  readonly podCidr: string;
  /** Members; odd so that a majority survives a failure. @default 3 */
  readonly size?: number;
  readonly network: ClusterNetwork;
  readonly securityGroups: ClusterSecurityGroups;
  readonly secrets: ClusterSecrets;
  readonly flavor: Input<string>;
  readonly image: Input<string>;
  /** @default - no key pair */
  readonly keyName?: Input<string>;
  /** @default 'soft-anti-affinity' */
  readonly serverGroupPolicy?: ServerGroupPolicy | false;
  /** A Cinder volume for /var/lib/etcd per member (kept on delete: Snapshot by default). @default - none */
  readonly dataVolume?: DataVolume;
  /** How nodes get etcd. @default { mode: 'download' } */
  readonly install?: EtcdInstall;
  /**
   * Scheduled snapshots (`etcdctl snapshot save`, a systemd timer) on every member, each to its own Cinder volume
   * (`<server>-backup`, mounted at /var/lib/etcd-backup, kept on delete like the data volume), the newest `retain`
   * kept. Restore: README "etcd backups". Off by default: it adds a Cinder volume per member (quota, and a cloud
   * without Cinder could no longer create the stack).
   * @default - no backups
   */
  readonly backup?: EtcdClusterBackup;
  /**
   * Seconds between two members of a rolling update (a new image or flavor): members are updated one at a time,
   * highest name first, and the next waits this long after the previous one's server is back (ACTIVE), so that it
   * has rejoined before another leaves. A number or a `get_param`.
   * @default 300
   */
  readonly updatePauseSeconds?: Input<number>;
}

/** etcd snapshots: when, how many, and the volume they go to. */
export interface EtcdClusterBackup extends Omit<EtcdBackup, 'volume'> {
  /** Size of each member's backup volume; hold `retain` snapshots (a snapshot is about the database size). @default 20 */
  readonly volumeSizeGiB?: number;
  /** @default - the cloud's default volume type */
  readonly volumeType?: string;
  /** @default 'Snapshot' */
  readonly deletionPolicy?: 'Snapshot' | 'Retain';
  /**
   * Also upload every snapshot to a Swift container (README "etcd backups"): the stack creates (or takes over, with
   * `container`) an `OS::Swift::Container` holding a temp URL key made at synth (kept in the state directory, passed
   * as a hidden parameter); each member signs its own upload URLs with it. The members hold no OpenStack credentials.
   * The container is kept when the stack is deleted.
   * @default - no Swift copy
   */
  readonly swift?: EtcdClusterBackupSwift;
}

/** The Swift copy of the etcd snapshots. */
export interface EtcdClusterBackupSwift {
  /**
   * The container's name (1-256 letters, digits, '.', '_' or '-'); an existing container of that name gets the temp
   * URL key. @default - a name Heat makes (`<stack>-<logical id>-<random>`; `openstack container list`)
   */
  readonly container?: string;
  /** Days Swift keeps each uploaded snapshot (`X-Delete-After`, Swift's object expirer); 0 keeps them. @default 30 */
  readonly deleteAfterDays?: number;
}

/**
 * Dedicated etcd servers with a static bootstrap: every member's port is created first, the full initial-cluster
 * list reaches every member at deploy time, all members boot in parallel, no discovery service. Each member signs its
 * own server and peer certificate with the etcd CA at boot (addresses are only known then), then removes cloud-init's
 * copies of the user-data that carried the CA key. A member with data starts as it is; a member without data (a
 * rebuilt or replaced server) joins the running cluster through a peer, removing its stale identity; it starts a new
 * cluster only when no peer has one.
 */
export class EtcdCluster extends Construct {
  public readonly size: number;
  public readonly nodes: NodeGroup;
  /** What the members' user-data was rendered from (for the bill of materials). */
  public readonly userDataContext: EtcdUserDataContext;
  /** `https://<address>:2379,...` for every member (deploy time). */
  public readonly clientEndpoints: IResolvable;
  public readonly addresses: IResolvable;
  /** The Swift container of the snapshots' copies (with `backup.swift`). */
  public readonly backupContainer?: OsSwiftContainer;

  constructor(scope: Construct, id: string, props: EtcdClusterProps) {
    super(scope, id);
    const path = this.node.path;
    const size = props.size ?? 3;
    if (!(ETCD_SIZES as readonly number[]).includes(size)) {
      throw new HotError(path, `size must be odd (1, 3, 5 or 7) so that a majority survives a failure; got ${describeValue(size)}`);
    }
    this.size = size;
    if (size === 1 && !props.dataVolume) {
      Annotations.of(this).addWarning(
        'a single etcd member without a data volume cannot survive a rebuild or replacement of its server: the cluster ' +
          'would come back empty (every Kubernetes object lost); give etcd a dataVolume, or use 3 members',
      );
    }
    const prefix = `${props.clusterName}-etcd`;
    const backup = props.backup;
    const swift = backup?.swift;
    if (swift !== undefined) {
      if (swift.container !== undefined && (!/^[A-Za-z0-9._-]{1,256}$/.test(swift.container) || /^\.{1,2}$/.test(swift.container))) {
        throw new HotError(
          path,
          `backup.swift.container must be 1-256 letters, digits, '.', '_' or '-' (a Swift container name our signed URLs need no escaping for), and not '.' or '..'; got ${describeValue(swift.container)}`,
        );
      }
      const days = swift.deleteAfterDays;
      if (days !== undefined && (!Number.isInteger(days) || days < 0 || days > 3650)) {
        throw new HotError(
          path,
          `backup.swift.deleteAfterDays must be a whole number of days from 0 (keep) to 3650; got ${describeValue(days)}`,
        );
      }
    }
    const ctx: EtcdUserDataContext = {
      clusterName: props.clusterName,
      kubernetesVersion: props.kubernetesVersion,
      podCidr: props.podCidr,
      dataVolume: Boolean(props.dataVolume), // the same truthiness test as NodeGroup, which adds the volume
      install: props.install,
      backup: backup
        ? {
            schedule: backup.schedule,
            retain: backup.retain,
            randomizedDelaySec: backup.randomizedDelaySec,
            volume: true,
            swift: swift ? { deleteAfterDays: swift.deleteAfterDays } : undefined,
          }
        : undefined,
    };
    let swiftKey: IResolvable | undefined;
    let swiftUrl: IResolvable | undefined;
    if (swift) {
      swiftKey = props.secrets.param('etcd_backup_swift_key').value;
      const container = new OsSwiftContainer(this, 'BackupContainer', {
        name: swift.container,
        xContainerMeta: { 'Temp-URL-Key': swiftKey },
        purgeOnDelete: false,
      });
      // The snapshots outlive the stack, like the backup volumes.
      container.heatDeletionPolicy = 'Retain';
      this.backupContainer = container;
      swiftUrl = Fn.join('/', [container.attrRootUrl, container.ref()]);
    }
    this.userDataContext = ctx;
    let budget: number;
    try {
      budget = etcdBootstrapBudgetSeconds(ctx);
    } catch (e) {
      throw wrap(path, e);
    }
    const memberAddress = (ports: NodeGroup, i: number) => Fn.getAttr(ports.ports.group, `resource.${i}`, 'address');
    let self!: NodeGroup;
    const initialCluster = () =>
      Fn.join(
        ',',
        Array.from({ length: size }, (_, i) => Fn.join('', [`${prefix}-${i}=https://`, memberAddress(self, i), ':2380'])),
      );
    this.nodes = self = new NodeGroup(this, 'Members', {
      role: 'etcd',
      namePrefix: prefix,
      count: size,
      maxCount: size,
      networkId: props.network.networkId,
      subnetId: props.network.subnetId,
      securityGroupIds: props.securityGroups.groupIdsFor('etcd'),
      flavor: props.flavor,
      image: props.image,
      keyName: props.keyName,
      serverGroupPolicy: props.serverGroupPolicy,
      dataVolume: props.dataVolume,
      extraVolumes: backup
        ? [{ name: 'Backup', sizeGiB: backup.volumeSizeGiB ?? 20, volumeType: backup.volumeType, deletionPolicy: backup.deletionPolicy }]
        : undefined,
      waitTimeoutSec: SERVER_BOOT_ALLOWANCE_SEC + budget,
      userDataUpdatePolicy: 'IGNORE',
      // one member at a time: a quorum of the others always runs
      rollingUpdate: { maxBatchSize: 1, pauseSeconds: props.updatePauseSeconds ?? DEFAULT_ETCD_UPDATE_PAUSE_SEC },
      userData: (m) => {
        let rendered;
        try {
          rendered = renderEtcdUserData(ctx);
        } catch (e) {
          throw wrap(path, e);
        }
        const values: Record<string, unknown> = {
          [ETCD_PLACEHOLDERS.nodeName]: m.nodeName,
          [ETCD_PLACEHOLDERS.signalCurl]: m.signalCurl,
          [ETCD_PLACEHOLDERS.address]: m.address,
          [ETCD_PLACEHOLDERS.initialCluster]: m.input(
            'initial_cluster',
            { type: 'string', description: 'etcd initial cluster: name=https://address:2380,...' },
            Lazy.value(initialCluster),
          ).value,
          [ETCD_PLACEHOLDERS.caCert]: m.input(
            'etcd_ca_cert',
            { type: 'string', hidden: true, description: 'etcd CA certificate' },
            props.secrets.param('etcd_ca_cert').value,
          ).value,
          [ETCD_PLACEHOLDERS.caKey]: m.input(
            'etcd_ca_key',
            { type: 'string', hidden: true, description: 'etcd CA key' },
            props.secrets.param('etcd_ca_key').value,
          ).value,
        };
        if (m.dataVolumeId) values[ETCD_PLACEHOLDERS.volumeId] = m.dataVolumeId;
        if (m.extraVolumeIds['Backup']) values[ETCD_PLACEHOLDERS.backupVolumeId] = m.extraVolumeIds['Backup'];
        if (swiftUrl && swiftKey) {
          values[ETCD_PLACEHOLDERS.backupSwiftUrl] = m.input(
            'etcd_backup_swift_url',
            { type: 'string', description: "The etcd backups' Swift container URL (storage URL/container)" },
            swiftUrl,
          ).value;
          values[ETCD_PLACEHOLDERS.backupSwiftKey] = m.input(
            'etcd_backup_swift_key',
            { type: 'string', hidden: true, description: "Temp URL key of the etcd backups' Swift container" },
            swiftKey,
          ).value;
        }
        // One token per stack (the root stack's id), the same for every member: two clusters of one name never
        // share member or cluster ids; it never changes for the life of the stack, so replacements join.
        values[ETCD_PLACEHOLDERS.clusterToken] = m.input(
          'etcd_cluster_token',
          { type: 'string', description: 'etcd initial cluster token: the cluster name and the root stack id' },
          Fn.join('-', [prefix, Fn.getParam('OS::stack_id')]),
        ).value;
        return { rendered, values };
      },
    });
    this.addresses = this.nodes.addresses;
    this.clientEndpoints = Fn.join(
      ',',
      Array.from({ length: size }, (_, i) => Fn.join('', ['https://', memberAddress(this.nodes, i), ':2379'])),
    );
  }
}

export function wrap(path: string, e: unknown): HotError {
  if (e instanceof HotError) return e;
  if (e instanceof BootstrapRenderError || e instanceof Error) return new HotError(path, e.message);
  return new HotError(path, String(e));
}
