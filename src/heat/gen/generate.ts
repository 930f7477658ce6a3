/**
 * Generate the typed Heat layer from the committed schema snapshot.
 *
 *     npx tsx src/heat/gen/generate.ts [--snapshot FILE] [--out DIR] [--check]     (npm run gen:heat)
 *
 * `--check` writes nothing and fails, listing the files, when the directory differs from a fresh generation.
 *
 * `generate()` is a pure function of the snapshot: CI regenerates and runs `git diff --exit-code`.
 */
import { readFileSync, readdirSync, mkdirSync, writeFileSync, unlinkSync, existsSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { HeatSchemaSnapshot } from './snapshot.js';
import { BANNER, emitModule, hasClass } from './emit-typescript.js';
import { allTypes, deferredSchema, documentSchema, resourcePropertiesSchema } from './emit-json-schema.js';
import { classNameOf, moduleOf } from './naming.js';
import { emitValidators } from './emit-validators.js';

const HERE = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_SNAPSHOT = resolve(HERE, '../snapshot/heat-schema.json');
export const DEFAULT_OUT = resolve(HERE, '../generated');

/** Pure: file name (relative to the output directory) -> content. */
export function generate(snapshot: HeatSchemaSnapshot): Map<string, string> {
  const files = new Map<string, string>();
  const byModule = new Map<string, string[]>();
  for (const name of allTypes(snapshot)) {
    if (!hasClass(snapshot.resourceTypes[name]!)) continue;
    const m = moduleOf(name);
    byModule.set(m, [...(byModule.get(m) ?? []), name]);
  }
  const modules = [...byModule.keys()].sort();
  for (const m of modules) files.set(`${m}.generated.ts`, emitModule(snapshot, byModule.get(m)!));

  files.set('hot-versions.generated.ts', emitVersions(snapshot));
  files.set('resource-catalog.generated.ts', emitCatalog(snapshot));
  files.set('schemas.generated.ts', emitSchemas(snapshot));
  for (const [name, text] of emitValidators(snapshot)) files.set(name, text);
  const index = [
    BANNER(snapshot.heatVersion),
    ...modules.map((m) => `export * from './${m}.generated.js';`),
    "export * from './hot-versions.generated.js';",
    "export * from './resource-catalog.generated.js';",
    '',
  ];
  files.set('index.generated.ts', index.join('\n'));
  return new Map([...files.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function lit(value: unknown): string {
  return JSON.stringify(value);
}

function emitVersions(s: HeatSchemaSnapshot): string {
  const dates = Object.keys(s.templateVersions).sort();
  const rows = dates.map((d) => {
    const v = s.templateVersions[d]!;
    const fns = (status: string) =>
      Object.keys(v.functions)
        .filter((f) => v.functions[f]!.status === status)
        .sort();
    const cfns = Object.keys(v.conditionFunctions)
      .filter((f) => v.conditionFunctions[f]!.status === 'supported')
      .sort();
    return (
      `  ${lit(d)}: {\n` +
      `    aliases: ${lit(v.aliases)},\n` +
      `    sections: ${lit(v.sections)},\n` +
      `    resourceKeys: ${lit(v.resourceKeys)},\n` +
      `    outputKeys: ${lit(v.outputKeys)},\n` +
      `    deletionPolicies: ${lit(v.deletionPolicies)},\n` +
      `    functions: ${lit(fns('supported'))},\n` +
      `    removedFunctions: ${lit(fns('removed'))},\n` +
      `    conditionFunctions: ${lit(cfns)},\n` +
      `    parameterTypes: ${lit(v.parameter.types)},\n` +
      `    parameterKeys: ${lit(v.parameter.keys)},\n` +
      `    parameterConstraints: ${lit(v.parameter.constraintKinds)},\n` +
      `    pseudoParameters: ${lit(v.pseudoParameters)},\n` +
      `  },`
    );
  });
  return [
    BANNER(s.heatVersion),
    '/** What one `heat_template_version` allows, as Heat defines it (`heat.engine.hot.template`). */',
    'export interface HotTemplateVersionInfo {',
    '  /** Release names Heat accepts for the same version (`rocky` for 2018-08-31). */',
    '  readonly aliases: readonly string[];',
    '  /** Top-level sections. */',
    '  readonly sections: readonly string[];',
    '  /** Keys allowed in a resource definition. */',
    '  readonly resourceKeys: readonly string[];',
    '  /** Keys allowed in an output definition. */',
    '  readonly outputKeys: readonly string[];',
    '  readonly deletionPolicies: readonly string[];',
    '  /** Intrinsic functions. */',
    '  readonly functions: readonly string[];',
    '  /** CFN functions Heat knows but rejects in this version. */',
    '  readonly removedFunctions: readonly string[];',
    '  /** Functions allowed in the `conditions` section and `condition` keys (empty before 2016-10-14). */',
    '  readonly conditionFunctions: readonly string[];',
    '  readonly parameterTypes: readonly string[];',
    '  readonly parameterKeys: readonly string[];',
    '  /** Constraint kinds a parameter definition may use. */',
    '  readonly parameterConstraints: readonly string[];',
    '  /** Parameters Heat defines itself (`OS::stack_id`, ...). */',
    '  readonly pseudoParameters: readonly string[];',
    '}',
    '',
    '/** The Heat release the snapshot was taken from. */',
    `export const HEAT_ENGINE_VERSION = ${lit(s.heatVersion)};`,
    '',
    '/** Every HOT version of the engine, oldest first, keyed by its date. */',
    'export const HOT_TEMPLATE_VERSIONS: Readonly<Record<string, HotTemplateVersionInfo>> = {',
    ...rows,
    '};',
    '',
  ].join('\n');
}

function emitCatalog(s: HeatSchemaSnapshot): string {
  const rows = allTypes(s).map((name) => {
    const t = s.resourceTypes[name]!;
    const props = Object.keys(t.properties)
      .sort()
      .filter((p) => t.properties[p]!.implemented);
    const required = props.filter((p) => t.properties[p]!.required);
    const parts = [
      `attributes: ${lit(Object.keys(t.attributes).sort())}`,
      `properties: ${lit(props)}`,
      `required: ${lit(required)}`,
      `status: ${lit(t.supportStatus.status)}`,
    ];
    if (t.supportStatus.message) parts.push(`statusMessage: ${lit(t.supportStatus.message)}`);
    if (t.adminOnly) parts.push('adminOnly: true');
    if (t.dynamicAttributes) parts.push(`dynamicAttributes: ${lit(t.dynamicAttributes)}`);
    if (hasClass(t)) parts.push(`className: ${lit(classNameOf(name))}`);
    return `  ${lit(name)}: { ${parts.join(', ')} },`;
  });
  return [
    BANNER(s.heatVersion),
    '/** What the validator needs to know about a Heat resource type. */',
    'export interface HeatResourceTypeInfo {',
    "  /** Attribute names `get_attr` may use (including Heat's `show`). */",
    '  readonly attributes: readonly string[];',
    '  /** Heat property names (implemented ones). */',
    '  readonly properties: readonly string[];',
    '  readonly required: readonly string[];',
    "  readonly status: 'SUPPORTED' | 'DEPRECATED' | 'UNSUPPORTED' | 'HIDDEN' | 'UNKNOWN';",
    '  readonly statusMessage?: string;',
    "  /** Heat's default policy lets only cloud administrators create it. */",
    '  readonly adminOnly?: boolean;',
    '  /** Attribute name prefixes answered beyond the static list (`resource.`), or `*` for any. */',
    '  readonly dynamicAttributes?: readonly string[];',
    '  /** The generated L1 class (absent for hidden types). */',
    '  readonly className?: string;',
    '}',
    '',
    "/** Every resource type registered in Heat's global environment. */",
    'export const HEAT_RESOURCE_TYPES: Readonly<Record<string, HeatResourceTypeInfo>> = {',
    ...rows,
    '};',
    '',
  ].join('\n');
}

/**
 * JSON Schemas, each stored as JSON text: a string literal costs far less to load than the same object literal,
 * and the validator parses only the schemas it compiles.
 */
function emitSchemas(s: HeatSchemaSnapshot): string {
  const str = (x: unknown): string => JSON.stringify(JSON.stringify(x));
  const dates = Object.keys(s.templateVersions).sort();
  return [
    BANNER(s.heatVersion),
    '/** JSON Schema (as JSON text) of the `properties` map of each resource type. */',
    'export const RESOURCE_PROPERTIES_SCHEMAS: Readonly<Record<string, string>> = {',
    ...allTypes(s).map((n) => `  ${lit(n)}: ${str(resourcePropertiesSchema(n, s.resourceTypes[n]!))},`),
    '};',
    '',
    '/** Per HOT version: the `hot-deferred` schema (null or one intrinsic function of that version). */',
    'export const HOT_DEFERRED_SCHEMAS: Readonly<Record<string, string>> = {',
    ...dates.map((d) => `  ${lit(d)}: ${str(deferredSchema(s.templateVersions[d]!))},`),
    '};',
    '',
    '/** Per HOT version: JSON Schema of the whole document (sections, parameters, resources, outputs, conditions). */',
    'export const HOT_DOCUMENT_SCHEMAS: Readonly<Record<string, string>> = {',
    ...dates.map((d) => `  ${lit(d)}: ${str(documentSchema(d, s.templateVersions[d]!))},`),
    '};',
    '',
  ].join('\n');
}

export function readSnapshot(file: string = DEFAULT_SNAPSHOT): HeatSchemaSnapshot {
  return JSON.parse(readFileSync(file, 'utf8')) as HeatSchemaSnapshot;
}

/** Write the files, removing generated files that are no longer produced. Returns the names written. */
export function writeGenerated(outDir: string, files: Map<string, string>): string[] {
  mkdirSync(outDir, { recursive: true });
  for (const entry of readdirSync(outDir, { recursive: true })) {
    const f = String(entry).split(sep).join('/');
    if (f.includes('.generated.') && !files.has(f)) unlinkSync(join(outDir, f));
  }
  const written: string[] = [];
  for (const [name, text] of files) {
    const path = join(outDir, name);
    mkdirSync(dirname(path), { recursive: true });
    if (existsSync(path) && readFileSync(path, 'utf8') === text) continue;
    writeFileSync(path, text);
    written.push(name);
  }
  return written;
}

/** Files under `outDir` that differ from `files`, are missing, or are generated files no longer produced. */
export function differences(outDir: string, files: Map<string, string>): string[] {
  const out: string[] = [];
  if (existsSync(outDir)) {
    for (const entry of readdirSync(outDir, { recursive: true })) {
      const f = String(entry).split(sep).join('/');
      if (f.includes('.generated.') && !files.has(f)) out.push(`${f} (no longer generated)`);
    }
  }
  for (const [name, text] of files) {
    const path = join(outDir, name);
    if (!existsSync(path)) out.push(`${name} (missing)`);
    else if (readFileSync(path, 'utf8') !== text) out.push(`${name} (differs)`);
  }
  return out.sort();
}

function main(argv: string[]): void {
  const arg = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const started = performance.now();
  const snapshot = readSnapshot(arg('--snapshot') ?? DEFAULT_SNAPSHOT);
  const files = generate(snapshot);
  const outDir = resolve(arg('--out') ?? DEFAULT_OUT);
  if (argv.includes('--check')) {
    const diff = differences(outDir, files);
    if (diff.length > 0) {
      process.stderr.write(
        `gen:heat --check: ${outDir} is not what the generator makes from the snapshot; run \`npm run gen:heat\`:\n${diff.map((d) => `  ${d}`).join('\n')}\n`,
      );
      process.exit(1);
    }
    process.stderr.write(`gen:heat --check: ${files.size} files up to date (${Math.round(performance.now() - started)} ms)\n`);
    return;
  }
  const written = writeGenerated(outDir, files);
  const classes = Object.values(snapshot.resourceTypes).filter(hasClass).length;
  process.stderr.write(
    `gen:heat: Heat ${snapshot.heatVersion}, ${Object.keys(snapshot.resourceTypes).length} resource types ` +
      `(${classes} L1 classes), ${files.size} files, ${written.length} changed, ${Math.round(performance.now() - started)} ms\n`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2));
}
