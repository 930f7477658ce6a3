// The local Heat twin for vitest tests: the real heat-api and heat-engine (Debian's python3-heat, Heat 19)
// over a fake OpenStack on 127.0.0.1. See test/lib/twin.md.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = resolve(import.meta.dirname, '..', '..');
/** The Python side of the twin (launcher, fake cloud, Heat's heat-all). */
export const TWIN_SERVER_DIR = join(ROOT, 'test', 'twin', 'server');
/** Debian's interpreter: python3-heat and the OpenStack clients are installed for it. */
export const TWIN_PYTHON = '/usr/bin/python3';

/** Per-node settings of the control file (see test/twin/server/cloud/nodes.py). */
export interface NodeControl {
  /** SUCCESS (default), FAILURE, or never (no signal at all). */
  readonly status?: 'SUCCESS' | 'FAILURE' | 'never';
  /** Seconds from boot (or from a new generation) to the signal. */
  readonly delay?: number;
  /** With FAILURE: the phase named in the reason ("<name>: <phase>: <reason>"). */
  readonly phase?: string;
  readonly reason?: string;
  /** Only for these events (create, rebuild, generation); all when absent. */
  readonly on?: readonly ('create' | 'rebuild' | 'generation')[];
}

/** The control file: defaults for every node, and entries by server name or shell pattern. */
export interface ControlSettings {
  readonly defaults?: NodeControl;
  readonly nodes?: Readonly<Record<string, NodeControl>>;
}

export interface TwinOptions {
  /** State directory (heat.conf, heat.sqlite, logs, actions.jsonl, control.json). @default - a new temporary directory */
  readonly dir?: string;
  /** Keep the state directory after stop(). @default false (a directory given in `dir` is always kept) */
  readonly keep?: boolean;
  /** Delays of the fake state machines and nodes, in seconds (names in cloud/core.py DEFAULT_DELAYS). */
  readonly delays?: Readonly<Record<string, number>>;
  /** Keystone token lifetime. @default 3600 */
  readonly tokenLifetimeSec?: number;
  /** A node model, "module:Class", the module found in `pythonPath`. @default - every node signals SUCCESS */
  readonly nodeModel?: string;
  /** Directories added to PYTHONPATH for `nodeModel`. */
  readonly pythonPath?: readonly string[];
  /** Items merged into the fake catalogue (flavors, images, keypairs, networks, availabilityZones, ...). */
  readonly catalogue?: Readonly<Record<string, unknown>>;
  /** Options added to heat.conf, by section, e.g. `{ DEFAULT: { max_resources_per_stack: 2000 } }`. */
  readonly heatConfig?: Readonly<Record<string, Readonly<Record<string, string | number | boolean>>>>;
  /** The control file's first content. */
  readonly control?: ControlSettings;
  /** Heat logs at DEBUG. @default false */
  readonly debug?: boolean;
  /** Seconds to wait for both processes to serve. @default 120 */
  readonly startTimeoutSec?: number;
}

/** One recorded cloud action (a JSON line of actions.jsonl, with its logical path resolved). */
export interface TwinAction {
  readonly seq: number;
  /** The Heat resource type that makes such a cloud resource (OS::Nova::Server, OS::Neutron::Port, ...). */
  readonly type: string;
  readonly physicalId: string;
  /** "<root stack>/<nested resource>/.../<member>/<resource>", from Heat's database; null when Heat has no such resource. */
  readonly path: string | null;
  /**
   * create, update (with `changed`), rebuild, resize, confirm-resize, revert-resize, detach-port, attach-port,
   * delete, signal (with status, accepted, httpStatus), node-upgrade, node-ready, node-silent, start, stop, reboot,
   * attach-volume, detach-volume.
   */
  readonly action: string;
  /** Seconds since the epoch. */
  readonly start: number;
  readonly end: number;
  readonly name?: string;
  /** The server's `hotk8s-role` metadata. */
  readonly role?: string;
  readonly changed?: Record<string, unknown>;
  readonly status?: string;
  readonly reason?: string;
  readonly accepted?: boolean;
  readonly httpStatus?: number | null;
  readonly event?: string;
  /** A replacement's create: the physical id it replaces (and the old one's `replacedBy`). */
  readonly replaces?: string;
  readonly replacedBy?: string;
  readonly [key: string]: unknown;
}

