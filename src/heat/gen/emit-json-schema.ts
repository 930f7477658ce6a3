/**
 * JSON Schemas (draft 2020-12 subset understood by ajv 8) generated from the snapshot:
 * one per resource type for its `properties`, and one per HOT version for the document itself.
 *
 * Intrinsic functions may stand anywhere a value goes. Every value schema reads
 * `{ if: { $ref: 'hot-deferred' }, else: <typed> }`; `hot-deferred` is registered per HOT version and accepts
 * `null` or a one-key map whose key is a function that version offers, so the same resource schema is
 * checked against the functions of the document's own version.
 *
 * Type checks follow Heat's own coercions (`heat.engine.properties.Property`): a string property also takes
 * integers and booleans (Heat calls `str()`), integer and number properties take numeric strings, boolean
 * properties take "true"/"false" in any case.
 */
import type { HeatSchemaSnapshot, SnapshotProperty, SnapshotResourceType, SnapshotTemplateVersion } from './snapshot.js';

export type JsonSchema = { readonly [key: string]: unknown } | boolean;

export const DEFERRED_REF = 'hot-deferred';
export const CONDITION_REF = 'hot-condition';

export const INTEGER_STRING = '^\\s*[-+]?[0-9]+\\s*$';
export const NUMBER_STRING = '^\\s*[-+]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]+)?\\s*$';
export const BOOLEAN_STRING = '^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])$';

/** Heat's AllowedPattern matches from the start and must consume the whole value. */
function anchoredPattern(pattern: string): string | undefined {
  const p = `^(?:${pattern})$`;
  try {
    new RegExp(p, 'u');
    return p;
  } catch {
    return undefined; // a Python-only regex construct: left to Heat
  }
}

function applyConstraints(p: SnapshotProperty, s: Record<string, unknown>): void {
  for (const c of p.constraints ?? []) {
    const v = (c.value ?? {}) as Record<string, number | undefined>;
    switch (c.kind) {
      case 'range':
        if (v['min'] !== undefined) s['minimum'] = v['min'];
        if (v['max'] !== undefined) s['maximum'] = v['max'];
        break;
      case 'length': {
        const [lo, hi] =
          p.type === 'list' ? ['minItems', 'maxItems'] : p.type === 'map' ? ['minProperties', 'maxProperties'] : ['minLength', 'maxLength'];
        if (v['min'] !== undefined) s[lo!] = v['min'];
        if (v['max'] !== undefined) s[hi!] = v['max'];
        break;
      }
      case 'allowed_values': {
        const values = c.value as unknown[];
        if (p.type === 'string') {
          // Heat compares after str(); an integer 1 matches an allowed "1"
          s['enum'] = [...values, ...values.filter((x) => typeof x === 'string' && /^-?[0-9]+$/.test(x)).map(Number)];
        } else if (p.type === 'integer' || p.type === 'number') {
          s['enum'] = [...values, ...values.map((x) => String(x))];
        } else if (p.type !== 'list') {
          s['enum'] = values;
        }
        break;
      }
      case 'allowed_pattern': {
        const pat = anchoredPattern(String(c.value));
        if (pat !== undefined) s['pattern'] = pat;
        break;
      }
      default:
        break; // modulo and custom constraints are checked by Heat (custom ones need the cloud)
    }
  }
}

/** Typed schema of a property value, without the intrinsic escape. */
function typedSchema(p: SnapshotProperty): Record<string, unknown> {
  const s: Record<string, unknown> = {};
  switch (p.type) {
    case 'string':
      s['type'] = ['string', 'integer', 'boolean'];
      break;
    case 'integer':
      s['type'] = ['integer', 'string'];
      s['pattern'] = INTEGER_STRING;
      break;
    case 'number':
      s['type'] = ['number', 'string'];
      s['pattern'] = NUMBER_STRING;
      break;
    case 'boolean':
      s['type'] = ['boolean', 'string'];
      s['pattern'] = BOOLEAN_STRING;
      break;
    case 'list': {
      s['type'] = 'array';
      if (p.items) s['items'] = valueSchema(p.items);
      const allowed = p.constraints?.find((c) => c.kind === 'allowed_values');
      if (allowed && !p.items) s['items'] = { if: { $ref: DEFERRED_REF }, else: { enum: allowed.value } };
      break;
    }
    case 'map':
      s['type'] = 'object';
      if (p.schema) Object.assign(s, mapSchema(p.schema));
      break;
    default:
      break;
  }
  applyConstraints(p, s);
  return s;
}

export function valueSchema(p: SnapshotProperty): JsonSchema {
  const typed = typedSchema(p);
  if (Object.keys(typed).length === 0) return true;
  return { if: { $ref: DEFERRED_REF }, else: typed };
}

function mapSchema(props: Readonly<Record<string, SnapshotProperty>>): Record<string, unknown> {
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const name of Object.keys(props).sort()) {
    const p = props[name]!;
    if (!p.implemented) continue; // Heat rejects a value for a property it does not implement
    properties[name] = valueSchema(p);
    if (p.required) required.push(name);
  }
  const out: Record<string, unknown> = { properties, additionalProperties: false };
  if (required.length > 0) out['required'] = required;
  return out;
}

/** Schema of the `properties` map of one resource type. */
export function resourcePropertiesSchema(heatType: string, t: SnapshotResourceType): Record<string, unknown> {
  return { title: `${heatType} properties`, type: 'object', ...mapSchema(t.properties) };
}

