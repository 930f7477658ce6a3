/**
 * Issue 12's scenario table on the twin: stacks/default is created once, then each day-2 change runs as a real
 * `openstack stack update` (after a `--dry-run` of the same update), and the recorded cloud actions are summarized:
 * created / updated / rebuilt / resized / replaced / deleted, the order of the server actions, and the most etcd
 * members and masters out of service at once (at most one). The table is written to
 * .cache/twin-day2/scenarios.md.
 *
 * The rolling-update pauses are deploy-time parameters (300 s for etcd and masters by default); the first update sets
 * them to a few seconds, which the twin's nodes (back 0.5 s after their server) need.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { App, Cluster, HeatStack, synthesize } from '../../src/index.js';
import { reissueClientCertificate } from '../../src/bootstrap/pki.js';
import { expectDiffAgrees, runDiffCli } from '../lib/diff-agree.js';
import { listPrograms, loadProgram } from '../lib/programs.js';
import { stackResources, startTwin, summarize, type Twin, type TwinSummary } from '../lib/twin.js';

const work = mkdtempSync(join(tmpdir(), 'hotk8s-twin-day2-'));
const out = join(work, 'out');
const out2 = join(work, 'out-two-groups');
const out3 = join(work, 'out-renewed-certs');
const stateDir = join(work, 'state');
const TABLE = join(process.cwd(), '.cache', 'twin-day2', 'scenarios.md');
let twin: Twin;

interface Row {
  readonly scenario: string;
  readonly summary: TwinSummary;
  readonly seconds: number;
  readonly previewChanged: number;
}
const rows: Row[] = [];

/** Top-level resources whose properties reference another resource (Heat 19's preview lists them as changed: twin.md). */
function referencingResources(rootTemplate: string): string[] {
  const doc = yaml.load(readFileSync(rootTemplate, 'utf8')) as { resources: Record<string, { properties?: unknown }> };
  return Object.entries(doc.resources)
    .filter(([, r]) => /"get_(resource|attr)"/.test(JSON.stringify(r.properties ?? {})))
    .map(([name]) => name);
}

type Preview = Record<'added' | 'deleted' | 'replaced' | 'updated' | 'unchanged', string[]>;

/**
 * One scenario: `stack update --dry-run` then the update itself, both with `args`; the summary of what the cloud
 * recorded; the preview checked against it (every top-level resource the update touched is previewed as added,
 * updated or replaced; nothing is previewed as deleted; what is previewed as changed is either touched or one of the
 * references Heat 19 always lists). `hotk8s diff` of the same update (synth outputs `diff.old` -> `diff.new`, the
 * same `--parameter`s, the resources marked unhealthy) must agree with both (test/lib/diff-agree.ts).
 */
async function step(
  scenario: string,
  args: string[],
  opts: { cwd?: string; template?: string; diff: { old: string; new: string; unhealthy?: string[] } },
): Promise<TwinSummary> {
  const dry = await twin.openstack(['stack', 'update', '--existing', '--dry-run', ...args, 'default', '-f', 'json'], { cwd: opts.cwd });
  const preview = Object.fromEntries(
    Object.entries(JSON.parse(dry.stdout) as Record<string, string>).map(([k, v]) => [
      k,
      (JSON.parse(v) as { resource_name: string }[]).map((r) => r.resource_name),
    ]),
  ) as Preview;
  const since = await twin.mark();
  const state = await twin.updateStack('default', args, { cwd: opts.cwd, timeoutSec: 1500 });
  console.log(`twin-day2: ${scenario}: ${state.status} in ${state.seconds.toFixed(1)} s`);
  expect(state.status, state.reason).toBe('UPDATE_COMPLETE');
  const summary = summarize(await twin.actions(), { since });
  const window = await twin.actions({ since });
  const touched = [...new Set(window.filter((a) => a.path).map((a) => a.path!.split('/')[1]!))];
  const changed = [...preview.updated, ...preview.replaced];
  for (const t of touched) expect([...changed, ...preview.added], `${scenario}: preview of ${t}`).toContain(t);
  expect(preview.deleted, scenario).toEqual([]);
  const referencing = referencingResources(opts.template ?? join(out, 'default.yaml'));
  for (const c of changed) expect([...touched, ...referencing], `${scenario}: previewed change ${c}`).toContain(c);
  // the safety property of issue 12: never more than one etcd member or master out of service
  expect(summary.maxOutOfService.etcd ?? 0, scenario).toBeLessThanOrEqual(1);
  expect(summary.maxOutOfService.master ?? 0, scenario).toBeLessThanOrEqual(1);
  // hotk8s diff, computed locally, on the same update
  const t0 = performance.now();
  const changes = await runDiffCli({ old: opts.diff.old, new: opts.diff.new, updateArgs: args, unhealthy: opts.diff.unhealthy });
  const diffMs = performance.now() - t0;
  const ours = expectDiffAgrees(scenario, changes, preview, referencing, touched, summary);
  console.log(
    `twin-day2: ${scenario}: diff (${diffMs.toFixed(0)} ms) ${JSON.stringify(ours)}; ${changes.length} change(s) in all; Heat ${JSON.stringify(preview)}`,
  );
  rows.push({ scenario, summary, seconds: state.seconds, previewChanged: changed.length + preview.added.length });
  return summary;
}

