/**
 * Issue 12 scenario (f), Kubernetes minor upgrade N -> N+1, at the Heat level on the twin: stacks/default (1.36) is
 * created, re-synthesized with the next minor (1.37, same state directory: same secrets, and the recorded version
 * allows one minor up), and applied with `openstack stack update` after a `--dry-run` of the same update. The servers
 * of masters and workers get the new `hotk8s-kubernetes-version` metadata in place; no server is rebuilt, resized,
 * replaced, created or deleted; etcd members are not touched; no node is out of service. The kubeadm upgrade itself
 * (the agent on the nodes, test/unit/bootstrap-upgrade-agent.test.ts) is not run here. `hotk8s diff` of the two synth
 * outputs must agree with the dry-run and the recorded actions (test/lib/diff-agree.ts).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { App, Cluster, HeatStack, synthesize } from '../../src/index.js';
import { UPGRADE_METADATA_KEY } from '../../src/bootstrap/upgrade.js';
import { expectDiffAgrees, runDiffCli } from '../lib/diff-agree.js';
import { listPrograms, loadProgram } from '../lib/programs.js';
import { startTwin, summarize, type Twin } from '../lib/twin.js';

const work = mkdtempSync(join(tmpdir(), 'hotk8s-twin-upgrade-'));
const out = join(work, 'out');
const next = join(work, 'out-1.37');
const stateDir = join(work, 'state');
let twin: Twin;

/** Top-level resources whose properties reference another resource (as in day2.test.ts). */
function referencingResources(rootTemplate: string): string[] {
  const doc = yaml.load(readFileSync(rootTemplate, 'utf8')) as { resources: Record<string, { properties?: unknown }> };
  return Object.entries(doc.resources)
    .filter(([, r]) => /"get_(resource|attr)"/.test(JSON.stringify(r.properties ?? {})))
    .map(([name]) => name);
}

beforeAll(async () => {
  const program = listPrograms().find((p) => p.kind === 'stacks' && p.name === 'default')!;
  await synthesize(await loadProgram(program), { outdir: out, stateDir });
  // stacks/default with the next minor: what an operator re-synthesizes
  const app = new App();
  const stack = new HeatStack(app, 'default', { description: 'stacks/default, Kubernetes 1.37' });
  new Cluster(stack, 'Cluster', { name: 'k8s', kubernetesVersion: '1.37' });
  await synthesize(app, { outdir: next, stateDir });
  twin = await startTwin();
  const state = await twin.createStack({ outDir: out });
  console.log(`twin-upgrade: create in ${state.seconds.toFixed(1)} s`);
  expect(state.status, state.reason).toBe('CREATE_COMPLETE');
}, 900_000);

afterAll(async () => {
  await twin?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('(f) Kubernetes minor upgrade 1.36 -> 1.37 by stack update (twin)', () => {
  it('masters and workers get the new version in their metadata, in place; no server rebuilt, replaced or out of service; etcd untouched', async () => {
    const args = [
      '-t',
      'default.yaml',
      '-e',
      'default.env.yaml',
      '-e',
      'default.secrets.env.yaml',
      // the rolling pauses (300 s by default) apply to any change of a member definition; the twin's nodes need none
      '--parameter',
      'etcd_update_pause=5',
      '--parameter',
      'master_update_pause=5',
    ];
    const dry = await twin.openstack(['stack', 'update', '--existing', '--dry-run', ...args, 'default', '-f', 'json'], { cwd: next });
    const preview = Object.fromEntries(
      Object.entries(JSON.parse(dry.stdout) as Record<string, string>).map(([k, v]) => [
        k,
        (JSON.parse(v) as { resource_name: string }[]).map((r) => r.resource_name),
      ]),
    );
    console.log(`twin-upgrade: preview ${JSON.stringify(preview)}`);
    expect(preview.deleted, 'preview: nothing deleted').toEqual([]);
    expect(preview.added, 'preview: nothing added').toEqual([]);

    const since = await twin.mark();
    const state = await twin.updateStack('default', args, { cwd: next, timeoutSec: 900 });
    console.log(`twin-upgrade: update ${state.status} in ${state.seconds.toFixed(1)} s`);
    expect(state.status, state.reason).toBe('UPDATE_COMPLETE');
    const window = await twin.actions({ since });
    const s = summarize(await twin.actions(), { since });
    // Heat 19's preview lists every resource whose properties reference another one as changed (even replaced;
    // test/lib/twin.md): what it lists is either one of those or a resource the update touched
    const touched = new Set(window.filter((a) => a.path).map((a) => a.path!.split('/')[1]!));
    const referencing = referencingResources(join(next, 'default.yaml'));
    for (const c of [...preview.updated!, ...preview.replaced!])
      expect(touched.has(c) || referencing.includes(c), `previewed change ${c}`).toBe(true);
    for (const t of touched) expect(preview.updated, `preview of ${t}`).toContain(t);
    const serverActions = window.filter((a) => a.type === 'OS::Nova::Server');
    console.log(
      `twin-upgrade: server actions ${JSON.stringify(serverActions.map((a) => [a.name, a.action, (a as { changed?: unknown }).changed]))}`,
    );
    // hotk8s diff of the same update, computed locally
    const t0 = performance.now();
    const changes = await runDiffCli({ old: out, new: next, updateArgs: args });
    const ours = expectDiffAgrees('(f) upgrade', changes, preview as never, referencing, [...touched], s);
    console.log(
      `twin-upgrade: diff (${(performance.now() - t0).toFixed(0)} ms) ${JSON.stringify(ours)}; ${JSON.stringify(changes.map((c) => [c.path, c.kind]))}`,
    );
    expect([s.created, s.rebuilt, s.resized, s.replaced, s.deleted]).toEqual([[], [], [], [], []]);
    expect(s.maxOutOfService).toMatchObject({ etcd: 0, master: 0, worker: 0 });
    // exactly the three masters and three workers, each one metadata update and nothing else
    const updated = serverActions.filter((a) => a.action === 'update');
    expect(updated.map((a) => a.name).sort()).toEqual([
      'k8s-default-0',
      'k8s-default-1',
      'k8s-default-2',
      'k8s-master-0',
      'k8s-master-1',
      'k8s-master-2',
    ]);
    expect(serverActions.filter((a) => a.action !== 'update' && a.action !== 'signal')).toEqual([]);
    for (const a of updated) expect((a as { changed?: unknown }).changed, a.name).toEqual({ metadata: [UPGRADE_METADATA_KEY] });
    expect(serverActions.some((a) => a.name?.startsWith('k8s-etcd'))).toBe(false);
    // masters one at a time (their rolling policy), highest first, as for any change of their definition
    expect(updated.filter((a) => a.name?.startsWith('k8s-master')).map((a) => a.name)).toEqual([
      'k8s-master-2',
      'k8s-master-1',
      'k8s-master-0',
    ]);
    // what Nova now serves the agents
    for (const name of ['k8s-master-0', 'k8s-default-2']) {
      const show = await twin.openstack(['server', 'show', name, '-f', 'json', '-c', 'properties']);
      expect(JSON.stringify(JSON.parse(show.stdout)), name).toContain(`"${UPGRADE_METADATA_KEY}":"1.37.1"`);
    }
  }, 900_000);
});
