/**
 * The etcd member's user-data: a cloud-init MIME multipart with
 *  1. `cloud-config.yaml` (text/cloud-config): synth-time settings and the common shell library
 *     (gz+b64, placeholder-free) in `write_files`;
 *  2. `50-hotk8s-etcd.sh` (text/x-shellscript): the bootstrap, run by cloud-init's final stage. It
 *     validates its deploy-time values, blocks pod traffic to the metadata service, installs etcd
 *     (download with SHA-256 check, or preinstalled; a distribution's packaged `etcd.service` is
 *     stopped and masked by the cloud-config's `bootcmd` before it can serve), prepares the Cinder
 *     data and backup volumes (format only if blank), signs this member's server and peer
 *     certificates with the etcd CA (openssl on the node; the CA key lives in /run only while
 *     signing, and cloud-init's on-disk copies of the user-data are removed after), decides how to
 *     start (data present: as it is; no data: join a formed cluster through a peer over mutual TLS,
 *     removing its stale identity, or start the cluster only when no peer has one), writes the
 *     `hotk8s-etcd.service` unit (no start timeout), the optional backup timer and the restore
 *     tool, starts etcd without waiting for READY, waits (bounded) until it is a healthy started
 *     member its peers agree on, and signals its WaitCondition.
 *
 * Deploy-time values are placeholders for Heat's str_replace; see {@link ETCD_PLACEHOLDERS}.
 */
import {
  BootstrapRenderError,
  buildMultipart,
  commonContext,
  commonTemplateFields,
  COMMON_PLACEHOLDERS,
  placeholder,
  renderTemplate,
  userData,
  type RenderedUserData,
} from './render.js';
import { ARCHES, etcdVersionFor, ETCD_TARBALL_SHA256, ETCD_UPSTREAM_BASE_URL, type Arch } from './versions.js';

/** How the node gets etcd. */
export type EtcdInstall =
  | {
      readonly mode: 'download';
      /**
       * Base URL with the upstream release layout (`<base>/v<ver>/etcd-v<ver>-linux-<arch>.tar.gz`).
       * @default ETCD_UPSTREAM_BASE_URL (GitHub releases)
       */
      readonly baseUrl?: string;
      /** SHA-256 per architecture. @default - from versions.ts for known versions */
      readonly sha256?: Readonly<Partial<Record<Arch, string>>>;
    }
  | {
      /** The image carries etcd (air-gapped sites, or tests). */
      readonly mode: 'preinstalled';
      /** @default '/usr/local/bin/etcd' */
      readonly etcdPath?: string;
      /** @default '/usr/local/bin/etcdctl' */
      readonly etcdctlPath?: string;
    };

/** Bounds of the member's waits, in seconds. */
export interface EtcdBounds {
  /** Downloading (with retries) the etcd tarball. @default 300 */
  readonly downloadSeconds: number;
  /** Waiting for each Cinder volume (data, backup) to be attached. @default 300 */
  readonly volumeSeconds: number;
  /**
   * From the start of the membership decision to a healthy member its peers agree on (members boot in parallel:
   * a member may wait this long for its slowest peer; a replacement for its cluster's quorum). @default 600
   */
  readonly healthSeconds: number;
}

export const DEFAULT_ETCD_BOUNDS: EtcdBounds = { downloadSeconds: 300, volumeSeconds: 300, healthSeconds: 600 };

/** Scheduled snapshots of the member's keyspace (`etcdctl snapshot save`, a systemd timer). */
export interface EtcdBackup {
  /** A systemd `OnCalendar=` expression. @default 'hourly' */
  readonly schedule?: string;
  /** Snapshots each member keeps (the newest). @default 24 */
  readonly retain?: number;
  /** The timer's `RandomizedDelaySec=` (members do not snapshot at the same second). @default 300 */
  readonly randomizedDelaySec?: number;
  /**
   * Snapshots go to a Cinder volume of the member (its id is the deploy-time placeholder
   * `__ETCD_BACKUP_VOLUME_ID__`), mounted at /var/lib/etcd-backup; false keeps them on the root disk
   * (tests only: a rebuilt root disk loses them). @default true
   */
  readonly volume?: boolean | { readonly label?: string };
  /**
   * After each snapshot, also upload it to a Swift container through a temp URL the member signs itself (HMAC-SHA256
   * with the container's `Temp-URL-Key`): the container URL and the key are the deploy-time placeholders
   * `__ETCD_BACKUP_SWIFT_URL__` and `__ETCD_BACKUP_SWIFT_KEY__`; objects are `<cluster>/<member>/<time>.db`. A failed
   * upload fails the run (the local snapshot stays). @default - no upload
   */
  readonly swift?: EtcdBackupSwift;
}

