/**
 * ajv standalone validation code, generated at `npm run gen:heat` time so that no schema is compiled while a
 * user synthesizes: one ES module per resource type (the validator of its `properties` map) and one per HOT
 * template version (the validator of the whole document). The validator reads the modules of the versions and
 * types a document actually uses, by dynamic import (`validators/index.generated.ts` maps names to loaders).
 *
 * Resource validators are shared by every template version. In the JSON Schemas an intrinsic function may stand
 * for any value through `{ if: { $ref: 'hot-deferred' }, else: <typed> }`, with `hot-deferred` registered per
 * version; here the `if` becomes the code keyword `hotFunction`, which calls `isHotFunction` from
 * `src/heat/validate-runtime.ts`, set to the functions of the document's version before each call. An `if`
 * never reports its own errors, so only its result matters, and that result is the same as `hot-deferred`'s.
 * Scalar leaves (`{ if, else: { type, pattern, enum, ... } }`) are compiled once per module and called through
 * `$ref`, which keeps the code about a third smaller; their errors keep the instance path, and `findings()`
 * reads schema paths only for `oneOf`, `propertyNames` and `hot-deferred`, which leaves never contain.
 *
 * Document validators are the document schemas exactly as `schemas.generated.ts` holds them, compiled with
 * the options the validator always used (all errors, verbose, refs as calls), so their errors are unchanged.
 */
import { Ajv, Name, _, type KeywordCxt } from 'ajv';
import standaloneCodeModule from 'ajv/dist/standalone/index.js';
import type { HeatSchemaSnapshot } from './snapshot.js';
import { BANNER } from './emit-typescript.js';
import { DEFERRED_REF, allTypes, deferredSchema, documentSchema, resourcePropertiesSchema } from './emit-json-schema.js';

/** The code keyword that stands for `hot-deferred` in resource validators. */
export const HOT_FUNCTION_KEYWORD = 'hotFunction';
/** Identifier the generated code calls for it (exported by validate-runtime.ts). */
const HOT_FUNCTION_NAME = 'isHotFunction';
/** Module the generated code imports its runtime from, relative to `validators/`. */
const RUNTIME_MODULE = '../../validate-runtime.js';
/** Ajv's runtime helpers the generated code may need, as ajv writes them (`require(...)`) -> our runtime's name. */
const RUNTIME_REQUIRES: Readonly<Record<string, string>> = {
  'require("ajv/dist/runtime/ucs2length").default': 'ucs2length',
  'require("ajv/dist/runtime/equal").default': 'deepEqual',
};

/** The ajv options of every validator (runtime compiles used the same ones, minus the code options). */
export const AJV_OPTIONS = {
  allErrors: true,
  strict: false,
  allowUnionTypes: true,
  unicodeRegExp: true,
  verbose: true,
  inlineRefs: false,
} as const;

type StandaloneCode = (ajv: Ajv, refs: Record<string, string>) => string;
// ajv/dist/standalone is CommonJS; under Node's ESM loader its default import is module.exports
const standaloneCode: StandaloneCode =
  typeof standaloneCodeModule === 'function'
    ? (standaloneCodeModule as unknown as StandaloneCode)
    : (standaloneCodeModule as { default: StandaloneCode }).default;

/** Stands for `isHotFunction` while compiling; one value, so each module holds one reference to it. */
const HOT_FUNCTION_REF = { ref: (): boolean => true, code: new Name(HOT_FUNCTION_NAME) };

function newAjv(): Ajv {
  const ajv = new Ajv({ ...AJV_OPTIONS, code: { source: true, esm: true, lines: false } });
  ajv.addKeyword({
    keyword: HOT_FUNCTION_KEYWORD,
    schemaType: 'boolean',
    code(cxt: KeywordCxt) {
      const fn = cxt.gen.scopeValue('func', HOT_FUNCTION_REF);
      cxt.fail(_`!${fn}(${cxt.data})`);
    },
  });
  return ajv;
}

type Json = { [key: string]: unknown };

