// `npm run bench:engine`: what a cluster costs the Heat engine, per worker, on the local Heat twin (test/lib/twin.ts:
// Debian's heat-api and heat-engine, one engine worker, sqlite, over a fake cloud whose resources complete at once
// and whose nodes signal SUCCESS at once). For each layout and worker count it creates the default cluster with one
// worker group of N (a fresh twin each time) and records wall time, heat-all CPU time (utime + stime of the twin's
// heat-all process, from /proc), the number of stacks (root + nested) and resources Heat holds, and the load average
// (the machine may be shared). On the largest N it then adds one worker (`workers_default_count=N+1`) and removes one
// by name (`workers_default_remove=k8s-default-1`, count back to N), checking that exactly that server goes.
// `--layout magnum` is the reference: Magnum's Kubernetes driver template (bench/magnum.ts) with 3 masters and N
// workers on the same twin and settings, and on the largest N a scale-up +1 (`number_of_minions=N+1`, as Magnum
// scales); the twin's software-deployment agent (test/twin/server/cloud/agent.py) signals its deployments at once.
//
//   npm run bench:engine -- --workers 10,100,300 --layout split,compact,magnum [--out docs/bench-engine.md | --no-write]
//
// The twin's heat.conf gets exactly the settings the cluster's synth warning asks of the operator (heatSettingsNeeded:
// max_resources_per_stack above 1000, rpc_response_timeout above 60 s, for the group at N+1 workers); the cluster's own
// capacity check is given the same limit. `--rpc-timeout S` overrides the RPC timeout. The table says what was raised.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { App, Cluster, HeatStack, HotValidationError, synthesize } from '../src/index.js';
import type { NodeGroupLayout } from '../src/k8s/node-group.js';
import { HEAT_DEFAULT_RPC_RESPONSE_TIMEOUT_SEC, heatSettingsNeeded } from '../src/k8s/private/capacity.js';
import { stackResources, startTwin, type StackState, type Twin } from '../test/lib/twin.js';
import { MAGNUM_MASTERS, magnumParameters, magnumTemplates } from './magnum.js';

const ROOT = resolve(import.meta.dirname, '..');
const STACK = 'bench';
const GROUP = 'default';
const HEAT_DEFAULT_LIMIT = 1000;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
const WORKERS = arg('workers', '10,100,300')
  .split(',')
  .map((w) => Number(w))
  .sort((a, b) => a - b);
type Layout = NodeGroupLayout | 'magnum';
const LAYOUTS = arg('layout', 'split,compact').split(',') as Layout[];
// oslo.messaging's rpc_response_timeout (Heat's engine-to-engine calls, e.g. creating a nested stack): by default what
// the cluster's synth warning asks for (Heat's 60 s when it asks nothing)
const RPC_TIMEOUT = process.argv.includes('--rpc-timeout') ? Number(arg('rpc-timeout', 'x')) : undefined;
if (RPC_TIMEOUT !== undefined && !(RPC_TIMEOUT > 0)) throw new Error(`--rpc-timeout takes seconds; got ${arg('rpc-timeout', '')}`);
// --heat-option name=value (repeatable): more [DEFAULT] options for the twin's heat.conf, recorded in the table
const EXTRA_OPTIONS: [string, number][] = process.argv.flatMap((a, i) => {
  if (a !== '--heat-option') return [];
  const m = /^([a-z_]+)=(\d+)$/.exec(process.argv[i + 1] ?? '');
  if (!m) throw new Error(`--heat-option takes name=number; got ${process.argv[i + 1]}`);
  return [[m[1]!, Number(m[2])] as [string, number]];
});
const OUT = process.argv.includes('--no-write') ? undefined : resolve(ROOT, arg('out', 'docs/bench-engine.md'));
for (const n of WORKERS) if (!Number.isInteger(n) || n < 1) throw new Error(`--workers takes positive integers; got ${n}`);
for (const l of LAYOUTS)
  if (l !== 'split' && l !== 'compact' && l !== 'magnum') throw new Error(`--layout takes split, compact and/or magnum; got ${l}`);

