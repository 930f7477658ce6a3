/**
 * Internals of template rendering that are not public API: which compiled form of the templates renders
 * (precompiled, or the `.hbs` sources compiled at run time for the equivalence test), the compile options
 * both share, and the cache key of a rendering context.
 */

/**
 * Where compiled templates come from. `precompiled` (always, in the library): `templates.generated.ts`, made by
 * `scripts/gen-bootstrap-templates.mjs`, run by `handlebars/runtime` alone. `sources`: the `.hbs` files compiled
 * at run time by the full Handlebars compiler with the same options; tests render every role both ways and
 * compare, so the `.hbs` files stay the source of truth.
 */
export type TemplateSource = 'precompiled' | 'sources';

/** The compile options of every bootstrap template (the generator's `PRECOMPILE_OPTIONS` must equal them). */
export const TEMPLATE_COMPILE_OPTIONS: Readonly<{ strict: true; noEscape: true }> = Object.freeze({ strict: true, noEscape: true });

let current: TemplateSource = 'precompiled';

export function templateSource(): TemplateSource {
  return current;
}

/** Runs `fn` (synchronous) with templates from `source`, then restores the previous source. */
export function withTemplateSource<T>(source: TemplateSource, fn: () => T): T {
  if (source !== 'precompiled' && source !== 'sources') {
    throw new Error(`template source must be "precompiled" or "sources"; got ${JSON.stringify(source)}`);
  }
  const before = current;
  current = source;
  try {
    return fn();
  } finally {
    current = before;
  }
}

/**
 * A bounded cache of strings (or objects with a `text`), cleared when full: a bound for long-lived processes
 * (watchers, test runners). A synth of one cluster keeps a few dozen entries, far below either limit.
 */
export class BoundedMemo<V> {
  private readonly map = new Map<string, V>();
  private chars = 0;
  constructor(
    /** At most this many entries. */
    readonly maxEntries = 256,
    /** At most this many characters of keys and texts together (~16 MiB of one-byte strings by default). */
    readonly maxChars = 16 * 1024 * 1024,
  ) {}
  get size(): number {
    return this.map.size;
  }
  get(key: string): V | undefined {
    return this.map.get(key);
  }
  has(key: string): boolean {
    return this.map.has(key);
  }
  set(key: string, value: V): void {
    const size = key.length + textLength(value);
    if (size > this.maxChars) return;
    if (this.map.size >= this.maxEntries || this.chars + size > this.maxChars) {
      this.map.clear();
      this.chars = 0;
    }
    this.map.set(key, value);
    this.chars += size;
  }
}

function textLength(value: unknown): number {
  if (typeof value === 'string') return value.length;
  const text = (value as { text?: unknown } | null)?.text;
  return typeof text === 'string' ? text.length : 0;
}

const memos: Record<TemplateSource, BoundedMemo<unknown>> = { precompiled: new BoundedMemo(), sources: new BoundedMemo() };

/**
 * `make()`, computed once per process for each `scope` and context value ({@link contextKey}) and template source;
 * a context that is not plain data is never cached. `make` must be a pure function of the context (templates and
 * helpers are). Errors are not cached. Cached objects are shared: return frozen ones.
 */
export function memoized<T>(scope: string, context: object, make: () => T): T {
  const key = contextKey(context);
  if (key === undefined) return make();
  const memo = memos[current];
  const full = `${scope}\0${key}`;
  if (memo.has(full)) return memo.get(full) as T;
  const value = make();
  memo.set(full, value);
  return value;
}

const MAX_KEY_DEPTH = 32;

/**
 * A string that identifies a rendering context by value, or `undefined` when the context is not plain data
 * and so must not be memoized. Plain data is: strings, finite or non-finite numbers (`-0`, `NaN` kept
 * distinct), booleans, `null`, `undefined`, arrays, and objects whose prototype is `Object.prototype` or
 * `null`, with string keys only, all enumerable, no accessors, nested at most 32 deep. Key order is part of the identity
 * (`{{#each}}` over an object follows it), and a present-but-undefined field differs from a missing one
 * (strict mode fails on the latter only). Functions, class instances (Date, Map, ...), symbols, bigints,
 * getters and cycles give `undefined`.
 */
export function contextKey(value: unknown): string | undefined {
  const parts: string[] = [];
  return write(value, 0, parts) ? parts.join('') : undefined;
}

function write(value: unknown, depth: number, out: string[]): boolean {
  switch (typeof value) {
    case 'string':
      out.push(JSON.stringify(value));
      return true;
    case 'number':
      out.push(Object.is(value, -0) ? 'n-0' : `n${String(value)}`);
      return true;
    case 'boolean':
      out.push(value ? 't' : 'f');
      return true;
    case 'undefined':
      out.push('u');
      return true;
    case 'object': {
      if (value === null) {
        out.push('z');
        return true;
      }
      if (depth >= MAX_KEY_DEPTH) return false;
      if (Array.isArray(value)) {
        if (Object.getPrototypeOf(value) !== Array.prototype) return false;
        out.push('[');
        for (let i = 0; i < value.length; i++) {
          if (!(i in value)) return false; // holes render differently from undefined under #each
          if (i > 0) out.push(',');
          if (!write(value[i], depth + 1, out)) return false;
        }
        out.push(']');
        return true;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return false;
      if (Object.getOwnPropertySymbols(value).length > 0) return false;
      const descriptors = Object.getOwnPropertyDescriptors(value);
      out.push('{');
      let first = true;
      for (const k of Object.keys(descriptors)) {
        const d = descriptors[k] as PropertyDescriptor;
        // a hidden field is still visible to strict lookups; an accessor may answer differently each time
        if (!d.enumerable || !('value' in d)) return false;
        if (!first) out.push(',');
        first = false;
        out.push(JSON.stringify(k), ':');
        if (!write(d.value, depth + 1, out)) return false;
      }
      out.push('}');
      return true;
    }
    default:
      return false;
  }
}
