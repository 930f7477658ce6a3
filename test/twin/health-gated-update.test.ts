/**
 * Issue 12 item 2 on the twin: `hotk8s update` rolls the etcd members and the masters of stacks/default one at a
 * time, each next one only after the one before printed its health marker on its console (Nova's console log, the
 * twin's os-getConsoleOutput). The rolling pauses are 0 here, so only the gate keeps the members apart (Heat finishes a
 * member when Nova reports its server back; the wait condition keeps its old signal); the fake nodes print their
 * marker 4 s after their server is back. A withheld marker stops the command, naming the member, with Heat paused on
 * it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthesize } from '../../src/index.js';
import { main } from '../../src/cli/main.js';
import { listPrograms, loadProgram } from '../lib/programs.js';
import { startTwin, summarize, type Twin, type TwinAction } from '../lib/twin.js';

const work = mkdtempSync(join(tmpdir(), 'hotk8s-twin-gated-'));
const out = join(work, 'out');
let twin: Twin;
const savedEnv = { ...process.env };

async function hotk8s(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const o: string[] = [];
  const e: string[] = [];
  const t0 = performance.now();
  const code = await main(argv, { out: (t) => o.push(t), err: (t) => e.push(t) });
  console.log(`twin-gated: hotk8s ${argv.join(' ')}: exit ${code} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return { code, out: o.join('\n'), err: e.join('\n') };
}

interface Gate {
  server: string;
  waitedSec: number;
}

/** Per member, in the order Heat rolled them: its server action and the health marker it printed after it. */
function rolled(window: TwinAction[], role: string, action: string) {
  const acts = window.filter((a) => a.role === role && a.action === action).sort((a, b) => a.start - b.start);
  return acts.map((a) => ({
    name: a.name!,
    start: a.start,
    end: a.end,
    marker: window.find((m) => m.action === 'console-marker' && m.physicalId === a.physicalId && m.end >= a.end),
  }));
}

beforeAll(async () => {
  const program = listPrograms().find((p) => p.kind === 'stacks' && p.name === 'default')!;
  await synthesize(await loadProgram(program), { outdir: out, stateDir: join(work, 'state') });
  twin = await startTwin();
  Object.assign(process.env, twin.env); // the openstack client `hotk8s update` runs inherits the twin's OS_* variables
  const state = await twin.createStack({
    outDir: out,
    parameters: { etcd_update_pause: 0, master_update_pause: 0, workers_default_count: 1 },
  });
  console.log(`twin-gated: create in ${state.seconds.toFixed(1)} s`);
  expect(state.status, state.reason).toBe('CREATE_COMPLETE');
}, 900_000);

afterAll(async () => {
  await twin?.stop();
  for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k];
  Object.assign(process.env, savedEnv);
  rmSync(work, { recursive: true, force: true });
});

