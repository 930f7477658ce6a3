import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import yaml from 'js-yaml';
import { HotError } from '../core/errors.js';
import { OpenStackCli } from './openstack.js';
import { reportError, shownPath, type Io } from './report.js';

export interface KubeconfigArgs {
  /** The Heat stack's name (also the cluster, user and context names in the kubeconfig). */
  readonly stack: string;
  /** The Cluster's name (its directory in the state directory). @default - the only cluster in the state directory, else the stack */
  readonly cluster?: string;
  /** The API address. @default - the stack's `api_address` output, read with the openstack client */
  readonly apiAddress?: string;
  /** Directory of `<stack>.kubeconfig`. @default . */
  readonly out?: string;
  /** The synth's state directory. @default .hotk8s */
  readonly state?: string;
  /** Merge into `$KUBECONFIG` (its first file) or `~/.kube/config` instead of writing a file of its own. */
  readonly merge?: boolean;
  readonly openstack?: string;
  readonly json?: boolean;
  readonly debug?: boolean;
}

/** The name of the stack output holding the API address (`Cluster.addOutputs`). */
export const API_ADDRESS_OUTPUT = 'api_address';
const API_PORT = 6443;

interface NamedEntry {
  name: string;
  [k: string]: unknown;
}
interface KubeconfigDoc {
  apiVersion: string;
  kind: string;
  clusters: NamedEntry[];
  users: NamedEntry[];
  contexts: NamedEntry[];
  'current-context'?: string;
  preferences?: unknown;
  [k: string]: unknown;
}

/** The cluster whose PKI the state directory holds: the one asked for, else the only one there, else the stack's name. */
export function clusterInState(stateDir: string, asked: string | undefined, stack: string): string {
  if (asked) return asked;
  const found = existsSync(stateDir)
    ? readdirSync(stateDir, { withFileTypes: true })
        .filter((d) => d.isDirectory() && existsSync(join(stateDir, d.name, 'pki', 'admin.crt')))
        .map((d) => d.name)
    : [];
  if (found.length === 1) return found[0]!;
  if (found.length > 1 && !found.includes(stack)) {
    throw new HotError(
      '--cluster',
      `the state directory ${shownPath(stateDir)} holds several clusters (${found.join(', ')}): name one with --cluster`,
    );
  }
  return stack;
}

function readPki(stateDir: string, cluster: string): { ca: string; cert: string; key: string; notAfter: Date } {
  const dir = join(stateDir, cluster, 'pki');
  const files = { ca: 'ca.crt', cert: 'admin.crt', key: 'admin.key' } as const;
  const read = (f: string): string => {
    const p = join(dir, f);
    if (!existsSync(p)) {
      throw new HotError(
        '--state',
        `${shownPath(p)} does not exist: run hotk8s kubeconfig where the cluster was synthesized (its state directory is .hotk8s beside the app, or give --state DIR and --cluster NAME)`,
      );
    }
    return readFileSync(p, 'utf8');
  };
  const ca = read(files.ca);
  const cert = read(files.cert);
  const key = read(files.key);
  const notAfter = new Date(new X509Certificate(cert).validTo);
  return { ca, cert, key, notAfter };
}

/** `https://ADDRESS:6443`, IPv6 addresses in brackets. */
export function apiServerUrl(address: string): string {
  const host = address.includes(':') && !address.startsWith('[') ? `[${address}]` : address;
  return `https://${host}:${API_PORT}`;
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

/** A kubeconfig with one cluster, one user and one context (all named after the stack), the context current. */
export function kubeconfigFor(name: string, server: string, pki: { ca: string; cert: string; key: string }): KubeconfigDoc {
  const user = `${name}-admin`;
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server, 'certificate-authority-data': b64(pki.ca) } }],
    users: [{ name: user, user: { 'client-certificate-data': b64(pki.cert), 'client-key-data': b64(pki.key) } }],
    contexts: [{ name, context: { cluster: name, user } }],
    'current-context': name,
    preferences: {},
  };
}

/** `into` with every entry of `from` added, an entry of the same name replaced, the others kept; `from`'s context current. */
export function mergeKubeconfig(into: Partial<KubeconfigDoc> | undefined, from: KubeconfigDoc): KubeconfigDoc {
  const base: KubeconfigDoc = { ...(into ?? {}), apiVersion: 'v1', kind: 'Config', clusters: [], users: [], contexts: [] };
  for (const key of ['clusters', 'users', 'contexts'] as const) {
    const mine = from[key];
    const names = new Set(mine.map((e) => e.name));
    base[key] = [...((into?.[key] as NamedEntry[] | undefined) ?? []).filter((e) => !names.has(e.name)), ...mine];
  }
  base['current-context'] = from['current-context'];
  base.preferences = into?.preferences ?? {};
  return base;
}

/** The file `kubectl` writes to: the first of `$KUBECONFIG`, else `~/.kube/config`. */
export function defaultKubeconfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const first = (env.KUBECONFIG ?? '').split(delimiter).find((p) => p !== '');
  return first ?? join(homedir(), '.kube', 'config');
}

/** Write `text` to `file` with mode 0600, through a temporary file in the same directory (never half-written). */
function writePrivate(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

export async function runKubeconfig(args: KubeconfigArgs, io: Io): Promise<number> {
  const stateDir = args.state ?? '.hotk8s';
  try {
    const cluster = clusterInState(stateDir, args.cluster, args.stack);
    const pki = readPki(stateDir, cluster);
    let address = args.apiAddress;
    if (!address) {
      address = await new OpenStackCli(args.openstack).stackOutput(args.stack, API_ADDRESS_OUTPUT);
      if (address === '' || address === 'None') {
        throw new HotError(
          args.stack,
          `the stack has no ${API_ADDRESS_OUTPUT} output value yet (is it CREATE_COMPLETE?); give the address with --api-address`,
        );
      }
    }
    const server = apiServerUrl(address);
    const doc = kubeconfigFor(args.stack, server, pki);
    let file: string;
    if (args.merge) {
      file = defaultKubeconfigPath();
      const existing = existsSync(file) ? (yaml.load(readFileSync(file, 'utf8')) as Partial<KubeconfigDoc> | undefined) : undefined;
      writePrivate(file, yaml.dump(mergeKubeconfig(existing ?? undefined, doc), { lineWidth: -1 }));
    } else {
      file = join(resolve(args.out ?? '.'), `${args.stack}.kubeconfig`);
      writePrivate(file, yaml.dump(doc, { lineWidth: -1 }));
    }
    const days = Math.floor((pki.notAfter.getTime() - Date.now()) / 86_400_000);
    if (args.json) {
      io.out(
        JSON.stringify({
          ok: true,
          file,
          context: args.stack,
          server,
          cluster,
          adminCertificateExpires: pki.notAfter.toISOString(),
          adminCertificateDaysLeft: days,
        }),
      );
      return 0;
    }
    io.out(`${args.merge ? 'merged into' : 'wrote'} ${shownPath(file)} (context ${args.stack}, server ${server})`);
    io.out(`  the admin certificate expires on ${pki.notAfter.toISOString().slice(0, 10)} (${days} days)`);
    if (!args.merge) io.out(`  use it with: export KUBECONFIG=${shownPath(file)}; kubectl get nodes`);
    if (days < 30) io.err(`warning: the admin certificate expires in ${days} days`);
    return 0;
  } catch (e) {
    return reportError(e, io, { debug: args.debug, json: args.json, paths: { '--out': args.out, '--state': stateDir } });
  }
}
