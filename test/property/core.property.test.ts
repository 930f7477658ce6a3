import { Construct } from 'constructs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { App, Fn, HeatOutput, HeatParameter, HeatResource, HeatStack, HotError, makeLogicalId, toYaml } from '../../src/index.js';

const idArb = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,11}$/);

/** A random tree shape: each node is a list of children ids (unique per parent). */
type Tree = { id: string; children: Tree[] };
const forestAt = (depth: number): fc.Arbitrary<Tree[]> =>
  depth === 0
    ? fc.constant([])
    : fc.uniqueArray(fc.record({ id: idArb, children: forestAt(depth - 1) }), { selector: (t) => t.id, maxLength: 3 });
const treeArb: fc.Arbitrary<Tree[]> = forestAt(4);

function build(forest: Tree[]): { stack: HeatStack; resources: HeatResource[] } {
  const app = new App();
  const stack = new HeatStack(app, 'p');
  const resources: HeatResource[] = [];
  const visit = (scope: Construct, trees: Tree[]) => {
    for (const t of trees) {
      if (t.children.length === 0) resources.push(new HeatResource(scope, t.id, { type: 'OS::Heat::RandomString' }));
      else visit(new Construct(scope, t.id), t.children);
    }
  };
  visit(stack, forest);
  return { stack, resources };
}

describe('logical ids (property)', () => {
  it('are unique within a template and stable across rebuilds of the same tree', () => {
    fc.assert(
      fc.property(treeArb, (forest) => {
        const a = build(forest).resources.map((r) => r.logicalId);
        const b = build(forest).resources.map((r) => r.logicalId);
        expect(b).toEqual(a);
        // ids differ whenever paths differ (collisions would be reported, never silently merged)
        expect(new Set(a).size).toBe(a.length);
      }),
      { numRuns: 300 },
    );
  });

  it('are valid Heat names and depend only on the path', () => {
    fc.assert(
      fc.property(fc.array(idArb, { minLength: 1, maxLength: 6 }), (parts) => {
        const id = makeLogicalId(parts);
        expect(id).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(makeLogicalId([...parts])).toBe(id);
        if (parts.length > 1) expect(id).toMatch(/[0-9A-F]{8}$/);
        else expect(id).toBe(parts[0]);
      }),
    );
  });
});

describe('synthesis (property)', () => {
  it('is deterministic: the same program renders byte-identical YAML', () => {
    fc.assert(
      fc.property(treeArb, fc.dictionary(idArb, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }), (forest, props) => {
        const render = () => {
          const { stack, resources } = build(forest);
          for (const r of resources) r.heatProperties = { ...props };
          if (resources.length > 1) resources[0]!.addDependency(resources[resources.length - 1]!);
          return toYaml(stack.toTemplate());
        };
        expect(render()).toBe(render());
      }),
      { numRuns: 150 },
    );
  });
});

describe('intrinsic functions (property)', () => {
  const render = (value: unknown) => {
    const app = new App();
    const stack = new HeatStack(app, 's');
    new HeatParameter(stack, 'p', { type: 'string' });
    new HeatOutput(stack, 'o', { value });
    return (stack.toTemplate().outputs as Record<string, { value: unknown }>).o!.value;
  };

  it('list_join keeps its lists in order and str_replace keeps every param', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 3 }),
        fc.array(fc.array(fc.string(), { maxLength: 3 }), { minLength: 1, maxLength: 3 }),
        (delim, lists) => {
          expect(render(Fn.join(delim, ...lists))).toEqual({ list_join: [delim, ...lists] });
        },
      ),
    );
    fc.assert(
      fc.property(fc.dictionary(idArb, fc.oneof(fc.string(), fc.integer())), fc.string(), (params, template) => {
        const out = render(Fn.strReplace(template, params)) as { str_replace: { params: Record<string, unknown>; template: string } };
        expect(out.str_replace.template).toBe(template);
        expect(out.str_replace.params).toEqual(params);
      }),
    );
  });

  it('functions nest: resolving is compositional', () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { maxLength: 4 }), (items) => {
        const inner = Fn.listConcat(items, [Fn.getParam('p')]);
        expect(render(Fn.join(',', inner))).toEqual({ list_join: [',', { list_concat: [items, [{ get_param: 'p' }]] }] });
      }),
    );
  });
});

describe('invalid input (property)', () => {
  it('gives HotError with a construct path, never a TypeError', () => {
    const anything = fc.anything({ withNullPrototype: false, withBigInt: false, withBoxedValues: false, withMap: false, withSet: false });
    fc.assert(
      fc.property(anything, anything, anything, (type, def, constraints) => {
        const app = new App();
        const stack = new HeatStack(app, 's');
        try {
          new HeatParameter(stack, 'p', { type, default: def, constraints } as never);
          stack.toTemplate();
        } catch (e) {
          if (!(e instanceof HotError)) throw e;
          expect(e.message).toMatch(/^s(\/p)?: /);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('rejects any non-plain object value in a template with HotError', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.date(),
          fc.constant(new Map()),
          fc.constant(Number.NaN),
          fc.constant(() => 1),
        ),
        (bad) => {
          const app = new App();
          const stack = new HeatStack(app, 's');
          new HeatResource(stack, 'R', { type: 'OS::Heat::RandomString', properties: { salt: bad } });
          expect(() => stack.toTemplate()).toThrow(HotError);
        },
      ),
    );
  });
});