/** The Swift copy of each snapshot. */
export interface EtcdBackupSwift {
  /** Days Swift keeps each uploaded snapshot (`X-Delete-After`, Swift's object expirer); 0 keeps them. @default 30 */
  readonly deleteAfterDays?: number;
}

/** Synth-time inputs of the etcd member user-data. */
export interface EtcdUserDataContext {
  /** The cluster name (DNS label); the initial cluster token is a deploy-time value (`ETCD_PLACEHOLDERS.clusterToken`). */
  readonly clusterName: string;
  /** The cluster's Kubernetes version; etcd's version follows from it (versions.ts). */
  readonly kubernetesVersion: string;
  /** Overrides the etcd version derived from the Kubernetes version. @default - from the table */
  readonly etcdVersion?: string;
  /** @default { mode: 'download' } */
  readonly install?: EtcdInstall;
  /**
   * The member has a Cinder data volume for /var/lib/etcd (its id is the deploy-time placeholder
   * `__ETCD_VOLUME_ID__`). @default false
   */
  readonly dataVolume?: boolean | { readonly label?: string };
  /** The pod network; the node drops its traffic to 169.254.169.254. */
  readonly podCidr: string;
  /** @default DEFAULT_ETCD_BOUNDS */
  readonly bounds?: Partial<EtcdBounds>;
  /** Validity of the member certificates signed on the node. @default 3650 */
  readonly certDays?: number;
  /** etcd `--snapshot-count`. @default 10000 */
  readonly snapshotCount?: number;
  /** etcd `--quota-backend-bytes`. @default 8589934592 (8 GiB, etcd's recommended maximum) */
  readonly quotaBackendBytes?: number;
  /** Scheduled snapshots on every member. @default - none */
  readonly backup?: EtcdBackup;
}

/**
 * Deploy-time placeholders of the etcd user-data. Give Heat a `str_replace` value for each one the
 * rendered text lists (`placeholders`).
 */
export const ETCD_PLACEHOLDERS = {
  ...COMMON_PLACEHOLDERS,
  /** This member's fixed IPv4 address (its port's address). The node name is `COMMON_PLACEHOLDERS.nodeName`, e.g. `etcd-0`. */
  address: placeholder('ETCD_ADDRESS'),
  /** Every member, `etcd-0=https://10.0.0.5:2380,etcd-1=https://10.0.0.6:2380,...`; names equal the members' node names. */
  initialCluster: placeholder('ETCD_INITIAL_CLUSTER'),
  /** The etcd CA certificate, PEM (multi-line is fine: it is substituted into a heredoc). */
  caCert: placeholder('ETCD_CA_CERT'),
  /** The etcd CA private key, PEM (a hidden parameter; used on the node only to sign its own certificates). */
  caKey: placeholder('ETCD_CA_KEY'),
  /** The Cinder volume id of the member's data volume (only with `dataVolume`). */
  volumeId: placeholder('ETCD_VOLUME_ID'),
  /**
   * The initial cluster token, the same for every member and unique per stack (the root stack's id), so two
   * clusters of one name never share member or cluster ids.
   */
  clusterToken: placeholder('ETCD_CLUSTER_TOKEN'),
  /** The Cinder volume id of the member's backup volume (only with `backup.volume`). */
  backupVolumeId: placeholder('ETCD_BACKUP_VOLUME_ID'),
  /** The Swift container's URL, `<storage URL>/<container>` (only with `backup.swift`). */
  backupSwiftUrl: placeholder('ETCD_BACKUP_SWIFT_URL'),
  /** The container's temp URL key (a hidden parameter; only with `backup.swift`). */
  backupSwiftKey: placeholder('ETCD_BACKUP_SWIFT_KEY'),
} as const;