const serverNames = (s: TwinSummary, action: string) => s.serverOrder.filter((o) => o.action === action).map((o) => o.name ?? o.path);
const serverRoles = (s: TwinSummary) => [...new Set(s.serverOrder.map((o) => o.role))].sort();

function writeTable(): void {
  const lines = [
    '| scenario | created | updated | rebuilt | resized | replaced | deleted | server actions in order | max out (etcd/master/worker) | seconds |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of rows) {
    const s = r.summary;
    const order = s.serverOrder
      .filter((o) => o.action !== 'confirm-resize')
      .map((o) => `${o.name ?? '?'} ${o.action}`)
      .join(', ');
    const m = s.maxOutOfService;
    lines.push(
      `| ${r.scenario} | ${s.created.length} | ${s.updated.length} | ${s.rebuilt.length} | ${s.resized.length} | ${s.replaced.length} | ${s.deleted.length} | ${order || '-'} | ${m.etcd ?? 0}/${m.master ?? 0}/${m.worker ?? 0} | ${r.seconds.toFixed(0)} |`,
    );
  }
  lines.push(
    '',
    '(f) Kubernetes minor upgrade: test/twin/upgrade.test.ts (its own stack: an in-place metadata update of every master and worker).',
    'Counts are logical resources (servers, ports, handles' + "'" + ' users, pool members...) from `summarize()`.',
  );
  mkdirSync(join(TABLE, '..'), { recursive: true });
  writeFileSync(TABLE, lines.join('\n') + '\n');
  console.log(`twin-day2: table in ${TABLE}\n${lines.join('\n')}`);
}

/** stacks/default with a second worker group (scenario (b) on): the same cluster name, so the same state directory. */
function twoGroups(): App {
  const app = new App();
  const stack = new HeatStack(app, 'default', { description: 'stacks/default with a second worker group' });
  new Cluster(stack, 'Cluster', { name: 'k8s', workerGroups: [{ name: 'default' }, { name: 'extra', size: 2, flavor: 'm1.large' }] });
  return app;
}

beforeAll(async () => {
  const program = listPrograms().find((p) => p.kind === 'stacks' && p.name === 'default')!;
  await synthesize(await loadProgram(program), { outdir: out, stateDir });
  // (b): the same cluster with a second worker group, synthesized with the same state directory (same secrets)
  await synthesize(twoGroups(), { outdir: out2, stateDir });
  twin = await startTwin();
  const state = await twin.createStack({ outDir: out });
  console.log(`twin-day2: create in ${state.seconds.toFixed(1)} s`);
  expect(state.status, state.reason).toBe('CREATE_COMPLETE');
}, 900_000);

