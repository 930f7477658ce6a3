/**
 * The ajv half of validation. One ajv instance per HOT version, created on first use; the document schema and
 * each resource type's properties schema are compiled on first use and cached, so a process that validates a
 * template with ten resource types compiles ten schemas, not two hundred.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { HOT_DEFERRED_SCHEMAS, HOT_DOCUMENT_SCHEMAS, RESOURCE_PROPERTIES_SCHEMAS } from './generated/schemas.generated.js';
import { BOOLEAN_STRING, INTEGER_STRING, NUMBER_STRING } from './gen/emit-json-schema.js';
import { describeJson } from './validate-text.js';

interface VersionValidators {
  readonly ajv: Ajv;
  document?: ValidateFunction;
  readonly types: Map<string, ValidateFunction>;
}

const byVersion = new Map<string, VersionValidators>();

function forVersion(version: string): VersionValidators {
  let v = byVersion.get(version);
  if (!v) {
    const ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true, unicodeRegExp: true, verbose: true, inlineRefs: false });
    ajv.addSchema(JSON.parse(HOT_DEFERRED_SCHEMAS[version]!) as object);
    v = { ajv, types: new Map() };
    byVersion.set(version, v);
  }
  return v;
}

export function hasPropertiesSchema(heatType: string): boolean {
  return Object.prototype.hasOwnProperty.call(RESOURCE_PROPERTIES_SCHEMAS, heatType);
}

export function documentValidator(version: string): ValidateFunction {
  const v = forVersion(version);
  v.document ??= v.ajv.compile(JSON.parse(HOT_DOCUMENT_SCHEMAS[version]!) as object);
  return v.document;
}

export function propertiesValidator(version: string, heatType: string): ValidateFunction {
  const v = forVersion(version);
  let fn = v.types.get(heatType);
  if (!fn) {
    fn = v.ajv.compile(JSON.parse(RESOURCE_PROPERTIES_SCHEMAS[heatType]!) as object);
    v.types.set(heatType, fn);
  }
  return fn;
}

/** Number of compiled schemas so far (for the startup-time benchmark and tests of laziness). */
export function compiledSchemaCount(): number {
  let n = 0;
  for (const v of byVersion.values()) n += v.types.size + (v.document ? 1 : 0);
  return n;
}

export interface SchemaFinding {
  /** Segments below the validated value (numbers for list indices). */
  readonly path: readonly (string | number)[];
  /** The value at `path`. */
  readonly value: unknown;
  readonly kind: 'required' | 'unknown' | 'type' | 'value';
  /** The property concerned (for required/unknown: the missing or extra key). */
  readonly name?: string;
  readonly detail: string;
  /** For `unknown`: the keys allowed at that place. */
  readonly candidates?: readonly string[];
}

