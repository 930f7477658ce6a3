// The generated standalone validators (src/heat/generated/validators) must judge exactly as the JSON Schemas they
// were generated from, compiled by ajv at run time the way the validator used to: same validity, same findings.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HOT_TEMPLATE_VERSIONS } from '../../src/heat/generated/hot-versions.generated.js';
import { HOT_DEFERRED_SCHEMAS, HOT_DOCUMENT_SCHEMAS, RESOURCE_PROPERTIES_SCHEMAS } from '../../src/heat/generated/schemas.generated.js';
import { DOCUMENT_VALIDATORS, PROPERTIES_VALIDATORS } from '../../src/heat/generated/validators/index.generated.js';
import {
  AJV_OPTIONS,
  CLUSTER_SET_TYPES,
  CLUSTER_SET_VERSION,
  standaloneResourceSchema,
  validatorModuleOf,
} from '../../src/heat/gen/emit-validators.js';
import {
  findings,
  loadValidators,
  loadedValidatorCount,
  validateDocumentSchema,
  validatePropertiesSchema,
} from '../../src/heat/validate-schema.js';
import { isHotFunction, useHotFunctions } from '../../src/heat/validate-runtime.js';

type Json = Record<string, unknown>;
const VERSIONS = ['2016-10-14', '2021-04-16'] as const; // before and after list_concat, if, filter, ...
const TYPES = [
  'OS::Nova::Server',
  'OS::Neutron::Port',
  'OS::Neutron::Subnet',
  'OS::Neutron::SecurityGroupRule',
  'OS::Octavia::Listener',
  'OS::Octavia::Pool',
  'OS::Heat::ResourceGroup',
  'OS::Heat::RandomString',
  'OS::Heat::SoftwareDeployment',
  'OS::Cinder::Volume',
];

const runtime = new Map<string, Ajv>();
const compiledOnce = new Map<string, ValidateFunction>();
/** The validator as it used to be built: the JSON Schema compiled at run time in a per-version ajv. */
function compiled(version: string, schemaText: string): ValidateFunction {
  const key = `${version}\n${schemaText}`;
  let fn = compiledOnce.get(key);
  if (fn) return fn;
  let ajv = runtime.get(version);
  if (!ajv) {
    ajv = new Ajv({ ...AJV_OPTIONS });
    ajv.addSchema(JSON.parse(HOT_DEFERRED_SCHEMAS[version]!) as object);
    runtime.set(version, ajv);
  }
  fn = ajv.compile(JSON.parse(schemaText) as object);
  compiledOnce.set(key, fn);
  return fn;
}

const FUNCTIONS = [
  ...new Set(Object.values(HOT_TEMPLATE_VERSIONS).flatMap((v) => [...v.functions, ...v.conditionFunctions, ...v.removedFunctions])),
].sort();

/** Values for a JSON Schema node of the generated property schemas: mostly fitting, often not. */
function valueFor(schema: unknown, depth: number): fc.Arbitrary<unknown> {
  const junk = fc.oneof(
    fc.constantFrom('42', ' 7 ', '-1', '1.5e3', 'true', 'FALSE', 'yes', '', 'x', 'TCP', 'ROUND_ROBIN', 'ingress', 'tcp', 'IPv4'),
    fc.integer({ min: -3, max: 70000 }),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.boolean(),
    fc.constant(null),
    fc.constant([]),
    fc.constant({}),
    fc.constantFrom(...FUNCTIONS).map((f) => ({ [f]: 'arg' })),
    fc.constant({ get_param: 'p', extra: 1 }),
  );
  if (schema === true || typeof schema !== 'object' || schema === null || depth > 4) return junk;
  const s = schema as Json;
  const typed = 'else' in s ? (s['else'] as Json) : s;
  const options: fc.Arbitrary<unknown>[] = [junk];
  if (Array.isArray(typed['enum'])) options.push(fc.constantFrom(...(typed['enum'] as unknown[])));
  if (typed['type'] === 'object' && typed['properties']) {
    const props = typed['properties'] as Json;
    const keys = Object.keys(props);
    const model: Record<string, fc.Arbitrary<unknown>> = {};
    for (const k of keys) model[k] = valueFor(props[k], depth + 1);
    const rec = keys.length > 0 ? fc.record(model, { requiredKeys: [] }) : fc.constant({});
    options.push(
      rec,
      rec,
      fc.tuple(rec, fc.constantFrom('nmae', 'prot', 'Flavor', 'x-y')).map(([r, extra]) => ({ ...r, [extra]: 1 })),
    );
  }
  if (typed['type'] === 'array') options.push(fc.array(valueFor(typed['items'] ?? true, depth + 1), { maxLength: 3 }));
  return fc.oneof(...options);
}

