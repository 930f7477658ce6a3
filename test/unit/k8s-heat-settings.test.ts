/**
 * The Heat settings a large cluster needs above Heat's defaults, stated at synth (a warning on the Cluster with the
 * heat.conf lines), a 1,000-worker compact cluster through the whole synth (our checks included), and that scaling
 * one worker group touches no other resource of the root template.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HotValidationError, synthesize, type ClusterProps } from '../../src/index.js';
import { collectAnnotations } from '../../src/core/annotations.js';
import { cluster, resourcesAtMax as total } from './k8s-helpers.js';

type Doc = Record<string, any>;

const big = (workers: number, extra: ClusterProps = {}): ClusterProps => ({
  workerGroups: [{ name: 'default', size: workers, maxSize: workers + 1, layout: 'compact' }],
  nodeCidr: '10.0.0.0/20',
  flannel: { podCidr: '10.128.0.0/12' },
  ...extra,
});

/** The warnings the Cluster carries after its stack was rendered (validation adds the Heat settings one). */
function heatWarnings(props: ClusterProps): string[] {
  const c = cluster(props);
  c.stack.toTemplate();
  c.stack.toTemplate(); // validated twice: still one warning
  return collectAnnotations(c.app)
    .filter((a) => a.level === 'warning' && /heat\.conf/.test(a.message))
    .map((a) => {
      expect(a.path).toBe('test/Cluster');
      return a.message;
    });
}

describe('Heat settings above the defaults, stated at synth', () => {
  it('none for the default cluster nor for 100 compact workers', () => {
    expect(heatWarnings({})).toEqual([]);
    expect(heatWarnings({ workerGroups: [{ name: 'default', size: 100, layout: 'compact' }], nodeCidr: '10.0.0.0/22' })).toEqual([]);
  });

  it('max_resources_per_stack: the exact count of the tree, even when maxResourcesPerStack already allows it', () => {
    const props = big(300, { maxResourcesPerStack: 2000 });
    const n = total(cluster(props).stack);
    expect(n).toBeGreaterThan(1000);
    const [w, ...rest] = heatWarnings(props);
    expect(rest).toEqual([]);
    expect(w).toMatch(
      new RegExp(`max_resources_per_stack = ${n} or more \\(default 1000; at every group's maximum the stack tree holds ${n} resources`),
    );
    expect(w!.endsWith(`\n[DEFAULT]\nmax_resources_per_stack = ${n}\nrpc_response_timeout = 420\nexecutor_thread_pool_size = 600`)).toBe(
      true,
    );
  });

  it('rpc_response_timeout: from 121 members of the largest group on, 1.2 s per member in whole minutes', () => {
    const rpc = (maxSize: number) =>
      heatWarnings({
        workerGroups: [{ name: 'default', size: 3, maxSize, layout: 'compact' }],
        nodeCidr: '10.0.0.0/22',
        maxResourcesPerStack: 2000,
      })
        .join('\n')
        .match(/^rpc_response_timeout = \d+$/m)?.[0];
    expect(rpc(120)).toBeUndefined();
    expect(rpc(121)).toBe('rpc_response_timeout = 180');
    expect(rpc(150)).toBe('rpc_response_timeout = 180');
    expect(rpc(151)).toBe('rpc_response_timeout = 240');
    expect(rpc(250)).toBe('rpc_response_timeout = 300');
    expect(rpc(251)).toBe('rpc_response_timeout = 360');
  });

  it('executor_thread_pool_size: for the same groups, members + 200 rounded up to a hundred', () => {
    const threads = (maxSize: number) =>
      heatWarnings({
        workerGroups: [{ name: 'default', size: 3, maxSize, layout: 'compact' }],
        nodeCidr: '10.0.0.0/22',
        maxResourcesPerStack: 2000,
      })
        .join('\n')
        .match(/^executor_thread_pool_size = \d+$/m)?.[0];
    expect(threads(120)).toBeUndefined();
    expect(threads(121)).toBe('executor_thread_pool_size = 400');
    expect(threads(240)).toBe('executor_thread_pool_size = 500');
  });

  it('1,000 compact workers: all three settings, the heat.conf lines last', () => {
    const props = big(1000, { maxResourcesPerStack: 6000 });
    const n = total(cluster(props).stack);
    // root and control plane, then 5 per worker at 1,001 (the member resource, port, server, handle, wait condition)
    expect(n - total(cluster(big(999, { maxResourcesPerStack: 6000 })).stack)).toBe(5);
    const [w] = heatWarnings(props);
    expect(w).toContain('rpc_response_timeout = 1260 or more (default 60; the largest group holds up to 1001 members');
    expect(w).toContain('MessagingTimeout: No reply on topic engine');
    expect(w).toContain('executor_thread_pool_size = 1300 or more (default 64; each of the up to 1001 members');
    expect(w!.split('\n').slice(1)).toEqual([
      '[DEFAULT]',
      `max_resources_per_stack = ${n}`,
      'rpc_response_timeout = 1260',
      'executor_thread_pool_size = 1300',
    ]);
  });
});