export interface NodeView {
  readonly id: string;
  readonly name: string;
  readonly role: string | null;
  readonly metadata: Record<string, string>;
  readonly inService: boolean;
  readonly everInService: boolean;
  readonly version: string | null;
  readonly generation: string | null;
  readonly status: string;
  readonly event: string | null;
}

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly seconds: number;
}

export interface StackState {
  readonly name: string;
  readonly id?: string;
  /** e.g. CREATE_COMPLETE, UPDATE_FAILED, DELETE_COMPLETE (also when the stack is gone). */
  readonly status: string;
  readonly reason: string;
  readonly seconds: number;
}

export interface SynthStackOptions {
  /** The synth output directory (holding manifest.json). */
  readonly outDir: string;
  /** Which stack of the manifest. @default the first */
  readonly stack?: string;
  /** The Heat stack name. @default the manifest's (the last word of createCommand) */
  readonly name?: string;
  /** Parameters added with --parameter; required site parameters without a value get twin defaults (`siteParameters`). */
  readonly parameters?: Readonly<Record<string, string | number>>;
  readonly timeoutSec?: number;
}

export interface Twin {
  readonly dir: string;
  /** OS_* variables pointing the openstack CLI at the twin (admin of project admin). */
  readonly env: Readonly<Record<string, string>>;
  readonly heatApi: string;
  readonly cloudUrl: string;
  /** heat-all's pid: heat-api and heat-engine (read /proc/<pid>/stat for its CPU time). */
  readonly enginePid: number;
  readonly cloudPid: number;
  readonly startSeconds: number;
  /** Runs the real `openstack` CLI against the twin; with `check` (default true) a non-zero exit throws. */
  openstack(args: readonly string[], opts?: { check?: boolean; cwd?: string }): Promise<CommandResult>;
  /** Every recorded action so far, or those after `since` (a seq from mark()). */
  actions(opts?: { since?: number }): Promise<TwinAction[]>;
  /** The seq of the last recorded action (0 when none). */
  mark(): Promise<number>;
  /** Writes the nodes' control file (the nodes re-read it on change). */
  control(settings: ControlSettings): void;
  nodes(): Promise<NodeView[]>;
  /** Ids of every fake resource still present, by Heat type (catalogue items excluded). */
  resources(): Promise<Record<string, string[]>>;
  /** heat-api's REST API directly (noauth), e.g. heat('GET', '/stacks/default/resources?nested_depth=3'). */
  heat<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  /** Polls heat-api until the stack leaves *_IN_PROGRESS (for `action`, once it has started). */
  waitForStack(name: string, opts?: { action?: 'CREATE' | 'UPDATE' | 'DELETE'; timeoutSec?: number; after?: string }): Promise<StackState>;
  /** `openstack stack create` as the manifest's createCommand says (without --wait), then waits. */
  createStack(opts: SynthStackOptions): Promise<StackState>;
  /** `openstack stack update --existing [args] NAME`, then waits; extra arguments go before the name. */
  updateStack(name: string, args: readonly string[], opts?: { cwd?: string; timeoutSec?: number }): Promise<StackState>;
  /** `openstack stack delete -y NAME`, then waits until it is gone. */
  deleteStack(name: string, opts?: { timeoutSec?: number }): Promise<StackState>;
  /** CPU seconds (user + system) heat-all has used so far. */
  engineCpuSeconds(): number;
  stop(): Promise<void>;
}

interface Ready {
  ready: boolean;
  error?: string;
  dir: string;
  pid: number;
  enginePid: number;
  cloudPid: number;
  heatApi: string;
  cloudUrl: string;
  startSeconds: number;
  controlFile: string;
  env: Record<string, string>;
}

/**
 * Values for the site parameters a synthesized stack requires, from the twin's default catalogue: images, flavors
 * (m1.medium for etcd, m1.large otherwise), the key pair, the external network, an application credential.
 */
/** One Heat resource of a stack tree (`nested_depth`), as heat-api lists it. */
export interface HeatResourceView {
  resource_name: string;
  resource_type: string;
  resource_status: string;
  physical_resource_id: string;
  creation_time: string;
  parent_resource?: string;
  links: { href: string; rel: string }[];
  /** From the `stack` link (heat-api's REST view drops stack_name). */
  stackName: string;
  stackId: string;
}