/** Findings with the order ajv happens to report in normalised away. */
function judged(errors: readonly ErrorObject[] | null, value: unknown): string[] {
  if (!errors) return [];
  return findings(errors, value)
    .map((f) => JSON.stringify([f.path, f.kind, f.name ?? '', f.detail, f.candidates ?? []]))
    .sort();
}

describe('generated standalone validators', () => {
  it('cover every resource type and template version of the schemas', () => {
    expect(Object.keys(PROPERTIES_VALIDATORS).sort()).toEqual(Object.keys(RESOURCE_PROPERTIES_SCHEMAS).sort());
    expect(Object.keys(DOCUMENT_VALIDATORS).sort()).toEqual(Object.keys(HOT_DOCUMENT_SCHEMAS).sort());
  });

  for (const type of TYPES) {
    it(`judge ${type} properties exactly as the runtime-compiled JSON Schema, in each version`, async () => {
      await loadValidators(VERSIONS, [type]);
      const root = JSON.parse(RESOURCE_PROPERTIES_SCHEMAS[type]!) as Json;
      fc.assert(
        fc.property(fc.constantFrom(...VERSIONS), valueFor(root, 0), (version, value) => {
          const old = compiled(version, RESOURCE_PROPERTIES_SCHEMAS[type]!);
          const oldValid = old(value);
          const errors = validatePropertiesSchema(version, type, value);
          expect(errors === null).toBe(oldValid);
          expect(judged(errors, value)).toEqual(judged(old.errors ?? null, value));
        }),
        { numRuns: 300, seed: 20261127 },
      );
    });
  }

  it('judge documents exactly as the runtime-compiled document schema', async () => {
    const docs: unknown[] = [
      {
        heat_template_version: '2021-04-16',
        resources: { a: { type: 'OS::Heat::None', deletion_policy: 'Keep', condition: { not: true } } },
      },
      {
        heat_template_version: '2021-04-16',
        resources: { a: { properties: { get_param: 'p' }, typ: 'x' } },
        outputs: { o: { descripton: 'x' } },
      },
      {
        heat_template_version: '2016-10-14',
        parameters: { p: { type: 'integer', constraints: [{ range: { min: 1 }, length: { max: 2 } }] } },
      },
      {
        heat_template_version: '2016-10-14',
        resources: { a: { type: '', metadata: { list_concat: [] } } },
        conditions: { c: { yaql: 1 } },
      },
      { heat_template_version: '2021-04-16', parameter_groups: [{ label: 1, parameters: 'x' }], resources: null, outputs: [] },
    ];
    await loadValidators(VERSIONS, []);
    for (const doc of docs) {
      const version = (doc as Json)['heat_template_version'] as string;
      const old = compiled(version, HOT_DOCUMENT_SCHEMAS[version]!);
      const oldValid = old(doc);
      const errors = validateDocumentSchema(version, doc);
      expect(errors === null).toBe(oldValid);
      // same schema, same options: the very same errors
      expect(errors).toEqual(oldValid ? null : old.errors);
    }
  });

  it('load only what is asked for, once', async () => {
    const before = loadedValidatorCount();
    await Promise.all([
      loadValidators(['2018-08-31'], ['OS::Zun::Container']),
      loadValidators(['2018-08-31'], ['OS::Zun::Container', 'Not::A::Type']),
    ]);
    expect(loadedValidatorCount() - before).toBe(2);
    expect(() => validatePropertiesSchema('2018-08-31', 'OS::Swift::Container', {})).toThrow(
      /validator of OS::Swift::Container properties was not loaded/,
    );
  });
});

