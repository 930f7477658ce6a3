import { HotError } from './errors.js';
import { isResolvable, type ResolveContext } from './tokens.js';

const TOKEN_MARK = '${Token[';

/**
 * Resolve a value deeply: resolvables become HOT function maps, `undefined` members are dropped,
 * and a token that was turned into a string by accident is reported instead of leaking into the template.
 */
export function resolveValue(value: unknown, ctx: ResolveContext): unknown {
  // the most common values first: strings, then plain objects and arrays; resolvables are objects with the brand
  if (typeof value === 'string') {
    if (value.includes(TOKEN_MARK)) {
      throw new HotError(
        ctx.path,
        `a Heat function was turned into a plain string (${value.slice(0, 60)}); build strings from Heat values with Fn.join or Fn.strReplace`,
      );
    }
    return value;
  }
  if (value === undefined || value === null) return value;
  if (typeof value === 'object') {
    if (isResolvable(value)) return resolveValue(value.resolve(ctx), ctx);
    if (Array.isArray(value)) {
      const out: unknown[] = [];
      for (let i = 0; i < value.length; i++) {
        const r = resolveValue(value[i], ctx);
        if (r !== undefined) out.push(r);
      }
      return out;
    }
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      const name = (value as object).constructor?.name ?? 'object';
      throw new HotError(ctx.path, `cannot put a ${name} into a template; pass its reference (e.g. .ref() or an attribute) instead`);
    }
    const out: Record<string, unknown> = {};
    const keys = Object.keys(value);
    if (ctx.sortKeys) keys.sort();
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      const r = resolveValue((value as Record<string, unknown>)[k], ctx);
      if (r !== undefined) out[k] = r;
    }
    return out;
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new HotError(ctx.path, `numbers in a template must be finite; got ${value}`);
    return value;
  }
  if (typeof value === 'boolean') return value;
  throw new HotError(ctx.path, `cannot put a value of type ${typeof value} into a template`);
}

/** The marker string for a resolvable that is stringified; resolveValue rejects it with a clear error. */
export function tokenString(description: string): string {
  return `${TOKEN_MARK}${description}]}`;
}