describe('hotk8s update gates etcd and masters on their health marker (twin)', () => {
  it('a new etcd image: each member rebuilt only after the one before printed its marker, one out at a time', async () => {
    twin.control({ nodes: { 'k8s-etcd-*': { delay: 4 } } });
    const since = await twin.mark();
    const r = await hotk8s(['update', 'default', '-P', 'etcd_image=debian-12-next', '--poll', '1', '--json']);
    expect(r.code, r.out + r.err).toBe(0);
    const result = JSON.parse(r.out) as { status: string; gates: Gate[] };
    expect(result.status).toBe('UPDATE_COMPLETE');
    expect(result.gates.map((g) => g.server)).toEqual(['k8s-etcd-2', 'k8s-etcd-1', 'k8s-etcd-0']);
    const window = await twin.actions({ since });
    const order = rolled(window, 'etcd', 'rebuild');
    expect(order.map((o) => o.name)).toEqual(['k8s-etcd-2', 'k8s-etcd-1', 'k8s-etcd-0']);
    for (let k = 0; k < order.length; k++) {
      expect(order[k]!.marker, `${order[k]!.name} printed its marker`).toBeDefined();
      if (k + 1 < order.length) {
        // the gate: member k+1's rebuild is asked for only after member k's marker
        expect(order[k + 1]!.start, `${order[k + 1]!.name} rebuilt after ${order[k]!.name}'s marker`).toBeGreaterThanOrEqual(
          order[k]!.marker!.end,
        );
      }
    }
    const s = summarize(await twin.actions(), { since });
    expect(s.maxOutOfService.etcd).toBe(1);
    expect(s.rebuilt.length).toBe(3);
    expect((await twin.waitForStack('default')).status).toBe('UPDATE_COMPLETE');
    // the hooks are gone from the stack's environment again
    const env = await twin.openstack(['stack', 'environment', 'show', 'default', '-f', 'json']);
    expect(env.stdout).not.toContain('post-update');
  }, 900_000);

  it('a new master flavor: each master resized only after the one before printed its marker', async () => {
    twin.control({ nodes: { 'k8s-master-*': { delay: 4 } } });
    const since = await twin.mark();
    const r = await hotk8s(['update', 'default', '-P', 'master_flavor=m1.xlarge', '--poll', '1', '--json']);
    expect(r.code, r.out + r.err).toBe(0);
    expect((JSON.parse(r.out) as { gates: Gate[] }).gates.map((g) => g.server)).toEqual(['k8s-master-2', 'k8s-master-1', 'k8s-master-0']);
    const order = rolled(await twin.actions({ since }), 'master', 'resize');
    expect(order.map((o) => o.name)).toEqual(['k8s-master-2', 'k8s-master-1', 'k8s-master-0']);
    for (let k = 0; k + 1 < order.length; k++) {
      expect(order[k]!.marker, `${order[k]!.name} printed its marker`).toBeDefined();
      expect(order[k + 1]!.start).toBeGreaterThanOrEqual(order[k]!.marker!.end);
    }
    expect(summarize(await twin.actions(), { since }).maxOutOfService.master).toBe(1);
  }, 900_000);

  it('a member that never reports healthy: the command stops naming it, and no other member is rebuilt', async () => {
    twin.control({ nodes: { 'k8s-etcd-*': { delay: 1 }, 'k8s-etcd-1': { marker: false, on: ['rebuild'] } } });
    const since = await twin.mark();
    const r = await hotk8s(['update', 'default', '-P', 'etcd_image=debian-12', '--poll', '1', '--timeout', '20']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('etcd member 1 (k8s-etcd-1');
    expect(r.err).toContain('reported no health marker within 20 s');
    const signal = /openstack stack resource signal (\S+) Server/.exec(r.err);
    expect(signal, r.err).not.toBeNull();
    // Heat waits at member 1's hook: nothing after it was rebuilt
    await new Promise((res) => setTimeout(res, 5000));
    const order = rolled(await twin.actions({ since }), 'etcd', 'rebuild').map((o) => o.name);
    expect(order).toEqual(['k8s-etcd-2', 'k8s-etcd-1']);
    const paused = await twin.openstack(['stack', 'show', 'default', '-f', 'value', '-c', 'stack_status']);
    expect(paused.stdout.trim()).toBe('UPDATE_IN_PROGRESS');
    // continue by hand as the message says: member 1's hook cleared, Heat goes on to member 0 (which pauses at its own)
    await twin.openstack(['stack', 'resource', 'signal', signal![1]!, 'Server', '--data', '{"unset_hook": "post-update"}']);
    const deadline = Date.now() + 120_000;
    while (!rolled(await twin.actions({ since }), 'etcd', 'rebuild').some((o) => o.name === 'k8s-etcd-0') && Date.now() < deadline)
      await new Promise((res) => setTimeout(res, 1000));
    expect(rolled(await twin.actions({ since }), 'etcd', 'rebuild').map((o) => o.name)).toEqual(['k8s-etcd-2', 'k8s-etcd-1', 'k8s-etcd-0']);
  }, 900_000);
});