describe('isHotFunction (the hot-deferred schema of the version in use)', () => {
  it('accepts null and a one-key map naming a function of the version, nothing else', () => {
    useHotFunctions(new Set(HOT_TEMPLATE_VERSIONS['2016-10-14']!.functions));
    expect(isHotFunction(null)).toBe(true);
    expect(isHotFunction({ get_param: 'x' })).toBe(true);
    expect(isHotFunction({ list_concat: [] })).toBe(false); // 2017-09-01 and later
    expect(isHotFunction({ get_param: 'x', get_attr: [] })).toBe(false);
    expect(isHotFunction({})).toBe(false);
    expect(isHotFunction([{ get_param: 'x' }])).toBe(false);
    expect(isHotFunction('get_param')).toBe(false);
    useHotFunctions(new Set(HOT_TEMPLATE_VERSIONS['2021-04-16']!.functions));
    expect(isHotFunction({ list_concat: [] })).toBe(true);
  });
});

describe('the generator side', () => {
  it('replaces hot-deferred by the code keyword and shares scalar leaves', () => {
    const { schema, leaves } = standaloneResourceSchema({
      type: 'object',
      properties: {
        a: { if: { $ref: 'hot-deferred' }, else: { type: 'string' } },
        b: { if: { $ref: 'hot-deferred' }, else: { type: 'string' } },
        c: { if: { $ref: 'hot-deferred' }, else: { type: 'array', items: { if: { $ref: 'hot-deferred' }, else: { type: 'integer' } } } },
      },
    });
    expect(schema).toEqual({
      type: 'object',
      properties: {
        a: { $ref: 'hot-leaf-0' },
        b: { $ref: 'hot-leaf-0' },
        c: { if: { hotFunction: true }, else: { type: 'array', items: { $ref: 'hot-leaf-1' } } },
      },
    });
    expect([...leaves.keys()]).toEqual(['hot-leaf-0', 'hot-leaf-1']);
    expect(leaves.get('hot-leaf-1')).toEqual({ $id: 'hot-leaf-1', if: { hotFunction: true }, else: { type: 'integer' } });
  });

  it('groups exactly the validators of the default stack into the cluster set', () => {
    const golden = join(import.meta.dirname, '..', 'golden', '__files__', 'stacks-default');
    const used = new Set<string>();
    const versions = new Set<string>();
    for (const f of readdirSync(golden).filter((x) => x.endsWith('.yaml') && !x.endsWith('.env.yaml'))) {
      const doc = load(readFileSync(join(golden, f), 'utf8')) as {
        heat_template_version: string;
        resources: Record<string, { type: string }>;
      };
      versions.add(String(doc.heat_template_version));
      for (const r of Object.values(doc.resources)) if (r.type.startsWith('OS::')) used.add(r.type);
    }
    expect([...CLUSTER_SET_TYPES].sort()).toEqual([...used].sort());
    expect([...versions]).toEqual([CLUSTER_SET_VERSION]);
  });

  it('names validator modules after the type', () => {
    expect(validatorModuleOf('OS::Nova::Server')).toBe('os-nova-server');
    expect(validatorModuleOf('OS::Neutron::LBaaS::Pool')).toBe('os-neutron-lbaas-pool');
    expect(validatorModuleOf('AWS::EC2::Instance')).toBe('aws-ec2-instance');
  });
});
