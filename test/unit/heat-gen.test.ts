import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { DEFAULT_OUT, differences, generate, readSnapshot, writeGenerated } from '../../src/heat/gen/generate.js';
import { deferredSchema, resourcePropertiesSchema } from '../../src/heat/gen/emit-json-schema.js';
import { emitResourceClass } from '../../src/heat/gen/emit-typescript.js';
import { camelCase, classNameOf, moduleOf } from '../../src/heat/gen/naming.js';
import type { HeatSchemaSnapshot, SnapshotResourceType } from '../../src/heat/gen/snapshot.js';

const here = dirname(fileURLToPath(import.meta.url));
const fake = readSnapshot(join(here, '../fixtures/fake-heat-schema/heat-schema.json'));

describe('heat generator on a fake schema', () => {
  const files = generate(fake);

  it('emits one module per service, the index, the version table, the catalog and the schemas', () => {
    expect([...files.keys()]).toEqual([
      'aws.generated.ts',
      'fake.generated.ts',
      'hot-versions.generated.ts',
      'index.generated.ts',
      'resource-catalog.generated.ts',
      'schemas.generated.ts',
      'validators/aws-fake-thing.generated.ts',
      'validators/hot-document-2016-10-14.generated.ts',
      'validators/hot-document-2017-09-01.generated.ts',
      'validators/index.generated.ts',
      'validators/os-fake-flavor.generated.ts',
      'validators/os-fake-group.generated.ts',
      'validators/os-fake-hidden.generated.ts',
      'validators/os-fake-server.generated.ts',
    ]);
  });

  // ajv's standalone output is recorded for the index and one small type; the rest is ajv's code generator at
  // work, checked by behaviour (heat-validators.test.ts compares every judgement with a runtime compile)
  const recorded = [...files].filter(
    ([name]) =>
      !name.startsWith('validators/') || name === 'validators/index.generated.ts' || name === 'validators/os-fake-flavor.generated.ts',
  );
  for (const [name, text] of recorded) {
    it(`emits ${name} as recorded`, async () => {
      await expect(text).toMatchFileSnapshot(`./__snapshots__/heat-gen/${name}.snap`);
    });
  }

  it('is deterministic', () => {
    expect(generate(fake)).toEqual(files);
    // key order of the snapshot does not matter (only the data does)
    const reverseKeys = (x: unknown): unknown =>
      Array.isArray(x)
        ? x.map(reverseKeys)
        : x && typeof x === 'object'
          ? Object.fromEntries(
              Object.entries(x)
                .reverse()
                .map(([k, v]) => [k, reverseKeys(v)]),
            )
          : x;
    const reordered = reverseKeys(fake) as HeatSchemaSnapshot;
    expect(generate(reordered)).toEqual(files);
  });

  it('puts the banner on every file', () => {
    for (const text of files.values()) {
      expect(text.startsWith('// GENERATED FILE - DO NOT EDIT.')).toBe(true);
      expect(text).toContain('npm run gen:heat');
    }
  });

  it('skips hidden types, flags admin-only ones and escapes comment closers', () => {
    const mod = files.get('fake.generated.ts')!;
    expect(mod).not.toContain('class OsFakeHidden');
    expect(mod).toContain('class OsFakeServer extends HeatResource');
    expect(mod).toMatch(/Admin only[^\n]*rule:project_admin/);
    expect(mod).toContain('comment closer *\\/ must be escaped');
    expect(mod).toContain('readonly ram: Input<number>;');
    expect(mod).toContain('readonly isPublic?: Input<boolean>;');
    // nested list of maps becomes a namespaced interface, update semantics are data
    expect(mod).toContain('export namespace OsFakeServer {');
    expect(mod).toContain('export interface NetworksProperty {');
    expect(mod).toMatch(/flavor: \{ heat: "flavor", type: 'string', required: true, update: 'update' \}/);
    // the hidden type is still known to the validator
    expect(files.get('resource-catalog.generated.ts')).toContain('"OS::Fake::Hidden"');
  });

  it('emits validators that import only our runtime (ajv standalone code writes require() even as ESM)', () => {
    for (const [name, text] of files) {
      if (!name.startsWith('validators/') || name === 'validators/index.generated.ts') continue;
      expect(text, name).not.toMatch(/\brequire\(/);
      expect(text, name).toMatch(/^export const validate = validate\d+;/m);
      const imports = text.match(/^import .*$/gm) ?? [];
      for (const line of imports) expect(line, name).toMatch(/^import \{ [A-Za-z0-9, ]+ \} from '\.\.\/\.\.\/validate-runtime\.js';$/);
    }
    expect(files.get('validators/os-fake-flavor.generated.ts')).toContain('isHotFunction');
  });

  it('fails loudly when two Heat names map to one TypeScript name', () => {
    const server = fake.resourceTypes['OS::Fake::Server']!;
    const broken: SnapshotResourceType = { ...server, properties: { ...server.properties, Flavor: server.properties['flavor']! } };
    expect(() => emitResourceClass('OS::Fake::Server', broken)).toThrow(/`Flavor` and `flavor` both map to TypeScript name `flavor`/);
  });

  it('emits property schemas that follow Heat coercions and accept the version functions', () => {
    const ajv = new Ajv({ allowUnionTypes: true, strict: false });
    ajv.addSchema(deferredSchema(fake.templateVersions['2016-10-14']!));
    const v = ajv.compile(resourcePropertiesSchema('OS::Fake::Flavor', fake.resourceTypes['OS::Fake::Flavor']!));
    expect(v({ ram: 512, vcpus: 1 })).toBe(true);
    expect(v({ ram: '512', vcpus: { get_param: 'cpus' } })).toBe(true);
    expect(v({ ram: 0, vcpus: 1 })).toBe(false); // range min 1
    expect(v({ ram: 'lots', vcpus: 1 })).toBe(false);
    expect(v({ vcpus: 1 })).toBe(false); // ram required
    expect(v({ ram: 1, vcpus: 1, is_public: 'TRUE' })).toBe(true);
    expect(v({ ram: 1, vcpus: 1, is_public: 'yes' })).toBe(false);
    expect(v({ ram: 1, vcpus: 1, disk: 1 })).toBe(false); // not a property of the fake
    expect(v({ ram: { list_concat: [] }, vcpus: 1 })).toBe(false); // list_concat is newer than 2016-10-14
  });
});

describe('naming', () => {
  it('derives class, module and member names from Heat names', () => {
    expect(classNameOf('OS::Nova::Server')).toBe('OsNovaServer');
    expect(classNameOf('AWS::EC2::Instance')).toBe('AwsEc2Instance');
    expect(classNameOf('OS::Neutron::LBaaS::Pool')).toBe('OsNeutronLBaaSPool');
    expect(moduleOf('OS::Octavia::LoadBalancer')).toBe('octavia');
    expect(moduleOf('AWS::EC2::Instance')).toBe('aws');
    expect(camelCase('admin_state_up')).toBe('adminStateUp');
    expect(camelCase('SSLCertificateId')).toBe('sslCertificateId');
    expect(camelCase('X-Container-Read')).toBe('xContainerRead');
  });
});

describe('committed generated files', () => {
  it('are exactly what the generator makes from the committed snapshot (run `npm run gen:heat`)', () => {
    const files = generate(readSnapshot());
    expect(differences(DEFAULT_OUT, files), 'src/heat/generated differs from a fresh generation; run `npm run gen:heat`').toEqual([]);
  }, 60_000); // compiles every schema with ajv: a few seconds on 2 busy cores

  it('differences() names changed, missing and stale files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hotk8s-gen-'));
    mkdirSync(join(dir, 'validators'));
    writeFileSync(join(dir, 'a.generated.ts'), 'old');
    writeFileSync(join(dir, 'validators', 'gone.generated.ts'), 'x');
    writeFileSync(join(dir, 'notes.md'), 'not generated');
    const files = new Map([
      ['a.generated.ts', 'new'],
      ['validators/b.generated.ts', 'b'],
    ]);
    expect(differences(dir, files)).toEqual([
      'a.generated.ts (differs)',
      'validators/b.generated.ts (missing)',
      'validators/gone.generated.ts (no longer generated)',
    ]);
    writeGenerated(dir, files);
    expect(differences(dir, files)).toEqual([]);
    expect(readFileSync(join(dir, 'notes.md'), 'utf8')).toBe('not generated');
  });
});
