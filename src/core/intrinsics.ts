import { HotError, describeValue } from './errors.js';
import { resolveValue, tokenString } from './resolve.js';
import { Resolvable, isResolvable, type Input, type IResolvable, type ResolveContext } from './tokens.js';
import { CONDITION_FUNCTION_SINCE, FUNCTION_SINCE, versionAtLeast } from './versions.js';

/** Something that has a logical id in a template: a resource, parameter or condition. */
export interface IHeatReferenceable {
  /** Logical id as seen from the template being rendered; throws when referenced from another template. */
  logicalIdFor(ctx: ResolveContext, usage: string): string;
}

/** The options of an intrinsic that has none: one shared object, not a new one per call. */
const NO_OPTIONS: { readonly condition?: boolean } = Object.freeze({});

/** A HOT intrinsic function call, checked against the template version when it is resolved. */
export class Intrinsic extends Resolvable {
  constructor(
    public readonly fnName: string,
    private readonly args: unknown,
    private readonly options: { readonly condition?: boolean } = NO_OPTIONS,
  ) {
    super();
  }

  resolve(ctx: ResolveContext): unknown {
    const version = ctx.stack.templateVersion;
    const table = ctx.inCondition ? CONDITION_FUNCTION_SINCE : FUNCTION_SINCE;
    const since = table[this.fnName];
    if (this.options.condition && !ctx.inCondition) {
      throw new HotError(
        ctx.path,
        `condition function \`${this.fnName}\` can only be used in conditions (HeatCondition or Fn.if); got it in a value`,
      );
    }
    if (since === undefined) {
      const where = ctx.inCondition ? 'in conditions' : 'in values';
      throw new HotError(ctx.path, `function \`${this.fnName}\` is not available ${where} in heat_template_version ${version}`);
    }
    if (!versionAtLeast(version, since)) {
      throw new HotError(
        ctx.path,
        `function \`${this.fnName}\` needs heat_template_version ${since} or newer; the stack declares ${version}`,
      );
    }
    const args = typeof this.args === 'function' ? (this.args as (c: ResolveContext) => unknown)(ctx) : this.args;
    return { [this.fnName]: resolveValue(args, ctx) };
  }

  toString(): string {
    return tokenString(this.fnName);
  }
}

function conditionCtx(ctx: ResolveContext): ResolveContext {
  return ctx.inCondition ? ctx : { ...ctx, inCondition: true };
}

/** A condition reference or inline condition expression. */
export type ConditionInput = IHeatReferenceable | Intrinsic | boolean;

/** Resolve a condition argument: a HeatCondition renders as its name, an expression in condition context. */
export function resolveCondition(cond: ConditionInput, ctx: ResolveContext): unknown {
  if (typeof cond === 'boolean') return cond;
  if (isResolvable(cond)) return resolveValue(cond, conditionCtx(ctx));
  return cond.logicalIdFor(ctx, 'condition');
}

type ParamRef = IHeatReferenceable | string;

function paramName(p: ParamRef, ctx: ResolveContext): string {
  return typeof p === 'string' ? p : p.logicalIdFor(ctx, 'get_param');
}

function isBooleanParameter(x: unknown): boolean {
  return typeof x === 'object' && x !== null && (x as { parameterType?: string }).parameterType === 'boolean';
}

/** Typed HOT intrinsic functions. Each knows the template version that introduced it. */
export class Fn {
  private constructor() {}

  /** `get_param`: a parameter's value, optionally drilling into a json/list value by path. */
  static getParam(param: ParamRef, ...path: Input<string | number>[]): IResolvable {
    return new ParamIntrinsic(param, path);
  }

  /** `get_resource`: the physical id of a resource. */
  static getResource(resource: IHeatReferenceable): IResolvable {
    return new Intrinsic('get_resource', (ctx: ResolveContext) => resource.logicalIdFor(ctx, 'get_resource'));
  }

  /** `get_attr`: an attribute of a resource, optionally with a path into it. */
  static getAttr(resource: IHeatReferenceable, attribute: Input<string>, ...path: Input<string | number>[]): IResolvable {
    if (typeof attribute === 'string' && attribute.length === 0) {
      throw new HotError('', 'get_attr needs a non-empty attribute name');
    }
    return new Intrinsic('get_attr', (ctx: ResolveContext) => [resource.logicalIdFor(ctx, 'get_attr'), attribute, ...path]);
  }

  /** `get_file`: the content of a file the client uploads with the template (relative name or URL). */
  static getFile(name: string): IResolvable {
    if (!name) throw new HotError('', 'get_file needs a file name');
    return new Intrinsic('get_file', name);
  }

  /** `list_join`: join one or more lists with a delimiter. */
  static join(delimiter: string, ...lists: Input<Input<string>[]>[]): IResolvable {
    return new Intrinsic('list_join', [delimiter, ...lists]);
  }

  /**
   * `str_replace` (or the `strict` / `vstrict` variants, which fail when a key is missing from the template
   * or, for vstrict, when a value is empty).
   */
  static strReplace(
    template: Input<string>,
    params: Readonly<Record<string, unknown>>,
    variant: 'lenient' | 'strict' | 'vstrict' = 'lenient',
  ): IResolvable {
    const name = variant === 'lenient' ? 'str_replace' : `str_replace_${variant}`;
    return new Intrinsic(name, { template, params });
  }

  /** `str_split`: split a string, optionally picking one element. */
  static split(delimiter: string, value: Input<string>, index?: number): IResolvable {
    return new Intrinsic('str_split', index === undefined ? [delimiter, value] : [delimiter, value, index]);
  }