function pointer(p: string): string[] {
  if (p === '') return [];
  return p
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Turn pointer segments into keys and list indices, following the instance. */
function typedPath(root: unknown, segs: readonly string[]): (string | number)[] {
  const out: (string | number)[] = [];
  let cur = root;
  for (const seg of segs) {
    const key = Array.isArray(cur) && /^[0-9]+$/.test(seg) ? Number(seg) : seg;
    out.push(key);
    cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[seg] : undefined;
  }
  return out;
}

function valueAt(root: unknown, path: readonly (string | number)[]): unknown {
  let cur = root;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'a boolean',
  array: 'a list',
  object: 'a map',
  null: 'empty',
};

/**
 * Turn ajv's errors into one finding per problem. Errors of the intrinsic-function escape (`if`/`anyOf` over
 * `hot-deferred`) are noise: a value that is not a function gets checked against its type, and that error is
 * the one a person needs.
 */
export function findings(errors: readonly ErrorObject[] | null | undefined, root: unknown): SchemaFinding[] {
  if (!errors) return [];
  const out: SchemaFinding[] = [];
  const typeErrors = new Map<string, Set<string>>();
  const concrete = new Set<string>();
  const oneOfs: { key: string; path: (string | number)[]; value: unknown }[] = [];
  for (const e of errors) {
    // the alternatives of a oneOf are summarised by the oneOf error itself
    if (/\/oneOf\/[0-9]+\//.test(e.schemaPath)) continue;
    const raw = pointer(e.instancePath);
    const path = typedPath(root, raw);
    const value = valueAt(root, path);
    const key = raw.join('\u0000');
    switch (e.keyword) {
      case 'required': {
        const name = (e.params as { missingProperty: string }).missingProperty;
        out.push({ path, value, kind: 'required', name, detail: `\`${name}\` is required` });
        concrete.add(key);
        break;
      }
      case 'additionalProperties': {
        const name = (e.params as { additionalProperty: string }).additionalProperty;
        const parent = e.parentSchema as { properties?: Record<string, unknown> } | undefined;
        const candidates = Object.keys(parent?.properties ?? {}).sort();
        out.push({ path, value, kind: 'unknown', name, detail: `\`${name}\` is not allowed here`, candidates });
        concrete.add(key);
        break;
      }
      case 'type': {
        const t = (e.params as { type: string | string[] }).type;
        const set = typeErrors.get(key) ?? new Set<string>();
        for (const x of Array.isArray(t) ? t : [t]) set.add(x);
        typeErrors.set(key, set);
        break;
      }
      case 'enum': {
        const allowed = (e.params as { allowedValues: unknown[] }).allowedValues;
        // `hot-deferred`'s propertyNames enum is the intrinsic escape, not the property's own enum
        if (e.schemaPath.includes('propertyNames')) break;
        out.push({ path, value, kind: 'value', detail: `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}; got ${describeJson(valueAt(root, path))}` });
        concrete.add(key);
        break;
      }
      case 'pattern': {
        const pattern = (e.params as { pattern: string }).pattern;
        const expected = PATTERN_WORDS[pattern] ?? `must match the pattern ${pattern}`;
        // the coercion patterns stand for the property's type (Heat reads "42" as an integer)
        out.push({ path, value, kind: pattern in PATTERN_WORDS ? 'type' : 'value', detail: `${expected}; got ${describeJson(value)}` });
        concrete.add(key);
        break;
      }
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum':
      case 'minLength':
      case 'maxLength':
      case 'minItems':
      case 'maxItems':
      case 'minProperties':
      case 'maxProperties': {
        if (e.schemaPath.includes(DEFERRED_MARK)) break;
        out.push({ path, value, kind: 'value', detail: `${e.message ?? e.keyword}; got ${describeJson(valueAt(root, path))}` });
        concrete.add(key);
        break;
      }
      case 'oneOf':
        oneOfs.push({ key, path, value });
        break;
      default:
        break; // if / anyOf / propertyNames: summarised by the type errors below
    }
  }
  for (const o of oneOfs) {
    if (concrete.has(o.key)) continue;
    out.push({ path: o.path, value: o.value, kind: 'value', detail: `must have exactly one of its alternatives; got ${describeJson(o.value)}` });
    concrete.add(o.key);
  }
  for (const [key, types] of typeErrors) {
    if (concrete.has(key)) continue;
    const path = typedPath(root, key === '' ? [] : key.split('\u0000'));
    const v = valueAt(root, path);
    // the intrinsic escape contributes "null"/"object" alternatives; Heat's coercions add "string" to scalar
    // types (a numeric string is a number to Heat); name the type the property really has
    let names = [...types].filter((t) => t !== 'null');
    if (names.includes('string') && names.length > 1) names = names.includes('boolean') && names.includes('integer') ? ['string'] : names.filter((t) => t !== 'string');
    const words = names.map((t) => TYPE_WORDS[t] ?? t);
    const isFnLike = v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 1;
    const fnNote = isFnLike ? ` (\`${Object.keys(v as object)[0]}\` is not an intrinsic function of this template version)` : '';
    out.push({ path, value: v, kind: 'type', detail: `must be ${[...new Set(words)].join(' or ') || 'a value'}; got ${describeJson(v)}${fnNote}` });
  }
  return out;
}

const DEFERRED_MARK = 'hot-deferred';

/** The coercion patterns of emit-json-schema.ts, said in words. */
const PATTERN_WORDS: Record<string, string> = {
  [INTEGER_STRING]: 'must be an integer',
  [NUMBER_STRING]: 'must be a number',
  [BOOLEAN_STRING]: 'must be true or false',
};