/** The file name of the bootstrap script part (cloud-init runs shell parts sorted by name). */
export const ETCD_SCRIPT_PART = '50-hotk8s-etcd.sh';

const SHA256 = /^[0-9a-f]{64}$/;
const SEMVER = /^\d+\.\d+\.\d+$/;
const ABS_PATH = /^\/[A-Za-z0-9._/-]+$/;
const LABEL = /^[A-Za-z0-9_-]{1,16}$/;
const CALENDAR = /^[A-Za-z0-9*:,./~ -]{1,64}$/;

/** The resolved values the templates use (exported for tests and the bill of materials). */
export interface ResolvedEtcdContext {
  readonly clusterName: string;
  readonly etcdVersion: string;
  readonly install:
    | { readonly mode: 'download'; readonly baseUrl: string }
    | { readonly mode: 'preinstalled'; readonly etcdPath: string; readonly etcdctlPath: string };
  readonly sha256: Readonly<Record<Arch, string>>;
  readonly dataVolume: false | { readonly label: string };
  readonly backup:
    | false
    | {
        readonly schedule: string;
        readonly retain: number;
        readonly randomizedDelaySec: number;
        readonly volume: false | { readonly label: string };
        /** Seconds of `X-Delete-After` (0: none). */
        readonly swift: false | { readonly deleteAfterSeconds: number };
      };
  /** The volumes the member mounts, in order (data, then backup). */
  readonly volumes: readonly { readonly placeholder: string; readonly label: string; readonly mountPoint: string }[];
  readonly bounds: EtcdBounds;
  readonly certDays: number;
  readonly snapshotCount: number;
  readonly quotaBackendBytes: number;
  readonly podCidr: string;
  /** Download URLs per architecture (empty in preinstalled mode). */
  readonly urls: Readonly<Partial<Record<Arch, string>>>;
}

function bad(field: string, rule: string, got: unknown): never {
  throw new BootstrapRenderError(`etcd user-data: ${field} ${rule}; got ${JSON.stringify(got)}`);
}

