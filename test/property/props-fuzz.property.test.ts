/**
 * The props fuzz (issue 13): at least 10,000 cases of junk, each made from a valid prop set by changing one prop path
 * (a value of another type, null, an unknown key, nested junk), every one refused by our HotError naming the Cluster's
 * construct path and that prop path; and valid prop sets, every one constructed. No other error type may escape.
 * test/heat/props-fuzz.conformance.test.ts sends a sample of the valid sets through Heat's own validation.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { App, Cluster, HeatStack, isHotError, type ClusterProps } from '../../src/index.js';
import { junkProps, validProps } from './props-fuzz.property.js';

const JUNK_RUNS = 10_000;
const VALID_RUNS = 300;

function construct(props: unknown): unknown {
  const app = new App();
  const stack = new HeatStack(app, 'fuzz');
  try {
    new Cluster(stack, 'Cluster', props as ClusterProps);
    return undefined;
  } catch (e) {
    return e;
  }
}

describe('props fuzz', () => {
  it(`refuses ${JUNK_RUNS} junk prop sets with our error, the construct path and the prop path`, () => {
    const kinds = new Map<string, number>();
    fc.assert(
      fc.property(junkProps, (c) => {
        const err = construct(c.props);
        expect(err, `junk accepted at ${c.path} (${c.kind})`).toBeDefined();
        expect(isHotError(err), `not our error at ${c.path}: ${String(err)}`).toBe(true);
        const h = err as { constructPath: string; detail: string };
        expect(h.constructPath).toBe('fuzz/Cluster');
        expect(h.detail.startsWith(`${c.path} `), `${h.detail} should name ${c.path}`).toBe(true);
        expect(h.detail).toMatch(/; got /);
        kinds.set(c.kind, (kinds.get(c.kind) ?? 0) + 1);
      }),
      { numRuns: JUNK_RUNS },
    );
    // every kind of junk was tried, each many times
    for (const k of ['wrong-type', 'null', 'unknown-key']) expect(kinds.get(k) ?? 0, k).toBeGreaterThan(JUNK_RUNS / 10);
  }, 600_000);

  it(`constructs ${VALID_RUNS} valid prop sets`, () => {
    fc.assert(
      fc.property(validProps, (props) => {
        const err = construct(props);
        expect(err, `valid props refused: ${String(err)}\n${JSON.stringify(props)}`).toBeUndefined();
      }),
      { numRuns: VALID_RUNS },
    );
  }, 600_000);

  it('gives our error or a cluster, never another error, for anything as props, worker group or application options', () => {
    let i = 0;
    fc.assert(
      fc.property(fc.anything({ withNullPrototype: true, withBoxedValues: true, maxDepth: 3 }), (junk) => {
        i++;
        const cluster = new Cluster(new HeatStack(new App(), 'any'), 'Cluster', {});
        for (const f of [
          () => construct(junk),
          () => cluster.addWorkerGroup(junk as never),
          () => cluster.addWorkerGroup({ name: `g${i}`, ...(junk as object) } as never),
          () => cluster.exposeNodePort(`a${i}`, junk as never),
          () => cluster.exposeNodePort(`b${i}`, { port: 80, nodePort: 30000 + (i % 2000), ...(junk as object) } as never),
        ]) {
          let err: unknown;
          try {
            err = f();
          } catch (e) {
            err = e;
          }
          if (err instanceof Error || (typeof err === 'object' && err !== null && 'message' in err))
            expect(isHotError(err), `not our error: ${String(err)}`).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  }, 600_000);
});
