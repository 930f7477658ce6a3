/**
 * Test doubles for the autoscaling agent, on loopback: a fake OpenStack (Keystone issuing a token and a catalog, a
 * Heat that keeps one stack's parameters and status and applies a PATCH the way a ResourceGroup with a removal list
 * does, Nova's flavors and servers) and a fake Kubernetes API (nodes, events, leases). And `startAgent()`, which runs
 * the agent exactly as shipped (the bundled program of src/autoscaling/agent.generated.ts) in a child process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, createServer as netServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { AUTOSCALER_AGENT, AUTOSCALER_LOADER } from '../../src/autoscaling/agent.generated.js';
import type { AutoscalingView, GroupView, HealView } from '../../src/autoscaling/agent/config.js';

export interface Recorded {
  readonly at: number;
  readonly method: string;
  readonly path: string;
  readonly body: any;
}

async function readBody(req: IncomingMessage): Promise<any> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body === undefined ? '' : JSON.stringify(body));
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const s = netServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

export interface FakeGroupSpec extends Partial<Omit<GroupView, 'servers'>> {
  readonly size: number;
}

interface FakeGroup {
  view: Omit<GroupView, 'servers'>;
  /** member -> server id (null: being created) */
  members: Map<string, string | null>;
  /** names Heat's ResourceGroup will never use again */
  skip: Set<string>;
}

/**
 * Keystone + Heat + Nova for one stack `demo/stack-1` of cluster `demo`. A PATCH sets UPDATE_IN_PROGRESS, and after
 * `updateMs` applies the new counts and removal lists as a ResourceGroup does (named members that exist are skipped
 * for ever; members are the lowest `count` names not skipped), then UPDATE_COMPLETE (or UPDATE_FAILED on demand).
 */
export class FakeOpenStack {
  url = '';
  readonly requests: Recorded[] = [];
  status = 'CREATE_COMPLETE';
  reason = 'Stack CREATE completed successfully';
  readonly params: Record<string, string> = { image: 'debian-12', workers_default_flavor: 'm1.medium' };
  readonly groups = new Map<string, FakeGroup>();
  heal?: HealView;
  providerIds = false;
  /** How long an update stays in progress. */
  updateMs = 300;
  /** Answers given to the next PATCHes instead of accepting them (e.g. 409, 400). */
  readonly patchAnswers: number[] = [];
  /** Make the next update end in UPDATE_FAILED with this reason. */
  failNext?: string;
  /** ... and before the groups changed anything (the members stay as they were). */
  failUntouched = false;
  /**
   * ... and the new members have their servers (as on a cloud where Nova built them and their bootstrap signalled
   * FAILURE, or never signalled); without it they have none (Nova refused them, e.g. over quota).
   */
  failWithServers = false;
  /** Nova status by server id (default ACTIVE); a server deleted out of band is in `gone`. */
  readonly serverStatus = new Map<string, string>();
  readonly gone = new Set<string>();
  readonly flavors = [
    { id: 'f-1', name: 'm1.medium', vcpus: 2, ram: 4096, disk: 40 },
    { id: 'f-2', name: 'g1.large', vcpus: 8, ram: 32768, disk: 0 },
  ];
  /** The value of the resource AutoscalerProgram (what synth writes: the agent, gzip then base64). */
  program = gzipSync(AUTOSCALER_AGENT, { level: 9 }).toString('base64');
  private serial = 0;
  private server?: Server;