afterAll(async () => {
  if (rows.length > 0) writeTable();
  await twin?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('day 2 on stacks/default (twin)', () => {
  it('(a) workers 3 -> 10: seven workers created, nothing else touched', async () => {
    const s = await step(
      '(a) workers 3 -> 10',
      ['--parameter', 'workers_default_count=10', '--parameter', 'etcd_update_pause=5', '--parameter', 'master_update_pause=5'],
      { diff: { old: out, new: out } },
    );
    expect(serverNames(s, 'create').sort()).toEqual([3, 4, 5, 6, 7, 8, 9].map((i) => `k8s-default-${i}`).sort());
    expect([s.rebuilt, s.resized, s.replaced, s.deleted]).toEqual([[], [], [], []]);
    expect(s.maxOutOfService).toMatchObject({ etcd: 0, master: 0, worker: 0 });
  }, 900_000);

  it('(b) a second worker group (re-synth): its two workers created, no existing server touched', async () => {
    const s = await step('(b) add worker group', ['-t', 'default.yaml', '-e', 'default.env.yaml', '-e', 'default.secrets.env.yaml'], {
      cwd: out2,
      template: join(out2, 'default.yaml'),
      diff: { old: out, new: out2 },
    });
    expect(serverNames(s, 'create').sort()).toEqual(['k8s-extra-0', 'k8s-extra-1']);
    expect(s.serverOrder.every((o) => o.action === 'create')).toBe(true);
    expect([s.rebuilt, s.resized, s.replaced, s.deleted]).toEqual([[], [], [], []]);
  }, 900_000);

  it('(c) a new image for the default workers only: the ten rebuilt (one batch: no rolling policy on workers by default), etcd, masters and the other group untouched', async () => {
    const s = await step('(c) new worker image', ['--parameter', 'workers_default_image=debian-12-next'], {
      template: join(out2, 'default.yaml'),
      diff: { old: out2, new: out2 },
    });
    expect(serverNames(s, 'rebuild').sort()).toEqual([...Array(10).keys()].map((i) => `k8s-default-${i}`).sort());
    expect(serverRoles(s)).toEqual(['worker']);
    expect(s.serverOrder.some((o) => o.name?.startsWith('k8s-extra'))).toBe(false);
    expect([s.replaced, s.deleted, s.created]).toEqual([[], [], []]);
    // worker groups roll only when they opt in (`rollingUpdate`): Heat would batch their scale-ups too
    expect(s.maxOutOfService).toMatchObject({ etcd: 0, master: 0 });
  }, 900_000);

  it('(d) a new image for etcd: the three members rebuilt one at a time (2, 1, 0), at most one out of service', async () => {
    const s = await step('(d) new etcd image', ['--parameter', 'etcd_image=debian-12-next'], {
      template: join(out2, 'default.yaml'),
      diff: { old: out2, new: out2 },
    });
    expect(serverNames(s, 'rebuild')).toEqual(['k8s-etcd-2', 'k8s-etcd-1', 'k8s-etcd-0']);
    expect(serverRoles(s)).toEqual(['etcd']);
    expect(s.maxOutOfService.etcd).toBe(1);
  }, 900_000);

  it('(e) a new master flavor: the three masters resized one at a time, at most one out of service', async () => {
    const s = await step('(e) new master flavor', ['--parameter', 'master_flavor=m1.xlarge'], {
      template: join(out2, 'default.yaml'),
      diff: { old: out2, new: out2 },
    });
    expect(serverNames(s, 'resize')).toEqual(['k8s-master-2', 'k8s-master-1', 'k8s-master-0']);
    expect(serverRoles(s)).toEqual(['master']);
    expect(s.maxOutOfService.master).toBe(1);
  }, 900_000);

  /** Marks a member's server unhealthy (what the constructs offer for etcd and masters, whose names are fixed). */
  async function replaceMember(groupPrefix: string, member: string): Promise<string> {
    const target = (await stackResources(twin, 'default')).find(
      (r) => r.resource_name === 'Server' && r.stackName.includes(groupPrefix) && r.parent_resource === member,
    );
    expect(target, `${groupPrefix} member ${member}`).toBeDefined();
    await twin.openstack(['stack', 'resource', 'mark', 'unhealthy', target!.stackId, 'Server', 'day 2: replace']);
    // the same resource as hotk8s diff names it: <stack>/<group>/<member>/Server
    const doc = yaml.load(readFileSync(join(out2, 'default.yaml'), 'utf8')) as { resources: Record<string, unknown> };
    const group = Object.keys(doc.resources).find((n) => n.startsWith(groupPrefix));
    expect(group, groupPrefix).toBeDefined();
    return `default/${group!}/${member}/Server`;
  }

  it('(g) replace etcd member 1: a new server on the same port, then the old one deleted', async () => {
    const marked = await replaceMember('ClusterEtcdMembersNodesGroup', '1');
    const s = await step('(g) replace etcd member 1', [], {
      template: join(out2, 'default.yaml'),
      diff: { old: out2, new: out2, unhealthy: [marked] },
    });
    expect(s.replaced).toHaveLength(1);
    expect(s.replaced[0]).toMatch(/ClusterEtcdMembersNodesGroup[^/]*\/1\/Server$/);
    expect(serverRoles(s)).toEqual(['etcd']);
    expect(s.maxOutOfService.etcd).toBe(1);
  }, 900_000);

  it('(h) replace master 0: a new server on the same port, then the old one deleted', async () => {
    const marked = await replaceMember('ClusterControlMastersNodesGroup', '0');
    const s = await step('(h) replace master 0', [], {
      template: join(out2, 'default.yaml'),
      diff: { old: out2, new: out2, unhealthy: [marked] },
    });
    expect(s.replaced).toHaveLength(1);
    expect(s.replaced[0]).toMatch(/ClusterControlMastersNodesGroup[^/]*\/0\/Server$/);
    expect(serverRoles(s)).toEqual(['master']);
    expect(s.maxOutOfService.master).toBe(1);
  }, 900_000);

  it('(i) certificate renewal (re-synth renews the etcd client certificate): the masters updated in place one at a time, nothing rebuilt or replaced', async () => {
    // a cluster made by an older hotk8s: its etcd client certificate (365 days) has 35 days left
    await reissueClientCertificate(stateDir, 'k8s', 'apiserverEtcdClient', {
      now: new Date(Date.now() - 330 * 86_400_000),
      validityDays: 365,
    });
    const synth = await synthesize(twoGroups(), { outdir: out3, stateDir });
    const warnings = synth.annotations.filter((a) => a.level === 'warning').map((a) => a.message);
    expect(warnings.join('\n')).toMatch(
      /apiserver-etcd-client\.crt would have expired in 3[45] days .* renewed with the same key .*openstack stack update/,
    );
    const before = readFileSync(join(out2, 'default.secrets.env.yaml'), 'utf8');
    const after = readFileSync(join(out3, 'default.secrets.env.yaml'), 'utf8');
    const changedParams = after
      .split('\n')
      .filter((l) => !before.split('\n').includes(l))
      .map((l) => l.split(':')[0]!.trim());
    // only the certificate's parameters change; the last metadata part (it ends with the signature) always does, the
    // others where they hold more than what stayed (issuer, subject, the same public key)
    const certParams = [
      'apiserver_etcd_client_cert_b64',
      'apiserver_etcd_client_cert_meta_0',
      'apiserver_etcd_client_cert_meta_1',
      'apiserver_etcd_client_cert_meta_2',
    ];
    expect(certParams).toEqual(expect.arrayContaining(changedParams));
    expect(changedParams).toEqual(expect.arrayContaining(['apiserver_etcd_client_cert_b64', 'apiserver_etcd_client_cert_meta_2']));
    const s = await step(
      '(i) certificate renewal',
      [
        '-t',
        'default.yaml',
        '-e',
        'default.env.yaml',
        '-e',
        'default.secrets.env.yaml',
        '--parameter',
        'etcd_update_pause=5',
        '--parameter',
        'master_update_pause=5',
      ],
      { cwd: out3, template: join(out3, 'default.yaml'), diff: { old: out2, new: out3 } },
    );
    // Nova metadata updated in place on each master (Heat's server handle_update: set_meta), one master at a time
    expect(serverNames(s, 'update')).toEqual(['k8s-master-2', 'k8s-master-1', 'k8s-master-0']);
    expect(serverRoles(s)).toEqual(['master']);
    expect([s.created, s.rebuilt, s.resized, s.replaced, s.deleted]).toEqual([[], [], [], [], []]);
    expect(s.maxOutOfService).toMatchObject({ etcd: 0, master: 0, worker: 0 });
  }, 900_000);
});