function isObject(x: unknown): x is Json {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isDeferredRef(x: unknown): boolean {
  return isObject(x) && Object.keys(x).length === 1 && x['$ref'] === DEFERRED_REF;
}

/**
 * The resource schema as compiled: `hot-deferred` refs become the `hotFunction` keyword, and each scalar leaf
 * (an intrinsic escape whose typed branch has no nested properties or items) becomes a `$ref` to one shared
 * schema per distinct leaf. Returns the rewritten schema and the leaves by id, in first-use order.
 */
export function standaloneResourceSchema(schema: Json): { schema: Json; leaves: Map<string, Json> } {
  const leaves = new Map<string, Json>();
  const idOf = new Map<string, string>();
  const rewrite = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(rewrite);
    if (!isObject(x)) return x;
    if (isDeferredRef(x)) return { [HOT_FUNCTION_KEYWORD]: true };
    const out: Json = {};
    for (const [k, v] of Object.entries(x)) out[k] = rewrite(v);
    const typed = out['else'];
    const isLeaf =
      isDeferredRef(x['if']) && Object.keys(x).length === 2 && isObject(typed) && !('properties' in typed) && !('items' in typed);
    if (!isLeaf) return out;
    const key = JSON.stringify(out);
    let id = idOf.get(key);
    if (id === undefined) {
      id = `hot-leaf-${idOf.size}`;
      idOf.set(key, id);
      leaves.set(id, { $id: id, ...out });
    }
    return { $ref: id };
  };
  return { schema: rewrite(schema) as Json, leaves };
}

/** Turn ajv's standalone output into one of our TypeScript modules (ajv writes `require` even in ESM mode). */
function asModule(heatVersion: string, what: string, code: string): string {
  let body = code.replace(/^"use strict";/, '');
  const used = new Set<string>();
  for (const [req, name] of Object.entries(RUNTIME_REQUIRES)) {
    if (body.includes(req)) {
      body = body.split(req).join(name);
      used.add(name);
    }
  }
  const stray = /require\([^)]*\)/.exec(body);
  if (stray)
    throw new Error(
      `generated validator for ${what} requires ${stray[0]}, which the generator does not map to validate-runtime.ts; add it to RUNTIME_REQUIRES`,
    );
  if (new RegExp(`\\b${HOT_FUNCTION_NAME}\\b`).test(body)) used.add(HOT_FUNCTION_NAME);
  const imports = [...used].sort();
  return [
    BANNER(heatVersion),
    '// @ts-nocheck -- ajv standalone validation code (ajv.standaloneCode, ESM), generated from the JSON Schema of',
    `// ${what} in schemas.generated.ts.`,
    ...(imports.length > 0 ? [`import { ${imports.join(', ')} } from '${RUNTIME_MODULE}';`] : []),
    body.trim(),
    '',
  ].join('\n');
}