  constructor(groups: Record<string, FakeGroupSpec>) {
    for (const [name, spec] of Object.entries(groups)) {
      const p = `workers_${name.replace(/-/g, '_')}`;
      const view = {
        min: 0,
        max: 10,
        count: `${p}_count`,
        remove: `${p}_remove`,
        flavor: `${p}_flavor`,
        prefix: `demo-${name}-`,
        labels: { 'hotk8s.io/worker-group': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' },
        taints: [],
        autoscale: true,
        heal: true,
        ...spec,
      };
      this.params[view.count] = String(spec.size);
      this.params[view.remove] = '';
      this.params[view.flavor] ??= 'm1.medium';
      const members = new Map<string, string | null>();
      for (let i = 0; i < spec.size; i++) members.set(String(i), this.newServerId());
      this.groups.set(name, { view, members, skip: new Set() });
    }
  }

  private newServerId(): string {
    return `00000000-0000-4000-8000-${String(++this.serial).padStart(12, '0')}`;
  }

  /** The output the agent reads. */
  view(): AutoscalingView {
    const groups: Record<string, GroupView> = {};
    for (const [name, g] of this.groups) groups[name] = { ...g.view, servers: Object.fromEntries(g.members) };
    return { cluster: 'demo', groups, ...(this.heal ? { heal: this.heal } : {}), providerIds: this.providerIds };
  }

  /** Server names of a group's members, by member order. */
  names(group: string): string[] {
    const g = this.groups.get(group)!;
    return [...g.members.keys()].map((m) => g.view.prefix + m);
  }

  serverOf(name: string): string | null | undefined {
    for (const g of this.groups.values()) {
      if (name.startsWith(g.view.prefix)) {
        const v = g.members.get(name.slice(g.view.prefix.length));
        if (v !== undefined) return v;
      }
    }
    return undefined;
  }

  patches(): Recorded[] {
    return this.requests.filter((r) => r.method === 'PATCH');
  }

  /** Applies the parameters as Heat's ResourceGroups would (a failed update leaves its new members without a server). */
  private converge(failed: boolean): void {
    for (const g of this.groups.values()) {
      for (const n of this.params[g.view.remove]!.split(',').filter(Boolean)) {
        const m = n.startsWith(g.view.prefix) ? n.slice(g.view.prefix.length) : n;
        if (g.members.has(m)) g.skip.add(m);
      }
      const want: string[] = [];
      for (let i = 0; want.length < Number(this.params[g.view.count]); i++) if (!g.skip.has(String(i))) want.push(String(i));
      for (const m of [...g.members.keys()]) if (!want.includes(m)) g.members.delete(m);
      for (const m of want) if (!g.members.has(m)) g.members.set(m, failed && !this.failWithServers ? null : this.newServerId());
      g.members = new Map([...g.members].sort(([a], [b]) => Number(a) - Number(b)));
    }
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.url = await listen(this.server);
    return this;
  }

  async stop(): Promise<void> {
    await new Promise((r) => this.server?.close(r));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const path = req.url ?? '';
    this.requests.push({ at: Date.now(), method: req.method ?? '', path, body });
    const stackPath = '/heat/v1/p1/stacks/demo/stack-1';
    if (req.method === 'POST' && path === '/v3/auth/tokens') {
      const cred = body?.auth?.identity?.application_credential;
      if (cred?.id !== 'cred-id' || cred?.secret !== 'cred-secret')
        return send(res, 401, { error: { message: 'The request you have made requires authentication.' } });
      return send(
        res,
        201,
        {
          token: {
            expires_at: new Date(Date.now() + 3600_000).toISOString(),
            catalog: [
              { type: 'orchestration', endpoints: [{ interface: 'public', region_id: 'RegionOne', url: `${this.url}/heat/v1/p1` }] },
              { type: 'compute', endpoints: [{ interface: 'public', region_id: 'RegionOne', url: `${this.url}/nova/v2.1` }] },
            ],
          },
        },
        { 'x-subject-token': 'token-1' },
      );
    }
    if (req.headers['x-auth-token'] !== 'token-1') return send(res, 401, { error: { message: 'no token' } });
    if (req.method === 'GET' && path === `${stackPath}?resolve_outputs=false`) {
      return send(res, 200, {
        stack: { stack_status: this.status, stack_status_reason: this.reason, parameters: { ...this.params, 'OS::stack_id': 'stack-1' } },
      });
    }
    if (req.method === 'GET' && path === `${stackPath}/outputs/hotk8s_autoscaling`) {
      return send(res, 200, { output: { output_key: 'hotk8s_autoscaling', output_value: this.view() } });
    }
    if (req.method === 'PATCH' && path === stackPath) {
      const forced = this.patchAnswers.shift();
      if (forced) return send(res, forced, { explanation: `forced ${forced}`, error: { message: `forced answer ${forced}` } });
      if (this.status.endsWith('_IN_PROGRESS')) return send(res, 409, { error: { message: 'Stack demo is in progress' } });
      for (const [k, v] of Object.entries<string>(body.parameters)) {
        if (!(k in this.params)) return send(res, 400, { error: { message: `The Parameter (${k}) was not defined in template.` } });
        this.params[k] = String(v);
      }
      this.status = 'UPDATE_IN_PROGRESS';
      this.reason = 'Stack UPDATE started';
      const fail = this.failNext;
      const untouched = this.failUntouched;
      this.failNext = undefined;
      this.failUntouched = false;
      setTimeout(() => {
        if (!(fail && untouched)) this.converge(fail !== undefined);
        this.status = fail ? 'UPDATE_FAILED' : 'UPDATE_COMPLETE';
        this.reason = fail ?? 'Stack UPDATE completed successfully';
      }, this.updateMs);
      return send(res, 202);
    }
    if (req.method === 'GET' && path === `${stackPath}/resources/AutoscalerProgram`) {
      return send(res, 200, {
        resource: { resource_name: 'AutoscalerProgram', resource_type: 'OS::Heat::Value', attributes: { value: this.program } },
      });
    }
    if (req.method === 'GET' && path === '/nova/v2.1/flavors/detail') return send(res, 200, { flavors: this.flavors });
    if (req.method === 'GET' && path.startsWith('/nova/v2.1/servers/detail')) {
      const servers = [...this.groups.values()].flatMap((g) =>
        [...g.members]
          .filter(([, id]) => id && !this.gone.has(id))
          .map(([m, id]) => ({ id, name: g.view.prefix + m, status: this.serverStatus.get(id!) ?? 'ACTIVE' })),
      );
      return send(res, 200, { servers });
    }
    send(res, 404, { error: { message: `no route ${req.method} ${path}` } });
  }
}

export interface FakeNodeSpec {
  readonly ready?: 'True' | 'False' | 'Unknown';
  /** When the Ready condition last changed (ms since epoch). */
  readonly since?: number;
  readonly providerID?: string;
  readonly annotations?: Record<string, string>;
}

/** The Kubernetes API the agent uses: nodes (list, merge patch, delete), events, one namespace's leases. */
export class FakeKube {
  url = '';
  readonly requests: Recorded[] = [];
  readonly nodes = new Map<string, any>();
  readonly events: any[] = [];
  readonly leases = new Map<string, any>();
  private version = 1;
  private server?: Server;