/** `hot-deferred` for one version: null or a one-key map naming one of the version's functions. */
export function deferredSchema(v: SnapshotTemplateVersion): Record<string, unknown> {
  const fns = Object.keys(v.functions)
    .filter((f) => v.functions[f]!.status === 'supported')
    .sort();
  return {
    $id: DEFERRED_REF,
    anyOf: [{ type: 'null' }, { type: 'object', minProperties: 1, maxProperties: 1, propertyNames: { enum: fns } }],
  };
}

function parameterSchema(v: SnapshotTemplateVersion): Record<string, unknown> {
  const range = {
    type: 'object',
    properties: { min: { type: 'number' }, max: { type: 'number' } },
    additionalProperties: false,
    minProperties: 1,
  };
  const kinds: Record<string, JsonSchema> = {
    length: range,
    range,
    modulo: {
      type: 'object',
      properties: { step: { type: 'number' }, offset: { type: 'number' } },
      required: ['step', 'offset'],
      additionalProperties: false,
    },
    allowed_values: { type: 'array' },
    allowed_pattern: { type: 'string' },
    custom_constraint: { type: 'string' },
  };
  const constraintProps: Record<string, JsonSchema> = { description: { type: 'string' } };
  for (const k of v.parameter.constraintKinds) constraintProps[k] = kinds[k] ?? true;
  const keySchemas: Record<string, JsonSchema> = {
    type: { enum: [...v.parameter.types] },
    description: { type: 'string' },
    label: { type: 'string' },
    default: true,
    hidden: { type: ['boolean', 'string'] },
    immutable: { type: ['boolean', 'string'] },
    tags: { type: 'array', items: { type: 'string' } },
    schema: true,
    constraints: {
      type: 'array',
      items: {
        type: 'object',
        properties: constraintProps,
        additionalProperties: false,
        oneOf: v.parameter.constraintKinds.map((k) => ({ required: [k] })),
      },
    },
  };
  const properties: Record<string, JsonSchema> = {};
  for (const k of [...v.parameter.keys].sort()) properties[k] = keySchemas[k] ?? true;
  return { type: 'object', required: ['type'], properties, additionalProperties: false };
}

/** Schema of a whole HOT document declaring this version (resource properties are checked per type). */
export function documentSchema(date: string, v: SnapshotTemplateVersion): Record<string, unknown> {
  const has = (s: string): boolean => v.sections.includes(s);
  const deferred = { $ref: DEFERRED_REF };
  const condition = has('conditions') ? { $ref: CONDITION_REF } : true;
  const resourceKeySchemas: Record<string, JsonSchema> = {
    type: { type: 'string', minLength: 1 },
    properties: { anyOf: [{ type: 'object' }, deferred] },
    metadata: { anyOf: [{ type: 'object' }, deferred] },
    depends_on: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
    deletion_policy: { anyOf: [{ enum: [...v.deletionPolicies] }, deferred] },
    update_policy: { anyOf: [{ type: 'object' }, deferred] },
    description: { type: 'string' },
    external_id: { anyOf: [{ type: 'string' }, deferred] },
    condition,
  };
  const resourceProps: Record<string, JsonSchema> = {};
  for (const k of [...v.resourceKeys].sort()) resourceProps[k] = resourceKeySchemas[k] ?? true;
  const outputKeySchemas: Record<string, JsonSchema> = { value: true, description: { type: 'string' }, condition };
  const outputProps: Record<string, JsonSchema> = {};
  for (const k of [...v.outputKeys].sort()) outputProps[k] = outputKeySchemas[k] ?? true;
  const sectionSchemas: Record<string, JsonSchema> = {
    heat_template_version: { enum: [date, ...v.aliases] },
    description: { type: 'string' },
    parameter_groups: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          label: { type: 'string' },
          description: { type: 'string' },
          parameters: { type: 'array', items: { type: 'string' } },
        },
        additionalProperties: false,
      },
    },
    parameters: { type: ['object', 'null'], additionalProperties: parameterSchema(v) },
    resources: {
      type: ['object', 'null'],
      additionalProperties: { type: 'object', required: ['type'], properties: resourceProps, additionalProperties: false },
    },
    outputs: {
      type: ['object', 'null'],
      additionalProperties: { type: 'object', required: ['value'], properties: outputProps, additionalProperties: false },
    },
    conditions: { type: ['object', 'null'], additionalProperties: condition },
  };
  const properties: Record<string, JsonSchema> = {};
  for (const s of [...v.sections].sort()) properties[s] = sectionSchemas[s] ?? true;
  const out: Record<string, unknown> = {
    $id: `hot-document-${date}`,
    title: `HOT document, heat_template_version ${date}`,
    type: 'object',
    required: ['heat_template_version'],
    properties,
    additionalProperties: false,
  };
  if (has('conditions')) {
    const cfns = Object.keys(v.conditionFunctions)
      .filter((f) => v.conditionFunctions[f]!.status === 'supported')
      .sort();
    // A condition is a boolean, the name of another condition, or a one-key map of a condition function.
    out['$defs'] = {
      condition: {
        $id: CONDITION_REF,
        anyOf: [{ type: ['boolean', 'string'] }, { type: 'object', minProperties: 1, maxProperties: 1, propertyNames: { enum: cfns } }],
      },
    };
  }
  return out;
}

/** Resource types in snapshot order (sorted), all of them: Heat accepts hidden types, so we validate them too. */
export function allTypes(snapshot: HeatSchemaSnapshot): string[] {
  return Object.keys(snapshot.resourceTypes).sort();
}
