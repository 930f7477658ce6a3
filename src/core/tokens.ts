import type { HotVersion } from './versions.js';

const RESOLVABLE = Symbol.for('hotk8s.IResolvable');

/** Context given to every resolvable value during the resolve phase. */
export interface ResolveContext {
  /** The template (stack) being rendered. Typed loosely here to avoid an import cycle. */
  readonly stack: { readonly node: { readonly path: string }; readonly templateVersion: HotVersion };
  /** Construct path of the element whose value is being resolved (for error messages). */
  readonly path: string;
  /** True while resolving inside the `conditions` section or a `condition` expression. */
  readonly inCondition: boolean;
  /** Produce objects with their keys sorted (the order templates are written in). @default false */
  readonly sortKeys?: boolean;
}

/** A value that is only known at synthesis (an intrinsic function, a lazy value, a reference). */
export interface IResolvable {
  resolve(ctx: ResolveContext): unknown;
  toString(): string;
}

/** A value, or a resolvable that yields one at synthesis or deploy time. */
export type Input<T> = T | IResolvable;

export function isResolvable(x: unknown): x is IResolvable {
  return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[RESOLVABLE] === true;
}

/** Base class that brands resolvables so that `isResolvable` works across copies of the library. */
export abstract class Resolvable implements IResolvable {
  abstract resolve(ctx: ResolveContext): unknown;
  abstract toString(): string;
}
// the brand on the prototype: one property for every resolvable, instead of a defineProperty per instance (a cluster of
// 100 worker groups makes about 6,000 at construction)
Object.defineProperty(Resolvable.prototype, RESOLVABLE, { value: true });

/** A value computed at synthesis, after all constructs exist. */
export class Lazy<T = unknown> extends Resolvable {
  static value<T>(producer: (ctx: ResolveContext) => T): Lazy<T> {
    return new Lazy(producer);
  }
  private constructor(private readonly producer: (ctx: ResolveContext) => T) {
    super();
  }
  resolve(ctx: ResolveContext): unknown {
    return this.producer(ctx);
  }
  toString(): string {
    return '${Lazy}';
  }
}