  /** `repeat`: render `template` once per combination of the `forEach` lists. */
  static repeat(template: unknown, forEach: Readonly<Record<string, unknown>>, permutations?: boolean): IResolvable {
    return new Intrinsic('repeat', { template, for_each: forEach, permutations });
  }

  /** `digest`: a hash of a value (md5, sha1, sha224, sha256, sha384, sha512). */
  static digest(algorithm: 'md5' | 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512', value: Input<string>): IResolvable {
    return new Intrinsic('digest', [algorithm, value]);
  }

  /** `map_merge`: later maps win. */
  static mapMerge(...maps: unknown[]): IResolvable {
    if (maps.length === 0) throw new HotError('', 'map_merge needs at least one map');
    return new Intrinsic('map_merge', maps);
  }

  /** `map_replace`: rename keys and/or values of a map. */
  static mapReplace(map: unknown, replace: { readonly keys?: unknown; readonly values?: unknown }): IResolvable {
    return new Intrinsic('map_replace', [map, replace]);
  }

  /** `list_concat`: concatenate lists. */
  static listConcat(...lists: unknown[]): IResolvable {
    return new Intrinsic('list_concat', lists);
  }

  /** `list_concat_unique`: concatenate lists, dropping repeated items. */
  static listConcatUnique(...lists: unknown[]): IResolvable {
    return new Intrinsic('list_concat_unique', lists);
  }

  /** `contains`: whether a sequence contains a value (also a condition function). */
  static contains(value: unknown, sequence: unknown): IResolvable {
    return new Intrinsic('contains', [value, sequence]);
  }

  /** `filter`: remove the given values from a list. */
  static filter(values: unknown, sequence: unknown): IResolvable {
    return new Intrinsic('filter', [values, sequence]);
  }

  /** `make_url`: build a URL from its parts. */
  static makeUrl(parts: {
    readonly scheme?: Input<string>;
    readonly username?: Input<string>;
    readonly password?: Input<string>;
    readonly host: Input<string>;
    readonly port?: Input<number | string>;
    readonly path?: Input<string>;
    readonly query?: Readonly<Record<string, unknown>>;
    readonly fragment?: Input<string>;
  }): IResolvable {
    return new Intrinsic('make_url', { ...parts });
  }

  /** `yaql`: evaluate a YAQL expression over data. */
  static yaql(expression: Input<string>, data: unknown): IResolvable {
    return new Intrinsic('yaql', { expression, data });
  }

  /** `if`: pick a value by a condition (a HeatCondition, or a condition expression). */
  static if(condition: ConditionInput, whenTrue: unknown, whenFalse: unknown): IResolvable {
    return new Intrinsic('if', (ctx: ResolveContext) => [resolveCondition(condition, ctx), whenTrue, whenFalse]);
  }

  /** `resource_facade`: a value of the facade resource in a provider template (metadata, deletion_policy, update_policy). */
  static resourceFacade(section: 'metadata' | 'deletion_policy' | 'update_policy'): IResolvable {
    return new Intrinsic('resource_facade', section);
  }
}

class ParamIntrinsic extends Intrinsic {
  constructor(
    public readonly param: ParamRef,
    path: Input<string | number>[],
  ) {
    super('get_param', (ctx: ResolveContext) => (path.length === 0 ? paramName(param, ctx) : [paramName(param, ctx), ...path]));
  }
}

/** Condition functions for the `conditions` section (and inline condition expressions). */
export class Cond {
  private constructor() {}

  /**
   * `equals`. Comparing a boolean parameter with a list is refused: Heat accepts it and it is never true
   * (the fault that keeps Magnum's API health monitor from ever being created).
   */
  static equals(left: unknown, right: unknown): Intrinsic {
    const isBoolParam = (x: unknown) => x instanceof ParamIntrinsic && isBooleanParameter(x.param);
    const isBool = (x: unknown) => typeof x === 'boolean' || isBoolParam(x);
    if ((isBool(left) && Array.isArray(right)) || (isBool(right) && Array.isArray(left))) {
      throw new HotError(
        '',
        `equals compares a boolean with a list (${describeValue(Array.isArray(left) ? left : right)}); that is never true — compare with true or false`,
      );
    }
    return new Intrinsic('equals', [left, right], { condition: true });
  }

  static not(condition: ConditionInput): Intrinsic {
    return new Intrinsic('not', (ctx: ResolveContext) => resolveCondition(condition, ctx), { condition: true });
  }

  static and(...conditions: ConditionInput[]): Intrinsic {
    if (conditions.length < 2) throw new HotError('', `and needs at least two conditions; got ${conditions.length}`);
    return new Intrinsic('and', (ctx: ResolveContext) => conditions.map((c) => resolveCondition(c, ctx)), { condition: true });
  }

  static or(...conditions: ConditionInput[]): Intrinsic {
    if (conditions.length < 2) throw new HotError('', `or needs at least two conditions; got ${conditions.length}`);
    return new Intrinsic('or', (ctx: ResolveContext) => conditions.map((c) => resolveCondition(c, ctx)), { condition: true });
  }

  static contains(value: unknown, sequence: unknown): Intrinsic {
    return new Intrinsic('contains', [value, sequence], { condition: true });
  }

  static yaql(expression: string, data: unknown): Intrinsic {
    return new Intrinsic('yaql', { expression, data }, { condition: true });
  }
}
