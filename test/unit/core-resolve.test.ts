// resolveValue's rules, one by one: its checks were reordered for speed (strings first), and every kind of value
// must still come out, or be refused, as before.
import { describe, expect, it } from 'vitest';
import { App, Fn, HeatResource, HeatStack, Lazy } from '../../src/index.js';
import { resolveValue } from '../../src/core/resolve.js';
import type { ResolveContext } from '../../src/core/tokens.js';

function context(sortKeys?: boolean): { ctx: ResolveContext; net: HeatResource } {
  const stack = new HeatStack(new App(), 'demo');
  const net = new HeatResource(stack, 'Net', { type: 'OS::Neutron::Net' });
  return { ctx: { stack, path: 'demo/Thing', inCondition: false, sortKeys }, net };
}

describe('resolveValue', () => {
  it('keeps strings, finite numbers, booleans and null; undefined stays undefined', () => {
    const { ctx } = context();
    expect(resolveValue('plain', ctx)).toBe('plain');
    expect(resolveValue('', ctx)).toBe('');
    expect(resolveValue(0, ctx)).toBe(0);
    expect(resolveValue(-2.5, ctx)).toBe(-2.5);
    expect(resolveValue(false, ctx)).toBe(false);
    expect(resolveValue(null, ctx)).toBeNull();
    expect(resolveValue(undefined, ctx)).toBeUndefined();
  });

  it('drops undefined members of lists and mappings, keeps null ones, and copies what it returns', () => {
    const { ctx } = context();
    const list = ['a', undefined, null, 2];
    const map = { b: undefined, a: null, c: [undefined] };
    const holes: unknown[] = [];
    holes[2] = 'x';
    expect(resolveValue(list, ctx)).toEqual(['a', null, 2]);
    expect(resolveValue(map, ctx)).toStrictEqual({ a: null, c: [] });
    expect(resolveValue(holes, ctx)).toEqual(['x']);
    expect(resolveValue(list, ctx)).not.toBe(list);
    expect(resolveValue(Object.create(null) as object, ctx)).toStrictEqual({});
  });

  it('keeps key order, or sorts keys at every depth with sortKeys', () => {
    const value = { b: 1, a: { d: 1, c: [{ f: 1, e: 2 }] } };
    expect(JSON.stringify(resolveValue(value, context().ctx))).toBe('{"b":1,"a":{"d":1,"c":[{"f":1,"e":2}]}}');
    expect(JSON.stringify(resolveValue(value, context(true).ctx))).toBe('{"a":{"c":[{"e":2,"f":1}],"d":1},"b":1}');
  });

  it('resolves resolvables at any depth, and what they resolve to in turn', () => {
    const { ctx, net } = context(true);
    const lazy = Lazy.value(() => ({ z: net.ref(), y: Lazy.value(() => undefined) }));
    expect(resolveValue({ list: [net.ref(), lazy], join: Fn.join('-', ['a', 'b']) }, ctx)).toStrictEqual({
      join: { list_join: ['-', ['a', 'b']] },
      list: [{ get_resource: 'Net' }, { z: { get_resource: 'Net' } }],
    });
  });

  it('refuses a token turned into a string, a non-finite number, a class instance and other types, naming the path', () => {
    const { ctx, net } = context();
    expect(() => resolveValue({ name: `x-${net.ref()}` }, ctx)).toThrow(
      /^demo\/Thing: a Heat function was turned into a plain string \(x-\$\{Token\[/,
    );
    expect(() => resolveValue([Number.NaN], ctx)).toThrow('demo/Thing: numbers in a template must be finite; got NaN');
    expect(() => resolveValue({ n: Infinity }, ctx)).toThrow('demo/Thing: numbers in a template must be finite; got Infinity');
    expect(() => resolveValue({ d: new Date(0) }, ctx)).toThrow('demo/Thing: cannot put a Date into a template; pass its reference');
    expect(() => resolveValue(new Map(), ctx)).toThrow('demo/Thing: cannot put a Map into a template');
    expect(() => resolveValue(() => 1, ctx)).toThrow('demo/Thing: cannot put a value of type function into a template');
    expect(() => resolveValue(10n, ctx)).toThrow('demo/Thing: cannot put a value of type bigint into a template');
    expect(() => resolveValue(Symbol('s'), ctx)).toThrow('demo/Thing: cannot put a value of type symbol into a template');
  });
});
