import { Construct, type IConstruct } from 'constructs';
import { HotError } from './errors.js';
import type { IHeatReferenceable } from './intrinsics.js';
import type { ResolveContext } from './tokens.js';
import type { HeatStack } from './stack.js';

const ELEMENT = Symbol.for('hotk8s.HeatElement');
const STACK = Symbol.for('hotk8s.HeatStack');

/** The template section an element renders into. */
export type TemplateSection = 'parameters' | 'conditions' | 'resources' | 'outputs';

export function isHeatStack(x: unknown): x is HeatStack {
  return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[STACK] === true;
}

export function brandStack(stack: object): void {
  Object.defineProperty(stack, STACK, { value: true });
}

export function isHeatElement(x: unknown): x is HeatElement {
  return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[ELEMENT] === true;
}

/** The template (stack) a construct belongs to: its nearest HeatStack ancestor (or itself). */
export function findStack(scope: IConstruct): HeatStack | undefined {
  // up the parent chain (`node.scopes` would build the whole path as an array first)
  for (let c: IConstruct | undefined = scope; c !== undefined; c = c.node.scope) {
    if (isHeatStack(c)) return c;
  }
  return undefined;
}

/**
 * Base of everything that renders one entry into a HOT template section: resources, parameters, outputs, conditions.
 * Its logical id comes from its path below its stack.
 */
export abstract class HeatElement extends Construct implements IHeatReferenceable {
  /** The template this element renders into. */
  public readonly stack: HeatStack;
  /** Which section of the template this element renders into. */
  public abstract readonly templateSection: TemplateSection;
  private _logicalIdOverride?: string;
  private _defaultLogicalId?: string;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const stack = findStack(this);
    if (!stack) {
      throw new HotError(
        this.node.path,
        `a Heat element must be created inside a HeatStack; ${scope.node.path || 'the root'} is not in one`,
      );
    }
    this.stack = stack;
  }

  /** The name of this element in its template section. */
  get logicalId(): string {
    // the path below the stack is fixed once the element exists, so the default id is computed once
    return this._logicalIdOverride ?? (this._defaultLogicalId ??= this.stack.defaultLogicalId(this));
  }

  /** Pin the logical id (e.g. to keep a name when a construct moves in the tree). */
  overrideLogicalId(id: string): void {
    if (!/^[A-Za-z0-9_.-][A-Za-z0-9_.:-]*$/.test(id)) {
      throw new HotError(this.node.path, `logical id must be letters, digits, '_', '-', '.' or ':'; got ${JSON.stringify(id)}`);
    }
    this._logicalIdOverride = id;
  }

  logicalIdFor(ctx: ResolveContext, usage: string): string {
    if (ctx.stack !== this.stack) {
      throw new HotError(
        ctx.path,
        `${usage} refers to ${this.node.path}, which is in template ${this.stack.node.path}, not in ${ctx.stack.node.path}; pass values across templates as parameters`,
      );
    }
    return this.logicalId;
  }

  /** Validation specific to this element; return messages (the path is added). */
  validateElement(): string[] {
    return [];
  }

  /** Render this element's entry; called in the render phase. */
  abstract renderEntry(ctx: ResolveContext): unknown;
}
// the brand `isHeatElement` reads, on the prototype (one property, not one per element)
Object.defineProperty(HeatElement.prototype, ELEMENT, { value: true });