/** Checks the context and fills in defaults. */
export function resolveEtcdContext(ctx: EtcdUserDataContext): ResolvedEtcdContext {
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(ctx.clusterName)) bad('clusterName', 'must be a DNS label', ctx.clusterName);
  const etcdVersion = ctx.etcdVersion ?? etcdVersionFor(ctx.kubernetesVersion);
  if (!SEMVER.test(etcdVersion)) bad('etcdVersion', 'must be MAJOR.MINOR.PATCH without a leading v', etcdVersion);
  if (!/^3\.[4-6]\./.test(etcdVersion))
    bad('etcdVersion', 'must be 3.4.x, 3.5.x or 3.6.x (the flags rendered are the ones all three accept)', etcdVersion);
  const install = ctx.install ?? { mode: 'download' };
  let resolvedInstall: ResolvedEtcdContext['install'];
  const sha256: Record<Arch, string> = { amd64: '', arm64: '' };
  const urls: Partial<Record<Arch, string>> = {};
  if (install.mode === 'download') {
    const baseUrl = (install.baseUrl ?? ETCD_UPSTREAM_BASE_URL).replace(/\/+$/, '');
    if (!/^https?:\/\/[^\s'"\\$`]+$/.test(baseUrl)) bad('install.baseUrl', 'must be an http(s) URL without quotes, spaces or $', baseUrl);
    resolvedInstall = { mode: 'download', baseUrl };
    const known = ETCD_TARBALL_SHA256[etcdVersion] ?? {};
    for (const arch of ARCHES) {
      const sum = install.sha256?.[arch] ?? known[arch];
      if (sum === undefined) continue;
      if (!SHA256.test(sum)) bad(`install.sha256.${arch}`, 'must be 64 lower-case hex digits', sum);
      sha256[arch] = sum;
      urls[arch] = `${baseUrl}/v${etcdVersion}/etcd-v${etcdVersion}-linux-${arch}.tar.gz`;
    }
    if (!sha256.amd64 && !sha256.arm64) {
      bad(
        'install.sha256',
        `must be given for etcd ${etcdVersion} (no checksum of its release tarballs is known in versions.ts; copy them from the release's SHA256SUMS)`,
        install.sha256 ?? null,
      );
    }
  } else if (install.mode === 'preinstalled') {
    const etcdPath = install.etcdPath ?? '/usr/local/bin/etcd';
    const etcdctlPath = install.etcdctlPath ?? '/usr/local/bin/etcdctl';
    if (!ABS_PATH.test(etcdPath)) bad('install.etcdPath', 'must be an absolute path', etcdPath);
    if (!ABS_PATH.test(etcdctlPath)) bad('install.etcdctlPath', 'must be an absolute path', etcdctlPath);
    resolvedInstall = { mode: 'preinstalled', etcdPath, etcdctlPath };
  } else {
    bad('install.mode', "must be 'download' or 'preinstalled'", (install as { mode: unknown }).mode);
  }
  let dataVolume: ResolvedEtcdContext['dataVolume'] = false;
  if (ctx.dataVolume) {
    const label = (typeof ctx.dataVolume === 'object' ? ctx.dataVolume.label : undefined) ?? 'etcd-data';
    if (!LABEL.test(label)) bad('dataVolume.label', 'must be 1-16 letters, digits, _ or - (an ext4 label)', label);
    dataVolume = { label };
  }
  let backup: ResolvedEtcdContext['backup'] = false;
  if (ctx.backup) {
    const schedule = ctx.backup.schedule ?? 'hourly';
    if (typeof schedule !== 'string' || !CALENDAR.test(schedule))
      bad(
        'backup.schedule',
        "must be a systemd OnCalendar expression (letters, digits, spaces and * : - / , . ~; e.g. 'hourly', '*-*-* 00/6:00:00')",
        schedule,
      );
    const retain = ctx.backup.retain ?? 24;
    if (!Number.isInteger(retain) || retain < 1 || retain > 1000) bad('backup.retain', 'must be a whole number from 1 to 1000', retain);
    const randomizedDelaySec = ctx.backup.randomizedDelaySec ?? 300;
    if (!Number.isInteger(randomizedDelaySec) || randomizedDelaySec < 0 || randomizedDelaySec > 86400)
      bad('backup.randomizedDelaySec', 'must be a whole number of seconds from 0 to 86400', randomizedDelaySec);
    const v = ctx.backup.volume ?? true;
    let volume: false | { label: string } = false;
    if (v) {
      const label = (typeof v === 'object' ? v.label : undefined) ?? 'etcd-backup';
      if (!LABEL.test(label)) bad('backup.volume.label', 'must be 1-16 letters, digits, _ or - (an ext4 label)', label);
      volume = { label };
    }
    let swift: false | { deleteAfterSeconds: number } = false;
    if (ctx.backup.swift) {
      const days = ctx.backup.swift.deleteAfterDays ?? 30;
      if (!Number.isInteger(days) || days < 0 || days > 3650)
        bad('backup.swift.deleteAfterDays', 'must be a whole number of days from 0 (keep) to 3650', days);
      swift = { deleteAfterSeconds: days * 86400 };
    }
    backup = { schedule, retain, randomizedDelaySec, volume, swift };
  }
  const volumes: { placeholder: string; label: string; mountPoint: string }[] = [];
  if (dataVolume) volumes.push({ placeholder: ETCD_PLACEHOLDERS.volumeId, label: dataVolume.label, mountPoint: '/var/lib/etcd' });
  if (backup && backup.volume)
    volumes.push({ placeholder: ETCD_PLACEHOLDERS.backupVolumeId, label: backup.volume.label, mountPoint: '/var/lib/etcd-backup' });
  const bounds: EtcdBounds = { ...DEFAULT_ETCD_BOUNDS, ...ctx.bounds };
  for (const [k, v] of Object.entries(bounds)) {
    if (!Number.isInteger(v) || v < 10 || v > 3600) bad(`bounds.${k}`, 'must be a whole number of seconds from 10 to 3600', v);
  }
  const certDays = ctx.certDays ?? 3650;
  if (!Number.isInteger(certDays) || certDays < 1) bad('certDays', 'must be a positive whole number', certDays);
  const snapshotCount = ctx.snapshotCount ?? 10000;
  if (!Number.isInteger(snapshotCount) || snapshotCount < 1) bad('snapshotCount', 'must be a positive whole number', snapshotCount);
  const quotaBackendBytes = ctx.quotaBackendBytes ?? 8 * 1024 ** 3;
  if (!Number.isInteger(quotaBackendBytes) || quotaBackendBytes < 0)
    bad('quotaBackendBytes', 'must be a whole number >= 0', quotaBackendBytes);
  const common = commonContext('etcd', ctx.podCidr);
  return {
    clusterName: ctx.clusterName,
    etcdVersion,
    install: resolvedInstall,
    sha256,
    dataVolume,
    backup,
    volumes,
    bounds,
    certDays,
    snapshotCount,
    quotaBackendBytes,
    podCidr: common.podCidr,
    urls,
  };
}

/**
 * Seconds a member may take from the start of its script to its signal, at worst: the sum of its
 * bounded waits plus a margin for the unbounded-but-quick steps and the signal's own retries. The
 * member's WaitCondition timeout must be larger (add the server's boot time).
 */
export function etcdBootstrapBudgetSeconds(ctx: EtcdUserDataContext): number {
  const r = resolveEtcdContext(ctx);
  const signal = 120;
  const margin = 120;
  return (
    (r.install.mode === 'download' ? r.bounds.downloadSeconds : 0) +
    r.volumes.length * r.bounds.volumeSeconds +
    r.bounds.healthSeconds +
    signal +
    margin
  );
}

/** Renders an etcd member's user-data (MIME multipart; placeholders left for Heat). */
export function renderEtcdUserData(ctx: EtcdUserDataContext): RenderedUserData {
  const r = resolveEtcdContext(ctx);
  const fields = {
    ...r,
    backupSwift: r.backup ? r.backup.swift : false,
    ...commonTemplateFields(commonContext('etcd', r.podCidr)),
  };
  const cloudConfig = renderTemplate('etcd/cloud-config.yaml', fields);
  const script = renderTemplate('etcd/bootstrap.sh', fields);
  const text = buildMultipart([
    { filename: 'cloud-config.yaml', contentType: 'text/cloud-config', content: cloudConfig },
    { filename: ETCD_SCRIPT_PART, contentType: 'text/x-shellscript', content: script },
  ]);
  const rendered = userData('etcd', text);
  const expected = new Set<string>([
    ETCD_PLACEHOLDERS.nodeName,
    ETCD_PLACEHOLDERS.signalCurl,
    ETCD_PLACEHOLDERS.address,
    ETCD_PLACEHOLDERS.initialCluster,
    ETCD_PLACEHOLDERS.caCert,
    ETCD_PLACEHOLDERS.caKey,
    ETCD_PLACEHOLDERS.clusterToken,
    ...r.volumes.map((v) => v.placeholder),
    ...(r.backup && r.backup.swift ? [ETCD_PLACEHOLDERS.backupSwiftUrl, ETCD_PLACEHOLDERS.backupSwiftKey] : []),
  ]);
  const unexpected = rendered.placeholders.filter((p) => !expected.has(p));
  const missing = [...expected].filter((p) => !rendered.placeholders.includes(p));
  if (unexpected.length > 0 || missing.length > 0) {
    throw new BootstrapRenderError(
      `etcd user-data placeholders differ from ETCD_PLACEHOLDERS: unexpected [${unexpected.join(', ')}], missing [${missing.join(', ')}]`,
    );
  }
  return rendered;
}