/** Module file name (under `validators/`) of a resource type: `OS::Nova::Server` -> `os-nova-server`. */
export function validatorModuleOf(heatType: string): string {
  return heatType
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

export function emitResourceValidator(heatVersion: string, heatType: string, s: HeatSchemaSnapshot): string {
  const { schema, leaves } = standaloneResourceSchema(resourcePropertiesSchema(heatType, s.resourceTypes[heatType]!));
  const ajv = newAjv();
  for (const leaf of leaves.values()) ajv.addSchema(leaf);
  ajv.addSchema(schema, 'properties');
  return asModule(heatVersion, `the properties of ${heatType}`, standaloneCode(ajv, { validate: 'properties' }));
}

export function emitDocumentValidator(heatVersion: string, date: string, s: HeatSchemaSnapshot): string {
  const v = s.templateVersions[date]!;
  const ajv = newAjv();
  ajv.addSchema(deferredSchema(v));
  ajv.addSchema(documentSchema(date, v), 'document');
  return asModule(heatVersion, `a HOT ${date} document`, standaloneCode(ajv, { validate: 'document' }));
}

/**
 * The validators every `Cluster` synth needs: the resource types the Kubernetes constructs create and the default HOT
 * version's document. They are loaded together from one module (`validators/cluster-set.generated.ts`), which the
 * bundle makes one chunk: loading 21 modules one by one took 17.5 ms on Node 20, one module 7.7 ms. A unit test
 * keeps the list equal to the types the stacks and examples use.
 */
export const CLUSTER_SET_TYPES: readonly string[] = [
  'OS::Heat::RandomString',
  'OS::Heat::ResourceGroup',
  'OS::Heat::WaitCondition',
  'OS::Heat::WaitConditionHandle',
  'OS::Neutron::FloatingIP',
  'OS::Neutron::FloatingIPAssociation',
  'OS::Neutron::Net',
  'OS::Neutron::Port',
  'OS::Neutron::Router',
  'OS::Neutron::RouterInterface',
  'OS::Neutron::SecurityGroup',
  'OS::Neutron::SecurityGroupRule',
  'OS::Neutron::Subnet',
  'OS::Nova::Server',
  'OS::Nova::ServerGroup',
  'OS::Octavia::HealthMonitor',
  'OS::Octavia::Listener',
  'OS::Octavia::LoadBalancer',
  'OS::Octavia::Pool',
  'OS::Octavia::PoolMember',
];
export const CLUSTER_SET_VERSION = '2018-08-31';
const CLUSTER_SET_MODULE = 'cluster-set';

/** All validator modules plus their index: file name (relative to the generated directory) -> content. */
export function emitValidators(s: HeatSchemaSnapshot): Map<string, string> {
  const files = new Map<string, string>();
  const types = allTypes(s);
  const dates = Object.keys(s.templateVersions).sort();
  const moduleOf = new Map<string, string>();
  for (const t of types) {
    const m = validatorModuleOf(t);
    const clash = [...moduleOf.entries()].find(([, other]) => other === m);
    if (clash || m.startsWith('hot-document-'))
      throw new Error(`resource types ${clash ? `${clash[0]} and ` : ''}${t} map to one validator module ${m}`);
    moduleOf.set(t, m);
    files.set(`validators/${m}.generated.ts`, emitResourceValidator(s.heatVersion, t, s));
  }
  for (const d of dates) files.set(`validators/hot-document-${d}.generated.ts`, emitDocumentValidator(s.heatVersion, d, s));
  const lit = (x: string): string => JSON.stringify(x);
  // the cluster set: only what this snapshot has (a test snapshot may have none of it)
  const setTypes = CLUSTER_SET_TYPES.filter((t) => moduleOf.has(t));
  const setModules = [
    ...setTypes.map((t) => moduleOf.get(t)!),
    ...(dates.includes(CLUSTER_SET_VERSION) ? [`hot-document-${CLUSTER_SET_VERSION}`] : []),
  ];
  const member = (m: string): string => m.replace(/-/g, '_');
  if (setModules.length > 0) {
    files.set(
      `validators/${CLUSTER_SET_MODULE}.generated.ts`,
      [
        BANNER(s.heatVersion),
        '// The validators a Cluster synth needs, loaded together (see CLUSTER_SET_TYPES in src/heat/gen/emit-validators.ts).',
        ...setModules.map((m) => `export { validate as ${member(m)} } from ${lit(`./${m}.generated.js`)};`),
        '',
      ].join('\n'),
    );
  }
  const inSet = new Set(setModules);
  const loaderOf = (m: string): string =>
    inSet.has(m)
      ? `() => import(${lit(`./${CLUSTER_SET_MODULE}.generated.js`)}).then((v) => ({ validate: v.${member(m)} }))`
      : `() => import(${lit(`./${m}.generated.js`)})`;
  files.set(
    'validators/index.generated.ts',
    [
      BANNER(s.heatVersion),
      '/** A generated validator: ajv standalone code; `errors` holds the errors of the last call. */',
      "export type HotValidator = ((data: unknown) => boolean) & { errors?: import('ajv').ErrorObject[] | null };",
      'type Loader = () => Promise<{ readonly validate: HotValidator }>;',
      '',
      '/** Per resource type: loads the validator of its `properties` map. */',
      'export const PROPERTIES_VALIDATORS: Readonly<Record<string, Loader>> = {',
      ...types.map((t) => `  ${lit(t)}: ${loaderOf(moduleOf.get(t)!)},`),
      '};',
      '',
      '/** Per HOT version (date): loads the validator of the whole document. */',
      'export const DOCUMENT_VALIDATORS: Readonly<Record<string, Loader>> = {',
      ...dates.map((d) => `  ${lit(d)}: ${loaderOf(`hot-document-${d}`)},`),
      '};',
      '',
    ].join('\n'),
  );
  return files;
}