  setNode(name: string, spec: FakeNodeSpec = {}): void {
    const old = this.nodes.get(name);
    this.nodes.set(name, {
      metadata: { name, labels: old?.metadata.labels ?? {}, annotations: spec.annotations ?? old?.metadata.annotations ?? {} },
      spec: { ...(old?.spec ?? {}), ...(spec.providerID ? { providerID: spec.providerID } : {}) },
      status: {
        conditions: [
          { type: 'Ready', status: spec.ready ?? 'True', lastTransitionTime: new Date(spec.since ?? Date.now() - 3600_000).toISOString() },
        ],
      },
    });
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.url = await listen(this.server);
    return this;
  }

  async stop(): Promise<void> {
    await new Promise((r) => this.server?.close(r));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const path = req.url ?? '';
    this.requests.push({ at: Date.now(), method: req.method ?? '', path, body });
    let m: RegExpExecArray | null;
    if (req.method === 'GET' && path === '/api/v1/nodes') return send(res, 200, { items: [...this.nodes.values()] });
    if ((m = /^\/api\/v1\/nodes\/([^/]+)$/.exec(path))) {
      const node = this.nodes.get(m[1]!);
      if (!node) return send(res, 404, { kind: 'Status', code: 404 });
      if (req.method === 'DELETE') {
        this.nodes.delete(m[1]!);
        return send(res, 200, { kind: 'Status', status: 'Success' });
      }
      if (req.method === 'PATCH') {
        if (req.headers['content-type'] !== 'application/merge-patch+json') return send(res, 415, {});
        if (body.spec?.providerID && node.spec.providerID)
          return send(res, 422, { message: 'spec.providerID: Forbidden: node.spec.providerID: cannot be updated' });
        node.spec = { ...node.spec, ...body.spec };
        return send(res, 200, node);
      }
    }
    if (req.method === 'POST' && (m = /^\/api\/v1\/namespaces\/([^/]+)\/events$/.exec(path))) {
      if (body.metadata.namespace !== m[1]) return send(res, 422, { message: 'namespace mismatch' });
      this.events.push(body);
      return send(res, 201, body);
    }
    if ((m = /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/kube-system\/leases(?:\/([^/]+))?$/.exec(path))) {
      const name = m[1] ?? body?.metadata?.name;
      const held = this.leases.get(name);
      if (req.method === 'GET') return held ? send(res, 200, held) : send(res, 404, { code: 404 });
      if (req.method === 'POST') {
        if (held) return send(res, 409, { code: 409 });
        this.leases.set(name, { ...body, metadata: { ...body.metadata, resourceVersion: String(++this.version) } });
        return send(res, 201, this.leases.get(name));
      }
      if (req.method === 'PUT') {
        if (!held || held.metadata.resourceVersion !== body.metadata.resourceVersion) return send(res, 409, { code: 409 });
        this.leases.set(name, { ...body, metadata: { ...body.metadata, resourceVersion: String(++this.version) } });
        return send(res, 200, this.leases.get(name));
      }
    }
    send(res, 404, { message: `no route ${req.method} ${path}` });
  }
}

export interface RunningAgent {
  readonly lines: string[];
  /** The exit code once the process ended by itself (undefined while it runs). */
  readonly exitCode: number | null | undefined;
  readonly grpcPort: number;
  /** Resolves with the first log line matching `re` (seen already or to come), rejects after `ms`. */
  waitFor(re: RegExp, ms?: number): Promise<string>;
  stop(): Promise<void>;
}

/** Runs the shipped agent against the fakes (HOTK8S_* test knobs: fast retries, a short accept wait). */
export async function startAgent(
  os: { url: string },
  kube: { url: string },
  opts: { grpc?: boolean; heal?: boolean; env?: Record<string, string>; name?: string; viaLoader?: boolean } = {},
): Promise<RunningAgent> {
  const dir = mkdtempSync(join(tmpdir(), 'hotk8s-agent-'));
  writeFileSync(join(dir, 'agent.mjs'), opts.viaLoader ? AUTOSCALER_LOADER : AUTOSCALER_AGENT);
  const grpcPort = opts.grpc === false ? 0 : await freePort();
  const child: ChildProcess = spawn(process.execPath, [join(dir, 'agent.mjs')], {
    env: {
      PATH: process.env.PATH,
      OS_AUTH_URL: `${os.url}/v3`,
      OS_APPLICATION_CREDENTIAL_ID: 'cred-id',
      OS_APPLICATION_CREDENTIAL_SECRET: 'cred-secret',
      HOTK8S_STACK: 'demo/stack-1',
      HOTK8S_KUBE_API: kube.url,
      HOTK8S_KUBE_TOKEN_FILE: join(dir, 'no-token'),
      POD_NAME: opts.name ?? 'agent-0',
      POD_NAMESPACE: 'kube-system',
      HOTK8S_RETRY_MS: '100',
      HOTK8S_ACCEPT_WAIT_MS: '2000',
      ...(grpcPort ? { HOTK8S_GRPC_LISTEN: `127.0.0.1:${grpcPort}` } : {}),
      ...(opts.heal ? { HOTK8S_HEAL: 'true' } : {}),
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  const onLine = (l: string): void => {
    lines.push(l);
    for (const w of [...waiters]) {
      if (w.re.test(l)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(l);
      }
    }
  };
  let buf = '';
  const feed = (c: Buffer): void => {
    buf += c.toString('utf8');
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      onLine(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  };
  child.stdout!.on('data', feed);
  child.stderr!.on('data', feed);
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((r) =>
    child.once('exit', (code) => {
      exitCode = code;
      r();
    }),
  );
  const agent: RunningAgent = {
    lines,
    get exitCode() {
      return exitCode;
    },
    grpcPort,
    waitFor: (re, ms = 10_000) => {
      const seen = lines.find((l) => re.test(l));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const w = { re, resolve: (l: string) => (clearTimeout(t), resolve(l)) };
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`no log line matching ${re} within ${ms} ms; got:\n${lines.join('\n')}`));
        }, ms);
        waiters.push(w);
      });
    },
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
  if (grpcPort) await agent.waitFor(/externalgrpc provider .* on /);
  else await agent.waitFor(/holds the lease|does not hold/);
  return agent;
}