/** The Heat resources of stack `stack` and its nested stacks down to `depth`, each with the stack that holds it. */
export async function stackResources(twin: Twin, stack: string, depth = 3): Promise<HeatResourceView[]> {
  const { body: found } = await twin.heat<{ stacks: { id: string }[] }>('GET', `/stacks?name=${stack}`);
  const { status, body } = await twin.heat<{ resources: HeatResourceView[] }>(
    'GET',
    `/stacks/${stack}/${found.stacks[0]!.id}/resources?nested_depth=${depth}`,
  );
  if (status !== 200) throw new Error(`twin: listing the resources of ${stack} gave HTTP ${status}`);
  return body.resources.map((r) => {
    const [name, id] = r.links
      .find((l) => l.rel === 'stack')!
      .href.split('/')
      .slice(-2);
    return { ...r, stackName: decodeURIComponent(name!), stackId: id! };
  });
}

export function siteParameters(manifestParameters: Readonly<Record<string, { required?: boolean }>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, p] of Object.entries(manifestParameters)) {
    if (!p.required) continue;
    if (/flavor/.test(name)) out[name] = /etcd/.test(name) ? 'm1.medium' : 'm1.large';
    else if (/image/.test(name)) out[name] = 'debian-12';
    else if (name === 'key_name' || /keypair/.test(name)) out[name] = 'twin-key';
    else if (/external_network/.test(name)) out[name] = 'public';
    else if (/application_credential_id/.test(name)) out[name] = 'twin-application-credential';
    else if (/application_credential_secret/.test(name)) out[name] = 'twin-secret';
  }
  return out;
}

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is the state (field 3); utime and stime are fields 14 and 15, in clock ticks (100 per second here)
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts the twin: resolves once heat-api answers and the engine serves RPC. */
export async function startTwin(opts: TwinOptions = {}): Promise<Twin> {
  if (!existsSync(TWIN_PYTHON)) throw new Error(`the twin needs ${TWIN_PYTHON} with Debian's python3-heat (scripts/prepare-test-env.sh)`);
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'hotk8s-twin-'));
  let cataloguePath: string | undefined;
  if (opts.catalogue) {
    cataloguePath = join(dir, 'catalogue-extra.json');
    writeFileSync(cataloguePath, JSON.stringify(opts.catalogue, null, 1));
  }
  const controlFile = join(dir, 'control.json');
  writeFileSync(controlFile, JSON.stringify(opts.control ?? {}, null, 1));
  const options = {
    delays: opts.delays,
    tokenLifetimeSec: opts.tokenLifetimeSec,
    nodeModel: opts.nodeModel,
    catalogue: cataloguePath,
    heatConfig: opts.heatConfig,
    controlFile,
    debug: opts.debug,
  };
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONDONTWRITEBYTECODE: '1' };
  if (opts.pythonPath?.length) env.PYTHONPATH = [...opts.pythonPath, process.env.PYTHONPATH].filter(Boolean).join(':');
  const child: ChildProcess = spawn(
    TWIN_PYTHON,
    [join(TWIN_SERVER_DIR, 'twin.py'), 'run', '--dir', dir, '--options', JSON.stringify(options), '--parent-pid', String(process.pid)],
    { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (stderr.length > 20000) stderr = stderr.slice(-20000);
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const lines = createInterface({ input: child.stdout! });
  const first = new Promise<string>((res, rej) => {
    lines.once('line', res);
    child.once('exit', (code) => rej(new Error(`twin exited with ${code} before it was ready:\n${stderr}`)));
  });
  const timeoutMs = (opts.startTimeoutSec ?? 120) * 1000;
  let timer: NodeJS.Timeout | undefined;
  const ready = JSON.parse(
    await Promise.race([
      first,
      new Promise<string>((_, rej) => {
        timer = setTimeout(() => rej(new Error(`twin not ready after ${timeoutMs / 1000} s:\n${stderr}`)), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer)),
  ) as Ready;
  if (!ready.ready) {
    await exited;
    throw new Error(`twin did not start: ${ready.error}\n${stderr}`);
  }

  const cliEnv: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('OS_')) cliEnv[k] = v;
  Object.assign(cliEnv, ready.env);

  async function getJson<T>(url: string, init?: RequestInit): Promise<{ status: number; body: T }> {
    const resp = await fetch(url, init);
    const text = await resp.text();
    return { status: resp.status, body: (text ? JSON.parse(text) : null) as T };
  }

  interface StackRow {
    id: string;
    stack_name: string;
    stack_status: string;
    stack_status_reason: string;
    updated_time: string | null;
  }
  async function findStack(name: string): Promise<StackRow | undefined> {
    const { status, body } = await getJson<{ stacks: StackRow[] }>(`${ready.heatApi}/v1/admin/stacks?name=${encodeURIComponent(name)}`);
    if (status !== 200) throw new Error(`heat-api answered ${status} listing stacks: ${JSON.stringify(body)}`);
    return body.stacks.find((s) => s.stack_name === name);
  }

  const twin: Twin = {
    dir,
    env: ready.env,
    heatApi: ready.heatApi,
    cloudUrl: ready.cloudUrl,
    enginePid: ready.enginePid,
    cloudPid: ready.cloudPid,
    startSeconds: ready.startSeconds,

    openstack(args, o = {}) {
      const started = performance.now();
      return new Promise((res, rej) => {
        execFile('openstack', [...args], { env: cliEnv, cwd: o.cwd, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr2) => {
          const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
          const result = { code, stdout, stderr: stderr2, seconds: (performance.now() - started) / 1000 };
          if (code !== 0 && o.check !== false) rej(new Error(`openstack ${args.join(' ')} exited with ${code}:\n${stderr2}${stdout}`));
          else res(result);
        });
      });
    },

    async actions(o = {}) {
      const { body } = await getJson<{ actions: TwinAction[] }>(`${ready.cloudUrl}/_twin/actions`);
      return o.since === undefined ? body.actions : body.actions.filter((a) => a.seq > o.since!);
    },

    async mark() {
      const all = await twin.actions();
      return all.length ? all[all.length - 1].seq : 0;
    },

    control(settings) {
      const tmp = `${controlFile}.tmp`;
      writeFileSync(tmp, JSON.stringify(settings, null, 1));
      renameSync(tmp, controlFile); // atomic: the nodes never read a half-written file
    },

    async nodes() {
      return (await getJson<{ nodes: NodeView[] }>(`${ready.cloudUrl}/_twin/nodes`)).body.nodes;
    },

    async resources() {
      return (await getJson<{ resources: Record<string, string[]> }>(`${ready.cloudUrl}/_twin/resources`)).body.resources;
    },

    heat(method, path, body) {
      return getJson(`${ready.heatApi}/v1/admin${path}`, {
        method,
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    },

    async waitForStack(name, o = {}) {
      // the stack list (a database query in the engine) rather than show_stack, which resolves every output
      const started = performance.now();
      const deadline = started + (o.timeoutSec ?? 1800) * 1000;
      for (;;) {
        const s = await findStack(name);
        const seconds = (performance.now() - started) / 1000;
        if (!s) return { name, status: 'DELETE_COMPLETE', reason: 'the stack is gone', seconds };
        const begun = !o.action || s.stack_status.startsWith(`${o.action}_`);
        const fresh = !o.after || s.updated_time !== o.after;
        if (begun && fresh && !s.stack_status.endsWith('_IN_PROGRESS'))
          return { name, id: s.id, status: s.stack_status, reason: s.stack_status_reason, seconds };
        if (performance.now() > deadline) throw new Error(`stack ${name} still ${s.stack_status} after ${o.timeoutSec ?? 1800} s`);
        await sleep(1000);
      }
    },

    async createStack(o) {
      const manifest = JSON.parse(readFileSync(join(o.outDir, 'manifest.json'), 'utf8')) as {
        stacks: { name: string; createCommand: string; parameters: Record<string, { required?: boolean }> }[];
      };
      const entry = o.stack ? manifest.stacks.find((s) => s.name === o.stack) : manifest.stacks[0];
      if (!entry) throw new Error(`no stack ${o.stack} in ${o.outDir}/manifest.json`);
      const words = entry.createCommand.split(/\s+/).filter(Boolean);
      if (words[0] !== 'openstack' || words[1] !== 'stack' || words[2] !== 'create')
        throw new Error(`unexpected createCommand: ${entry.createCommand}`);
      const args = words.slice(1).filter((w) => w !== '--wait');
      const name = o.name ?? args.pop()!;
      if (o.name) args.pop();
      const params = { ...siteParameters(entry.parameters), ...(o.parameters ?? {}) };
      for (const [k, v] of Object.entries(params)) args.push('--parameter', `${k}=${v}`);
      args.push(name);
      const started = performance.now();
      await twin.openstack(args, { cwd: o.outDir });
      const state = await twin.waitForStack(name, { action: 'CREATE', timeoutSec: o.timeoutSec });
      return { ...state, seconds: (performance.now() - started) / 1000 };
    },

    async updateStack(name, args, o = {}) {
      const before = await findStack(name);
      const started = performance.now();
      await twin.openstack(['stack', 'update', '--existing', ...args, name], { cwd: o.cwd });
      const state = await twin.waitForStack(name, { action: 'UPDATE', timeoutSec: o.timeoutSec, after: before?.updated_time ?? undefined });
      return { ...state, seconds: (performance.now() - started) / 1000 };
    },

    async deleteStack(name, o = {}) {
      const started = performance.now();
      await twin.openstack(['stack', 'delete', '-y', name]);
      const state = await twin.waitForStack(name, { action: 'DELETE', timeoutSec: o.timeoutSec });
      return { ...state, seconds: (performance.now() - started) / 1000 };
    },

    engineCpuSeconds() {
      return cpuSeconds(ready.enginePid);
    },

    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const done = await Promise.race([exited.then(() => true), sleep(20_000).then(() => false)]);
        if (!done) {
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {
            // already gone
          }
          await exited;
        }
      }
      for (const pid of [ready.enginePid, ready.cloudPid]) {
        for (let i = 0; i < 100 && alive(pid); i++) await sleep(100);
        if (alive(pid)) throw new Error(`twin process ${pid} is still running after stop()`);
      }
      if (ownDir && !opts.keep) rmSync(dir, { recursive: true, force: true });
    },
  };
  return twin;
}

// ---- summarize ----------------------------------------------------------------------------------

/** What happened to one logical resource. */
export interface ResourceSummary {
  readonly path: string;
  readonly type: string;
  readonly created: number;
  readonly updatedInPlace: number;
  readonly rebuilt: number;
  readonly resized: number;
  /** New physical resources that took the place of an older one at the same path. */
  readonly replaced: number;
  readonly deleted: number;
  readonly physicalIds: readonly string[];
  /** One word: created, deleted, replaced, rebuilt, resized, updated, signalled, or touched (anything else). */
  readonly outcome: string;
}

export interface TwinSummary {
  readonly resources: Readonly<Record<string, ResourceSummary>>;
  readonly created: readonly string[];
  readonly updated: readonly string[];
  readonly rebuilt: readonly string[];
  readonly resized: readonly string[];
  readonly replaced: readonly string[];
  readonly deleted: readonly string[];
  /** Server-affecting actions (not signals), in the order they started. */
  readonly serverOrder: readonly { path: string; name?: string; role?: string; action: string; start: number; end: number }[];
  /**
   * The most servers of each role out of service at one moment within the window. A server is out of service
   * from the start of a rebuild, resize, port detach, delete, stop or reboot (and while it drains for a new
   * generation) until its next accepted SUCCESS signal (or, after a resize or reboot, until it is back up); a
   * logical node (its path) is out while it has been in service once and none of its servers is in service now.
   */
  readonly maxOutOfService: Readonly<Record<string, number>>;
  /** Logical server paths deleted for good in the window (out of service from then on). */
  readonly removed: readonly string[];
}

const SERVER = 'OS::Nova::Server';
const OUT_ACTIONS = new Set(['rebuild', 'resize', 'detach-port', 'delete', 'stop', 'reboot', 'node-upgrade']);
const SERVER_AFFECTING = new Set([
  'create',
  'update',
  'rebuild',
  'resize',
  'confirm-resize',
  'revert-resize',
  'detach-port',
  'attach-port',
  'delete',
  'stop',
  'start',
  'reboot',
  'node-upgrade',
]);

/**
 * Per logical resource: created, updated in place, rebuilt, resized, replaced, deleted; the order of the
 * server-affecting actions; and the most servers out of service at once per role. `actions` should be the
 * whole recording (a server's state before the window matters); `since` (a seq) limits the window.
 */
export function summarize(actions: readonly TwinAction[], opts: { since?: number } = {}): TwinSummary {
  const since = opts.since ?? 0;
  const inWindow = actions.filter((a) => a.seq > since);
  const byPath = new Map<string, TwinAction[]>();
  for (const a of inWindow) {
    if (!a.path) continue;
    const list = byPath.get(a.path) ?? [];
    list.push(a);
    byPath.set(a.path, list);
  }
  const resources: Record<string, ResourceSummary> = {};
  for (const [path, list] of [...byPath.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const count = (name: string) => list.filter((a) => a.action === name).length;
    const creates = list.filter((a) => a.action === 'create');
    const replaced = creates.filter((c) => c.replaces || list.some((d) => d.action === 'delete' && d.physicalId !== c.physicalId)).length;
    const created = creates.length - replaced;
    const deletedIds = new Set(list.filter((a) => a.action === 'delete').map((a) => a.physicalId));
    const updatedInPlace = count('update');
    const rebuilt = count('rebuild');
    const resized = count('resize');
    const outcome =
      replaced > 0
        ? 'replaced'
        : created > 0 && deletedIds.size === 0
          ? 'created'
          : deletedIds.size > 0 && created === 0
            ? 'deleted'
            : rebuilt > 0
              ? 'rebuilt'
              : resized > 0
                ? 'resized'
                : updatedInPlace > 0
                  ? 'updated'
                  : list.every((a) => a.action === 'signal' || a.action === 'console-marker')
                    ? 'signalled'
                    : 'touched';
    resources[path] = {
      path,
      type: list[0].type,
      created,
      updatedInPlace,
      rebuilt,
      resized,
      replaced,
      deleted: deletedIds.size,
      physicalIds: [...new Set(list.map((a) => a.physicalId))],
      outcome,
    };
  }
  const pick = (o: string) =>
    Object.values(resources)
      .filter((r) => r.outcome === o)
      .map((r) => r.path);

  // out of service: a sweep over every server event of the whole recording
  interface Ev {
    t: number;
    path: string;
    physical: string;
    role: string;
    up: boolean;
    seq: number;
  }
  const events: Ev[] = [];
  const roleOf = new Map<string, string>();
  for (const a of actions) {
    if (a.type !== SERVER || !a.path) continue;
    if (a.role) roleOf.set(a.path, a.role);
  }
  for (const a of actions) {
    if (a.type !== SERVER || !a.path) continue;
    const role = a.role ?? roleOf.get(a.path) ?? 'other';
    if ((a.action === 'signal' && a.status === 'SUCCESS' && a.accepted) || a.action === 'node-ready')
      events.push({ t: a.end, path: a.path, physical: a.physicalId, role, up: true, seq: a.seq });
    else if (OUT_ACTIONS.has(a.action)) events.push({ t: a.start, path: a.path, physical: a.physicalId, role, up: false, seq: a.seq });
  }
  events.sort((x, y) => x.t - y.t || x.seq - y.seq);
  const windowStart = inWindow.length ? Math.min(...inWindow.map((a) => a.start)) : Infinity;
  const up = new Map<string, Set<string>>(); // path -> physical servers in service
  const ever = new Set<string>();
  const out = new Map<string, number>(); // role -> count out now
  const maxOut: Record<string, number> = {};
  const isOut = (path: string) => ever.has(path) && (up.get(path)?.size ?? 0) === 0;
  const record = () => {
    for (const [role, n] of out) maxOut[role] = Math.max(maxOut[role] ?? 0, n);
  };
  let opened = false;
  for (const e of events) {
    if (!opened && (e.t >= windowStart || e.seq > since)) {
      opened = true;
      record(); // whatever was already out when the window opened
    }
    const before = isOut(e.path);
    const set = up.get(e.path) ?? new Set<string>();
    if (e.up) {
      set.add(e.physical);
      ever.add(e.path);
    } else set.delete(e.physical);
    up.set(e.path, set);
    const after = isOut(e.path);
    if (before !== after) out.set(e.role, (out.get(e.role) ?? 0) + (after ? 1 : -1));
    if (opened) record();
  }
  if (!opened && inWindow.length) record();
  for (const role of ['etcd', 'master', 'worker']) maxOut[role] ??= 0;
  const removed = Object.values(resources)
    .filter((r) => r.type === SERVER && r.outcome === 'deleted')
    .map((r) => r.path);
  const serverOrder = inWindow
    .filter((a) => a.type === SERVER && a.path && SERVER_AFFECTING.has(a.action))
    .sort((x, y) => x.start - y.start || x.seq - y.seq)
    .map((a) => ({ path: a.path!, name: a.name, role: a.role, action: a.action, start: a.start, end: a.end }));
  return {
    resources,
    created: pick('created'),
    updated: pick('updated'),
    rebuilt: pick('rebuilt'),
    resized: pick('resized'),
    replaced: pick('replaced'),
    deleted: pick('deleted'),
    serverOrder,
    maxOutOfService: maxOut,
    removed,
  };
}