interface Row {
  layout: Layout;
  workers: number;
  op: string;
  wallSec: number;
  cpuSec: number;
  stacks?: number;
  resources?: number;
  limit: number;
  rpcTimeout: number;
  load: string;
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

function buildApp(layout: NodeGroupLayout, workers: number, limit: number): App {
  const app = new App();
  const stack = new HeatStack(app, STACK, { description: `hotk8s engine bench: ${workers} workers, ${layout}` });
  new Cluster(stack, 'Cluster', {
    name: 'k8s',
    workerGroups: [{ name: GROUP, size: workers, maxSize: workers + 1, layout }],
    maxResourcesPerStack: limit,
    nodeCidr: workers > 200 ? '10.0.0.0/20' : '10.0.0.0/22',
    // the default pod CIDR (a /16 in /24s) serves 256 nodes
    ...(workers > 200 ? { flannel: { podCidr: '10.128.0.0/12' } } : {}),
  });
  return app;
}

/** The lowest limit (Heat's default, else the next multiple of 500) the cluster's own capacity check accepts. */
function limitFor(layout: NodeGroupLayout, workers: number): number {
  for (let limit = HEAT_DEFAULT_LIMIT; ; limit += 500) {
    const stack = buildApp(layout, workers, limit).node.findChild(STACK) as HeatStack;
    try {
      stack.toTemplate(); // the cluster's capacity check runs when the template is rendered
      return limit;
    } catch (e) {
      if (!(e instanceof HotValidationError) || !e.errors.every((x) => /max_resources_per_stack/.test(x.message))) throw e;
    }
  }
}

// Right after an update completes, heat-api may answer the nested listing with 404 while the engine purges the
// previous traversal's rows (seen once on compact N=100 after the scale-up: "rsrc_prop_data lazy load", then 404), so
// the census asks again, up to three times, a few seconds apart
async function census(twin: Twin): Promise<{ stacks: number; resources: number }> {
  for (let attempt = 1; ; attempt++) {
    try {
      const all = await stackResources(twin, STACK, 5);
      return { stacks: new Set(all.map((r) => r.stackId)).size, resources: all.length };
    } catch (e) {
      if (attempt >= 3 || !/gave HTTP 404/.test(String(e))) throw e;
      console.error(`bench:engine: ${String(e)}; asking again`);
      await new Promise((r) => setTimeout(r, 3000));
    }
  }
}

/**
 * max_resources_per_stack for Magnum's template: Heat's default when it fits, else the next multiple of 500 above a
 * bound of the tree at N+1 workers (measured on the twin: 78 resources besides the workers' 11 each with 3 masters;
 * the bound takes 300 and 12).
 */
function magnumLimit(workers: number): number {
  const bound = 300 + 12 * (workers + 1);
  return bound <= HEAT_DEFAULT_LIMIT ? HEAT_DEFAULT_LIMIT : Math.ceil(bound / 500) * 500;
}

interface Prepared {
  limit: number;
  /** [DEFAULT] options the layout itself needs (what the cluster's synth warning asks of the operator). */
  heatDefaults: Record<string, number>;
  create(twin: Twin): Promise<StackState>;
  cleanup(): void;
}

async function prepare(layout: Layout, workers: number): Promise<Prepared> {
  if (layout === 'magnum') {
    const m = magnumTemplates();
    const params = Object.entries(magnumParameters(workers)).flatMap(([k, v]) => ['--parameter', `${k}=${v}`]);
    return {
      limit: magnumLimit(workers),
      heatDefaults: {},
      async create(twin) {
        // as Magnum's conductor: the template and its environments, get_file and nested templates resolved by the client
        const started = performance.now();
        await twin.openstack(['stack', 'create', '-t', m.template, ...m.environments.flatMap((e) => ['-e', e]), ...params, STACK]);
        const state = await twin.waitForStack(STACK, { action: 'CREATE', timeoutSec: 7200 });
        return { ...state, seconds: (performance.now() - started) / 1000 };
      },
      cleanup() {},
    };
  }
  const limit = limitFor(layout, workers);
  const app = buildApp(layout, workers, limit);
  const work = mkdtempSync(join(tmpdir(), 'hotk8s-bench-engine-'));
  const out = join(work, 'out');
  await synthesize(app, { outdir: out, stateDir: join(work, 'state') });
  const heatDefaults: Record<string, number> = {};
  for (const x of heatSettingsNeeded(app.node.findChild(STACK) as HeatStack)) heatDefaults[x.option] = x.value;
  return {
    limit,
    heatDefaults,
    create: (twin) => twin.createStack({ outDir: out, name: STACK, timeoutSec: 7200 }),
    cleanup: () => rmSync(work, { recursive: true, force: true }),
  };
}

async function run(layout: Layout, workers: number, day2: boolean): Promise<Row[]> {
  const { limit, heatDefaults, create, cleanup } = await prepare(layout, workers);
  if (limit > HEAT_DEFAULT_LIMIT) heatDefaults.max_resources_per_stack = limit;
  if (RPC_TIMEOUT !== undefined) heatDefaults.rpc_response_timeout = RPC_TIMEOUT;
  for (const [k, v] of EXTRA_OPTIONS) heatDefaults[k] = v;
  const rpcTimeout = heatDefaults.rpc_response_timeout ?? HEAT_DEFAULT_RPC_RESPONSE_TIMEOUT_SEC;
  const twinDir = mkdtempSync(join(tmpdir(), 'hotk8s-bench-twin-'));
  console.error(`bench:engine ${layout} N=${workers}: twin state in ${twinDir} (kept when an operation fails)`);
  const twin = await startTwin({
    dir: twinDir,
    heatConfig: Object.keys(heatDefaults).length > 0 ? { DEFAULT: heatDefaults } : undefined,
    control: { defaults: { delay: 0 } },
  });
  const rows: Row[] = [];
  let failed = true;
  try {
    const step = async (op: string, f: () => Promise<{ status: string; reason: string }>, want: string) => {
      const cpu0 = twin.engineCpuSeconds();
      const t0 = performance.now();
      const state = await f();
      const wallSec = (performance.now() - t0) / 1000;
      const cpuSec = twin.engineCpuSeconds() - cpu0;
      if (state.status !== want) throw new Error(`${layout} N=${workers} ${op}: ${state.status} ${state.reason}`);
      const row: Row = { layout, workers, op, wallSec, cpuSec, limit, rpcTimeout, load: load(), ...(await census(twin)) };
      console.error(
        `bench:engine ${layout} N=${workers} ${op}: ${wallSec.toFixed(1)} s wall, ${cpuSec.toFixed(1)} s heat-all CPU, ` +
          `${row.stacks} stacks, ${row.resources} resources (load ${row.load})`,
      );
      rows.push(row);
    };
    await step('create', () => create(twin), 'CREATE_COMPLETE');
    const servers = async (since: number, action: string) =>
      (await twin.actions({ since })).filter((a) => a.type === 'OS::Nova::Server' && a.action === action).map((a) => a.name);
    if (layout === 'magnum') {
      const all = await twin.actions();
      const made = all.filter((a) => a.type === 'OS::Nova::Server' && a.action === 'create').length;
      if (made !== workers + MAGNUM_MASTERS)
        throw new Error(`magnum N=${workers}: ${made} servers created, not ${workers + MAGNUM_MASTERS}`);
      // what the fake cloud did for it (creates by type, and the deployments' signals)
      const byType = new Map<string, number>();
      for (const a of all)
        if (a.action === 'create' || a.type === 'OS::Heat::SoftwareDeployment')
          byType.set(`${a.type} ${a.action}`, (byType.get(`${a.type} ${a.action}`) ?? 0) + 1);
      console.error(`bench:engine magnum N=${workers} cloud actions: ${[...byType].map(([k, v]) => `${k} ${v}`).join(', ')}`);
    }
    if (day2 && layout === 'magnum') {
      const mark = await twin.mark();
      await step(
        'scale-up +1',
        () => twin.updateStack(STACK, ['--parameter', `number_of_minions=${workers + 1}`], { timeoutSec: 7200 }),
        'UPDATE_COMPLETE',
      );
      const [created, deleted] = [await servers(mark, 'create'), await servers(mark, 'delete')];
      if (created.length !== 1 || deleted.length !== 0)
        throw new Error(`magnum scale-up created ${JSON.stringify(created)} and deleted ${JSON.stringify(deleted)}, not one new server`);
    } else if (day2) {
      const p = `workers_${GROUP}`;
      await step(
        'scale-up +1',
        () => twin.updateStack(STACK, ['--parameter', `${p}_count=${workers + 1}`], { timeoutSec: 7200 }),
        'UPDATE_COMPLETE',
      );
      const mark = await twin.mark();
      const victim = `k8s-${GROUP}-1`;
      await step(
        'remove one by name',
        () =>
          twin.updateStack(STACK, ['--parameter', `${p}_count=${workers}`, '--parameter', `${p}_remove=${victim}`], { timeoutSec: 7200 }),
        'UPDATE_COMPLETE',
      );
      const deleted = await servers(mark, 'delete');
      if (deleted.length !== 1 || deleted[0] !== victim) throw new Error(`removal deleted ${JSON.stringify(deleted)}, not ${victim}`);
    }
    failed = false;
  } finally {
    await twin.stop();
    cleanup();
    if (!failed) rmSync(twinDir, { recursive: true, force: true });
  }
  return rows;
}

function table(rows: readonly Row[]): string {
  const lines = [
    '| layout | workers | operation | wall s | heat-all CPU s | CPU s / worker | stacks | resources | max_resources_per_stack | rpc_response_timeout | load avg (1/5/15 min) |',
    '|---|---:|---|---:|---:|---:|---:|---:|---|---|---|',
  ];
  for (const r of rows) {
    const perWorker = r.op === 'create' ? (r.cpuSec / r.workers).toFixed(2) : '';
    const limit = r.limit > HEAT_DEFAULT_LIMIT ? `**${r.limit} (raised)**` : `${r.limit} (default)`;
    const rpc = r.rpcTimeout !== HEAT_DEFAULT_RPC_RESPONSE_TIMEOUT_SEC ? `**${r.rpcTimeout} s (raised)**` : `60 s (default)`;
    lines.push(
      `| ${r.layout} | ${r.workers} | ${r.op} | ${r.wallSec.toFixed(1)} | ${r.cpuSec.toFixed(1)} | ${perWorker} | ${r.stacks} | ${r.resources} | ${limit} | ${rpc} | ${r.load} |`,
    );
  }
  return lines.join('\n');
}

const started = new Date();
const rows: Row[] = [];
const largest = WORKERS[WORKERS.length - 1]!;
for (const layout of LAYOUTS) for (const n of WORKERS) rows.push(...(await run(layout, n, n === largest)));
const text = table(rows);
console.log(text);
if (OUT) {
  const command = `npm run bench:engine -- ${process.argv.slice(2).join(' ')}`.trim();
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, Heat 19 (Debian python3-heat)`;
  writeFileSync(
    OUT,
    `# Heat engine cost of a cluster (bench/engine.ts)\n\n` +
      `Generated by \`${command}\` on ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC; machine: ${machine}.\n` +
      `The local Heat twin (test/lib/twin.md): one heat-all process (API and one engine worker, sqlite) over a fake cloud\n` +
      `whose resources complete at once and whose nodes signal SUCCESS at once, so these are orchestration costs only.\n` +
      `heat-all CPU is utime + stime of that process over the operation; "stacks" counts the root and every nested stack,\n` +
      `"resources" every resource of the tree. Each (layout, N) runs on a fresh twin; the scale-up and the removal by name\n` +
      `run on the largest N. The load average is the machine's at the end of each operation: the machine was shared, so\n` +
      `wall times are noisy; CPU times less so.\n` +
      (LAYOUTS.includes('magnum')
        ? `"magnum" rows: Magnum's k8s_fedora_coreos_v1 template (bench/magnum.ts: ${MAGNUM_MASTERS} masters, Magnum's default\n` +
          `environment files) on the same twin; its software deployments are signalled at once by the twin's agent.\n`
        : '') +
      `\n` +
      `${text}\n`,
  );
  console.error(`bench:engine: wrote ${OUT}`);
}
