/**
 * The agent's view of its stack when a read of the stack overlaps the agent's own update. On the Heat twin under CI
 * load a healing round's read began before the agent's PATCH and ended after it (the output read takes seconds while
 * heat-engine is busy): it replaced the snapshot the PATCH wrote with the count from before it, and the autoscaler was
 * told a target one lower than it had asked for (CI run of stop 24, autoscaling-cases "two concurrent requests").
 */
import { describe, expect, it } from 'vitest';
import { Stack } from '../../src/autoscaling/agent/stack.js';
import type { OpenStack, Reply } from '../../src/autoscaling/agent/openstack.js';

const COUNT = 'workers_general_count';
const REMOVE = 'workers_general_remove';

/** A Heat that holds parameters and answers a PATCH or an output read only when the test lets it (gates). */
function fakeHeat() {
  const params: Record<string, string> = { [COUNT]: '3', [REMOVE]: '' };
  let status = 'CREATE_COMPLETE';
  const gates = { patch: false, output: false };
  const held: { patch: (() => void)[]; output: (() => void)[] } = { patch: [], output: [] };
  const patches: Record<string, string>[] = [];
  const wait = (g: 'patch' | 'output') => (gates[g] ? new Promise<void>((r) => held[g].push(r)) : Promise.resolve());
  const cloud = {
    async call(_service: string, method: string, path: string, body?: unknown): Promise<Reply> {
      if (method === 'PATCH') {
        const p = (body as { parameters: Record<string, string> }).parameters;
        patches.push(p);
        await wait('patch');
        Object.assign(params, p);
        status = 'UPDATE_IN_PROGRESS';
        return { status: 202, body: {} };
      }
      if (path.includes('/outputs/')) {
        await wait('output');
        const servers = Object.fromEntries(Array.from({ length: Number(params[COUNT]) }, (_, i) => [String(i), `id-${i}`]));
        const general = { min: 1, max: 10, count: COUNT, remove: REMOVE, flavor: 'workers_general_flavor' };
        const view = {
          groups: { general: { ...general, prefix: 'prod-general-', labels: {}, taints: [], autoscale: true, heal: false, servers } },
        };
        return { status: 200, body: { output: { output_value: view } } };
      }
      return { status: 200, body: { stack: { stack_status: status, parameters: { ...params } } } };
    },
  } as unknown as OpenStack;
  return {
    cloud,
    patches,
    gate: (g: 'patch' | 'output', on: boolean) => (gates[g] = on),
    release: (g: 'patch' | 'output') => held[g].splice(0).forEach((r) => r()),
    held: (g: 'patch' | 'output') => held[g].length,
    complete: () => (status = 'UPDATE_COMPLETE'),
  };
}

const tick = () => new Promise((r) => setTimeout(r, 2));
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !check(); i++) await tick();
  expect(check()).toBe(true);
}

describe('autoscaling agent: the stack snapshot', () => {
  it('a read that began before our own update was accepted does not bring back the count from before it', async () => {
    const heat = fakeHeat();
    const stack = new Stack(heat.cloud, 'prod/1', () => {}, 10);
    expect(stack.target('general', await stack.read(0))).toBe(3);
    // the autoscaler's scale-up: computed from a fresh read, its PATCH on its way to Heat
    heat.gate('patch', true);
    const accepted = stack.change('general', 1, [], 'scale up general by 1', 10_000);
    await until(() => heat.held('patch') === 1);
    // meanwhile a healing round reads the stack: Heat still holds count 3, and the output read is slow
    heat.gate('output', true);
    const round = stack.read(0);
    await until(() => heat.held('output') === 1);
    // Heat accepts the update, and only then answers the round's read
    heat.gate('patch', false);
    heat.release('patch');
    expect(await accepted).toBe('accepted');
    expect(heat.patches).toEqual([{ [COUNT]: '4' }]);
    heat.gate('output', false);
    heat.release('output');
    const seen = await round;
    // what the round and the autoscaler see: the count asked for, not the one from before the PATCH
    expect(seen.params[COUNT]).toBe('4');
    expect(stack.target('general', await stack.read())).toBe(4);
    heat.complete();
  });

  it('without an update of ours in between, a read is used as it came', async () => {
    const heat = fakeHeat();
    const stack = new Stack(heat.cloud, 'prod/1', () => {}, 10);
    heat.gate('output', true);
    const r = stack.read(0);
    await until(() => heat.held('output') === 1);
    heat.release('output');
    heat.gate('output', false);
    expect((await r).params[COUNT]).toBe('3');
    expect(heat.patches).toEqual([]);
  });
});
