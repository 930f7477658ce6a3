/**
 * The etcd member's user-data: a cloud-init MIME multipart with
 *  1. `cloud-config.yaml` (text/cloud-config): synth-time settings and the common shell library
 *     (gz+b64, placeholder-free) in `write_files`;
 *  2. `50-hotk8s-etcd.sh` (text/x-shellscript): the bootstrap, run by cloud-init's final stage. It
 *     validates its deploy-time values, blocks pod traffic to the metadata service, installs etcd
 *     (download with SHA-256 check, or preinstalled), prepares the Cinder data volume (format only
 *     if blank), signs this member's server and peer certificates with the etcd CA (openssl on the
 *     node; the CA key lives in /run only while signing), writes a systemd unit (static initial
 *     cluster, mTLS with client-cert auth for clients and peers), starts it, waits (bounded) until
 *     every member is healthy and signals its WaitCondition.
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
  /** Waiting for the Cinder data volume to be attached. @default 300 */
  readonly volumeSeconds: number;
  /** Waiting for every member to be healthy (members boot in parallel). @default 600 */
  readonly healthSeconds: number;
}

export const DEFAULT_ETCD_BOUNDS: EtcdBounds = { downloadSeconds: 300, volumeSeconds: 300, healthSeconds: 600 };

/** Synth-time inputs of the etcd member user-data. */
export interface EtcdUserDataContext {
  /** The cluster name (DNS label); also makes the initial cluster token. */
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
} as const;

/** The file name of the bootstrap script part (cloud-init runs shell parts sorted by name). */
export const ETCD_SCRIPT_PART = '50-hotk8s-etcd.sh';

const SHA256 = /^[0-9a-f]{64}$/;
const SEMVER = /^\d+\.\d+\.\d+$/;
const ABS_PATH = /^\/[A-Za-z0-9._/-]+$/;
const LABEL = /^[A-Za-z0-9_-]{1,16}$/;

/** The resolved values the templates use (exported for tests and the bill of materials). */
export interface ResolvedEtcdContext {
  readonly clusterName: string;
  readonly clusterToken: string;
  readonly etcdVersion: string;
  readonly install:
    | { readonly mode: 'download'; readonly baseUrl: string }
    | { readonly mode: 'preinstalled'; readonly etcdPath: string; readonly etcdctlPath: string };
  readonly sha256: Readonly<Record<Arch, string>>;
  readonly dataVolume: false | { readonly label: string };
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
    clusterToken: `${ctx.clusterName}-etcd`,
    etcdVersion,
    install: resolvedInstall,
    sha256,
    dataVolume,
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
    (r.dataVolume ? r.bounds.volumeSeconds : 0) +
    r.bounds.healthSeconds +
    signal +
    margin
  );
}

/** Renders an etcd member's user-data (MIME multipart; placeholders left for Heat). */
export function renderEtcdUserData(ctx: EtcdUserDataContext): RenderedUserData {
  const r = resolveEtcdContext(ctx);
  const fields = { ...r, ...commonTemplateFields(commonContext('etcd', r.podCidr)) };
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
    ...(r.dataVolume ? [ETCD_PLACEHOLDERS.volumeId] : []),
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
