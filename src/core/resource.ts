import { Construct, type IConstruct } from 'constructs';
import { HotError } from './errors.js';
import { HeatElement } from './element.js';
import { Fn, resolveCondition, type ConditionInput } from './intrinsics.js';
import { renderProperties, type PropertySpec } from './property-map.js';
import { resolveValue } from './resolve.js';
import { sortBelow } from './yaml.js';
import type { IResolvable, Input, ResolveContext } from './tokens.js';

const RESOURCE = Symbol.for('hotk8s.HeatResource');

export interface HeatResourceProps {
  /** Heat resource type, e.g. `OS::Nova::Server`, or a nested template's file name. */
  readonly type: string;
  /** Property values: camelCase when `propertySpec` is given, Heat's names otherwise. */
  readonly properties?: Record<string, unknown>;
  /** Name mapping and update semantics (generated L1 classes pass theirs). */
  readonly propertySpec?: PropertySpec;
}

export type DeletionPolicy = 'Delete' | 'Retain' | 'Snapshot';

function splitPath(path: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < path.length; i++) {
    const ch = path[i]!;
    if (ch === '\\' && path[i + 1] === '.') {
      current += '.';
      i++;
    } else if (ch === '.') {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts;
}

/**
 * An L1 resource: one entry of a template's `resources` section. Generated classes (OsNovaServer, ...) extend it.
 * Members are prefixed (`heat...`) so generated properties can never shadow them.
 */
export class HeatResource extends HeatElement {
  static isHeatResource(x: unknown): x is HeatResource {
    return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[RESOURCE] === true;
  }

  public readonly templateSection = 'resources' as const;
  public readonly heatResourceType: string;
  /** Property values as given. Mutable, like CDK's L1 props. */
  public heatProperties: Record<string, unknown>;
  public readonly heatPropertySpec?: PropertySpec;
  public heatDeletionPolicy?: DeletionPolicy;
  public heatCondition?: ConditionInput;
  public heatUpdatePolicy?: Record<string, unknown>;
  public heatMetadata?: Record<string, unknown>;
  public heatExternalId?: Input<string>;
  private readonly overrides: { path: string[]; value: unknown }[] = [];

  constructor(scope: Construct, id: string, props: HeatResourceProps) {
    super(scope, id);
    if (typeof props?.type !== 'string' || props.type.length === 0) {
      throw new HotError(this.node.path, `a resource needs a type; got ${JSON.stringify(props?.type)}`);
    }
    this.heatResourceType = props.type;
    this.heatProperties = { ...(props.properties ?? {}) };
    this.heatPropertySpec = props.propertySpec;
  }

  /** `get_resource` of this resource. */
  ref(): IResolvable {
    return Fn.getResource(this);
  }

  /** `get_attr` of this resource. */
  getAtt(attribute: string, ...path: Input<string | number>[]): IResolvable {
    return Fn.getAttr(this, attribute, ...path);
  }

  /**
   * Set any value of the rendered entry by a dotted path (`properties.networks`, `metadata.a\.b`), after rendering.
   * A numeric part indexes into a list that is already there (`properties.block_device_mapping_v2.0.volume_type`).
   * Escape hatch for what the typed props do not cover.
   */
  addOverride(path: string, value: unknown): void {
    const parts = splitPath(path);
    if (parts.some((p) => p.length === 0))
      throw new HotError(this.node.path, `override path has an empty part; got ${JSON.stringify(path)}`);
    this.overrides.push({ path: parts, value });
  }

  /** `addOverride('properties.' + path, value)`: the path uses Heat's property names. */
  addPropertyOverride(path: string, value: unknown): void {
    this.addOverride(`properties.${path}`, value);
  }

  /** Remove a value from the rendered entry. */
  addDeletionOverride(path: string): void {
    this.addOverride(path, undefined);
  }

  /** An explicit `depends_on` (construct-level: every resource below `target` in this template). */
  addDependency(...targets: IConstruct[]): void {
    for (const t of targets) this.node.addDependency(t);
  }

  /** Logical ids this resource must wait for; set by the prepare phase. */
  public dependsOnIds: string[] = [];

  renderEntry(ctx: ResolveContext): unknown {
    const properties = this.heatPropertySpec
      ? renderProperties(this.heatProperties, this.heatPropertySpec, this.node.path)
      : this.heatProperties;
    const entry: Record<string, unknown> = {
      type: this.heatResourceType,
      external_id: this.heatExternalId,
      condition: this.heatCondition === undefined ? undefined : resolveCondition(this.heatCondition, ctx),
      depends_on: this.dependsOnIds.length > 0 ? [...this.dependsOnIds] : undefined,
      properties: Object.keys(properties).length > 0 ? properties : undefined,
      metadata: this.heatMetadata,
      update_policy: this.heatUpdatePolicy,
      deletion_policy: this.heatDeletionPolicy,
    };
    // the entry keeps its field order; everything below has its keys sorted, as templates are written
    const sorted: ResolveContext = ctx.sortKeys ? ctx : { ...ctx, sortKeys: true };
    const resolved: Record<string, unknown> = {};
    // an indexed loop: render runs cold (interpreted), where for-of over entries allocates a pair and a result per step
    const keys = Object.keys(entry);
    for (let i = 0; i < keys.length; i++) {
      const r = resolveValue(entry[keys[i]!], sorted);
      if (r !== undefined) resolved[keys[i]!] = r;
    }
    if (this.overrides.length === 0) return resolved;
    for (const o of this.overrides) applyOverride(resolved, o.path, resolveValue(o.value, sorted));
    return sortBelow(resolved);
  }
}
// the brand `isHeatResource` reads, on the prototype (one property, not one per resource)
Object.defineProperty(HeatResource.prototype, RESOURCE, { value: true });

function applyOverride(target: Record<string, unknown>, path: string[], value: unknown): void {
  // A numeric part indexes into a list that is already there (`properties.networks.0.port`); otherwise parts are keys.
  type Container = Record<string, unknown> | unknown[];
  const isIndex = (c: Container, key: string) => Array.isArray(c) && /^(0|[1-9][0-9]*)$/.test(key);
  const get = (c: Container, key: string): unknown =>
    isIndex(c, key) ? (c as unknown[])[Number(key)] : (c as Record<string, unknown>)[key];
  const set = (c: Container, key: string, v: unknown) => {
    if (isIndex(c, key)) (c as unknown[])[Number(key)] = v;
    else (c as Record<string, unknown>)[key] = v;
  };
  let cur: Container = target;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i]!;
    const next = get(cur, key);
    if (typeof next !== 'object' || next === null) {
      if (value === undefined) return;
      set(cur, key, {});
    }
    cur = get(cur, key) as Container;
  }
  const last = path[path.length - 1]!;
  if (value !== undefined) set(cur, last, value);
  else if (isIndex(cur, last)) (cur as unknown[]).splice(Number(last), 1);
  else delete (cur as Record<string, unknown>)[last];
}
