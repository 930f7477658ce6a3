/**
 * Random `autoscaling` / `autoHealing` props: valid ones give a stack whose output lists every worker group with its
 * count parameter's range (what the autoscaler may scale between), and whose masters carry the add-on files; junk
 * (wrong types, nulls, out-of-range numbers) gives our HotError, never a TypeError.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { App, Cluster, HeatStack, HotError, type ClusterProps } from '../../src/index.js';

const groupName = fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/);
const groups = fc.uniqueArray(
  fc.record({
    name: groupName,
    min: fc.integer({ min: 0, max: 3 }),
    extra: fc.integer({ min: 0, max: 5 }),
    above: fc.integer({ min: 1, max: 6 }),
  }),
  { minLength: 1, maxLength: 4, selector: (g) => g.name },
);
const options = fc.record(
  {
    scaleDownUnneededSec: fc.integer({ min: 60, max: 7200 }),
    scaleDownDelayAfterAddSec: fc.integer({ min: 0, max: 7200 }),
    expander: fc.constantFrom('least-waste' as const, 'random' as const, 'most-pods' as const),
    scaleDown: fc.boolean(),
    arch: fc.constantFrom('amd64' as const, 'arm64' as const),
    // a placeholder-shaped region (a__A__) is refused (test/unit/k8s-autoscaling.test.ts)
    region: fc.stringMatching(/^[A-Za-z][A-Za-z0-9_.-]{0,10}$/).filter((r) => !/__[A-Z](?:[A-Z0-9_]*?[A-Z0-9])?__/.test(r)),
  },
  { requiredKeys: [] },
);
const healing = fc.record(
  {
    notReadySec: fc.integer({ min: 60, max: 3600 }),
    maxUnhealthy: fc.oneof(
      fc.integer({ min: 0, max: 10 }),
      fc.integer({ min: 0, max: 100 }).map((n) => `${n}%`),
    ),
    intervalSec: fc.integer({ min: 10, max: 600 }),
  },
  { requiredKeys: [] },
);

function build(props: ClusterProps, gs: { name: string; min: number; extra: number; above: number }[]): HeatStack {
  const stack = new HeatStack(new App(), 'prop');
  new Cluster(stack, 'Cluster', {
    name: 'prop',
    image: 'img',
    externalNetwork: 'public',
    keyName: 'k',
    workerGroups: gs.map((g) => ({ name: g.name, minSize: g.min, size: g.min + g.extra, maxSize: g.min + g.extra + g.above })),
    ...props,
  });
  return stack;
}

describe('random autoscaling and healing props', () => {
  it('valid ones list every group with its parameter range in the output the agent reads', () => {
    fc.assert(
      fc.property(
        groups,
        fc.option(options, { nil: undefined }),
        fc.option(healing, { nil: undefined }),
        fc.subarray([0, 1, 2, 3]),
        (gs, as, heal, skip) => {
          fc.pre(as !== undefined || heal !== undefined);
          const excluded = skip.filter((i) => i < gs.length).map((i) => gs[i]!.name);
          const stack = build(
            {
              autoscaling: as && { ...as, authUrl: 'https://keystone.example.org/v3', excludeGroups: excluded },
              autoHealing: heal && { ...heal, region: as?.region, authUrl: as ? undefined : 'https://keystone.example.org/v3' },
            },
            gs,
          );
          const t = stack.toTemplate() as { outputs: Record<string, { value: any }>; parameters: Record<string, any> };
          const view = t.outputs.hotk8s_autoscaling!.value;
          expect(Object.keys(view.groups).sort()).toEqual(gs.map((g) => g.name).sort());
          for (const g of gs) {
            const v = view.groups[g.name];
            expect(t.parameters[v.count].constraints[0].range).toEqual({ min: v.min, max: v.max });
            expect(v.autoscale).toBe(as !== undefined && !excluded.includes(g.name));
            expect(v.heal).toBe(heal !== undefined);
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('junk gives our error, never a TypeError', () => {
    const junk = fc.oneof(
      fc.constant(null),
      fc.integer(),
      fc.string(),
      fc.boolean(),
      fc.array(fc.integer(), { maxLength: 2 }),
      fc.record({ notReadySec: fc.oneof(fc.string(), fc.constant(-1), fc.constant(null)) }),
      fc.record({ maxUnhealthy: fc.oneof(fc.constant('101%'), fc.constant(-2), fc.constant(1.5), fc.constant({})) }),
      fc.record({ expander: fc.string() }),
      fc.record({ excludeGroups: fc.oneof(fc.string(), fc.array(fc.integer(), { minLength: 1 })) }),
      fc.record({ region: fc.oneof(fc.integer(), fc.constant('a b')) }),
      fc.record({ authUrl: fc.oneof(fc.integer(), fc.constant('ftp://x')) }),
      fc.record({ scaleDown: fc.constantFrom('no', 0) }),
    );
    fc.assert(
      fc.property(groups, junk, fc.boolean(), (gs, j, which) => {
        try {
          build(which ? { autoscaling: j as never } : { autoHealing: j as never }, gs);
        } catch (e) {
          expect(e).toBeInstanceOf(HotError);
          return;
        }
        // some junk is harmless ({} is the defaults, an empty string array of exclusions...): then the stack holds the output
      }),
      { numRuns: 200 },
    );
  });
});
