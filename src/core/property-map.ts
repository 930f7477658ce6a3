import { HotError } from './errors.js';
import { isResolvable } from './tokens.js';

export type HeatPropertyType = 'string' | 'number' | 'integer' | 'boolean' | 'list' | 'map' | 'json' | 'any';

/** How Heat handles a change of the property on stack update. */
export type UpdateSemantics = 'update' | 'replace' | 'immutable';

export interface PropertyInfo {
  /** Heat's property name. */
  readonly heat: string;
  readonly type: HeatPropertyType;
  readonly required?: boolean;
  /** `update`: updated in place; `replace`: the resource is replaced; `immutable`: the update fails. */
  readonly update: UpdateSemantics;
  /** Known keys of a map value. */
  readonly schema?: PropertySpec;
  /** Schema of each list item. */
  readonly items?: PropertyInfo;
}

export interface PropertySpec {
  readonly [camelName: string]: PropertyInfo;
}

function renderInfo(value: unknown, info: PropertyInfo, path: string): unknown {
  if (value === undefined || value === null || isResolvable(value)) return value;
  if (info.schema && typeof value === 'object' && !Array.isArray(value)) {
    return renderProperties(value as Record<string, unknown>, info.schema, path);
  }
  if (info.items && Array.isArray(value)) {
    return value.map((item, i) => renderInfo(item, info.items!, `${path}[${i}]`));
  }
  return value;
}

/**
 * Map camelCase property names to Heat's names, recursively where a schema is known. Values that are
 * Heat functions pass through untouched; a key that is neither a known camelCase name nor a Heat name is an error.
 */
export function renderProperties(value: Record<string, unknown>, spec: PropertySpec, path: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let byHeat: Map<string, PropertyInfo> | undefined;
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined) continue;
    let info: PropertyInfo | undefined = spec[key];
    if (!info) {
      byHeat ??= new Map(Object.values(spec).map((i) => [i.heat, i]));
      info = byHeat.get(key);
    }
    if (!info) {
      const known = Object.keys(spec).sort();
      throw new HotError(path, `unknown property \`${key}\`; known properties: ${known.length > 0 ? known.join(', ') : '(none)'}`);
    }
    out[info.heat] = renderInfo(v, info, `${path}.${info.heat}`);
  }
  return out;
}