/** Polls `check` every 50 ms until it returns true, for at most `ms`. */
export async function until(check: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One request that went through a RecordingProxy. */
export interface ProxiedCall {
  readonly start: number;
  readonly end: number;
  /** Service type from the catalog (orchestration, compute) or identity. */
  readonly service: string;
  readonly method: string;
  /** The upstream path (with query). */
  readonly path: string;
  readonly status: number;
  readonly requestBody?: unknown;
}

/**
 * A recording HTTP proxy in front of a Keystone and the services of its catalog: the agent is given
 * `authUrl` (this proxy's address for Keystone) and the catalog in every token it receives is rewritten to point at the
 * proxy too, so every call the agent makes to Keystone, Heat and Nova passes here and is recorded, unchanged otherwise.
 */
export class RecordingProxy {
  url = '';
  readonly calls: ProxiedCall[] = [];
  private readonly origins: string[] = [];
  private readonly services = new Map<string, string>(); // origin + path prefix -> service type
  private server?: Server;

  constructor(private readonly keystone: string) {}

  /** OS_AUTH_URL for the agent. */
  get authUrl(): string {
    return this.rewrite(this.keystone);
  }

  private rewrite(upstream: string): string {
    const u = new URL(upstream);
    let i = this.origins.indexOf(u.origin);
    if (i < 0) i = this.origins.push(u.origin) - 1;
    return `${this.url}/o${i}${u.pathname.replace(/\/+$/, '')}`;
  }

  private serviceOf(origin: string, path: string): string {
    let best = '';
    let type = 'identity';
    for (const [prefix, t] of this.services) {
      if ((origin + path).startsWith(prefix) && prefix.length > best.length) [best, type] = [prefix, t];
    }
    return type;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.url = await listen(this.server);
    this.rewrite(this.keystone);
    return this;
  }

  async stop(): Promise<void> {
    await new Promise((r) => this.server?.close(r));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const start = Date.now();
    const m = /^\/o(\d+)(\/.*)$/.exec(req.url ?? '');
    const origin = m ? this.origins[Number(m[1])] : undefined;
    if (!m || !origin) return send(res, 404, { error: { message: `not proxied: ${req.url}` } });
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = chunks.length ? Buffer.concat(chunks) : undefined;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers))
      if (typeof v === 'string' && !['host', 'content-length', 'connection'].includes(k)) headers[k] = v;
    let upstream: { status: number; headers: Headers };
    let text: string;
    try {
      ({ upstream, text } = await forward(origin + m[2], req.method ?? 'GET', headers, body));
    } catch (e) {
      // the service went away (the twin stopping): the agent sees what it would see, a failed connection
      this.calls.push({ start, end: Date.now(), service: this.serviceOf(origin, m[2]!), method: req.method ?? '', path: m[2]!, status: 0 });
      res.destroy(e as Error);
      return;
    }
    if (req.method === 'POST' && /\/auth\/tokens$/.test(m[2]!) && upstream.status === 201) {
      const doc = JSON.parse(text) as { token: { catalog?: { type: string; endpoints: { url: string }[] }[] } };
      for (const entry of doc.token.catalog ?? []) {
        for (const e of entry.endpoints) {
          const u = new URL(e.url);
          this.services.set(u.origin + u.pathname, entry.type);
          e.url = this.rewrite(e.url);
        }
      }
      text = JSON.stringify(doc);
    }
    let requestBody: unknown;
    try {
      requestBody = body ? JSON.parse(body.toString('utf8')) : undefined;
    } catch {
      requestBody = body?.toString('utf8');
    }
    this.calls.push({
      start,
      end: Date.now(),
      service: this.serviceOf(origin, m[2]!),
      method: req.method ?? '',
      path: m[2]!,
      status: upstream.status,
      requestBody,
    });
    const out: Record<string, string> = {};
    for (const k of ['content-type', 'x-subject-token', 'location', 'openstack-api-version', 'x-openstack-nova-api-version'])
      if (upstream.headers.get(k)) out[k] = upstream.headers.get(k)!;
    res.writeHead(upstream.status, out);
    res.end(text);
  }
}

/** One HTTP request on a connection of its own (no keep-alive: a socket the server closed is never reused). */
function forward(
  url: string,
  method: string,
  headers: Record<string, string>,
  body: Buffer | undefined,
): Promise<{ upstream: { status: number; headers: Headers }; text: string }> {
  return new Promise((resolve, reject) => {
    const r = httpRequest(url, { method, headers: { ...headers, connection: 'close' }, agent: false }, (resp) => {
      const chunks: Buffer[] = [];
      resp.on('data', (c: Buffer) => chunks.push(c));
      resp.on('error', reject);
      resp.on('end', () => {
        const h = new Headers();
        for (const [k, v] of Object.entries(resp.headers)) if (typeof v === 'string') h.set(k, v);
        resolve({ upstream: { status: resp.statusCode ?? 0, headers: h }, text: Buffer.concat(chunks).toString('utf8') });
      });
    });
    r.on('error', reject);
    r.end(body);
  });
}