describe('1,000 compact workers through the whole synth', () => {
  const work = mkdtempSync(join(tmpdir(), 'hotk8s-unit-1000-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it("synthesizes with maxResourcesPerStack at the tree's count (our checks on), and fails one below, naming path and values", async () => {
    const n = total(cluster(big(1000, { maxResourcesPerStack: 6000 })).stack);
    const { app } = cluster(big(1000, { maxResourcesPerStack: n }));
    const result = await synthesize(app, { outdir: join(work, 'out'), stateDir: join(work, 'state') });
    const s = result.manifest.stacks[0]!;
    // the request does not grow with the workers: one member template for the whole group
    expect(result.requestBytes.get(s.name)).toBeLessThan(1024 * 1024);
    expect(result.annotations.filter((a) => a.level === 'warning').map((a) => a.message)).toEqual([
      expect.stringContaining(`max_resources_per_stack = ${n}\nrpc_response_timeout = 1260\nexecutor_thread_pool_size = 1300`),
    ]);
    let err: unknown;
    try {
      cluster(big(1000, { maxResourcesPerStack: n - 1 })).stack.toTemplate();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HotValidationError);
    expect((err as HotValidationError).errors.map((e) => e.message)).toEqual([
      `test/Cluster: at every group's maximum the stack holds ${n} resources (nested ones included), above max_resources_per_stack ${n - 1}: lower maxSize or set maxResourcesPerStack to the cloud's limit`,
    ]);
  });
});

describe('scaling one worker group touches no other group', () => {
  /** Root resources whose definition reaches `param` through get_param, or through another such resource. */
  function touchedBy(doc: Doc, param: string): string[] {
    const resources = doc.resources as Record<string, Doc>;
    const refs = (v: unknown, out: { params: Set<string>; res: Set<string> }) => {
      if (Array.isArray(v)) for (const x of v) refs(x, out);
      else if (v && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) {
          if (k === 'get_param') out.params.add(Array.isArray(x) ? String(x[0]) : String(x));
          else if (k === 'get_resource') out.res.add(String(x));
          else if (k === 'get_attr') out.res.add(String((x as unknown[])[0]));
          refs(x, out);
        }
      }
    };
    const deps = new Map<string, { params: Set<string>; res: Set<string> }>();
    for (const [id, r] of Object.entries(resources)) {
      const out = { params: new Set<string>(), res: new Set<string>() };
      refs(r.properties ?? {}, out);
      refs(r.metadata ?? {}, out);
      deps.set(id, out);
    }
    const touched = new Set<string>();
    for (let grew = true; grew;) {
      grew = false;
      for (const [id, d] of deps) {
        if (touched.has(id)) continue;
        if (d.params.has(param) || [...d.res].some((x) => touched.has(x))) {
          touched.add(id);
          grew = true;
        }
      }
    }
    return [...touched].sort();
  }

  for (const layout of ['split', 'compact'] as const) {
    it(`${layout}: workers_a_count and workers_a_remove reach only group a's own groups`, () => {
      const { stack } = cluster({
        workerGroups: [
          { name: 'a', size: 3, layout },
          { name: 'b', size: 2, layout },
        ],
      });
      const doc = stack.toTemplate() as Doc;
      expect(Object.keys(doc.parameters)).toEqual(expect.arrayContaining(['workers_a_count', 'workers_a_remove', 'workers_b_count']));
      for (const p of ['workers_a_count', 'workers_a_remove']) {
        const touched = touchedBy(doc, p);
        expect(touched.length, p).toBeGreaterThan(0);
        for (const id of touched) {
          expect(doc.resources[id].type, `${p} reaches ${id}`).toBe('OS::Heat::ResourceGroup');
          expect(id, `${p} reaches ${id}`).toMatch(/WorkersaWorkers/);
        }
      }
      // and group b's groups are reached by b's parameters only
      expect(touchedBy(doc, 'workers_b_count').every((id) => /WorkersbWorkers/.test(id))).toBe(true);
    });
  }
});
