/**
 * Validate HOT documents: ajv against schemas generated from Heat's own resource schema, plus the checks a
 * JSON Schema cannot express (references, dependency cycles, function availability per template version,
 * never-true conditions, nested template interfaces, duplicate YAML keys).
 *
 * Heat itself misses several of these: it takes an unknown or too-new function in an output as a plain map,
 * compares a boolean with a list without complaint, and its YAML loader keeps the last of two duplicate keys.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { dirname, join, normalize, relative, resolve as resolvePath } from 'node:path';
import { HOT_TEMPLATE_VERSIONS, type HotTemplateVersionInfo } from './generated/hot-versions.generated.js';
import { HEAT_RESOURCE_TYPES } from './generated/resource-catalog.generated.js';
import {
  findings,
  hasDocumentValidator,
  hasPropertiesSchema,
  hasPropertiesValidator,
  loadValidators,
  validateDocumentSchema,
  validatePropertiesSchema,
  type SchemaFinding,
} from './validate-schema.js';
import { describeJson, didYouMean, listOf } from './validate-text.js';
import { parseHotYaml } from './validate-yaml.js';

export interface TemplateIssue {
  /** The file the issue is in, when known. */
  readonly file?: string;
  /** Construct path when `describe` knows the element, otherwise the place in the document (`resources.server`). */
  readonly location: string;
  /** The place in the document, always: `resources.server.properties.networks[0].port`. */
  readonly path: string;
  /** The resource (or output, parameter, condition) the issue belongs to. */
  readonly logicalId?: string;
  /** Stable rule id, e.g. `required-property`, `unknown-attribute`, `dependency-cycle`. */
  readonly rule: string;
  /** Warnings (deprecated or admin-only types, ...) do not make a template invalid. */
  readonly severity: 'error' | 'warning';
  /** A sentence a person can act on. */
  readonly message: string;
}

export interface ValidateOptions {
  /** File name used in issues, and to resolve nested template types given by relative name. */
  readonly file?: string;
  /** Other documents by file name: nested templates (template resources, group members) and environments. */
  readonly nested?: ReadonlyMap<string, unknown>;
  /** Maps a resource's logical id to its construct path, for messages. */
  readonly describe?: (logicalId: string) => string | undefined;
  /** Parameter names given by an environment's `parameter_defaults` (they satisfy nested templates' parameters). */
  readonly parameterDefaults?: ReadonlySet<string>;
}

/** Shared across the documents of one validation run: nested documents are validated once. */
interface RunState {
  readonly results: Map<string, TemplateIssue[]>;
  readonly active: Set<string>;
  /** Validators the run needed but found not loaded (the caller loads them and runs again). */
  readonly needs: Needs;
}
/** HOT versions and resource types whose generated validators a run uses. */
interface Needs {
  readonly versions: Set<string>;
  readonly types: Set<string>;
}
const RUN = Symbol('hotk8s.validate.run');
const NEEDS = Symbol('hotk8s.validate.needs');
type InternalOptions = ValidateOptions & { [RUN]?: RunState; [NEEDS]?: Needs };

/** `file: location: message` */
export function formatIssue(issue: TemplateIssue): string {
  return `${issue.file ? `${issue.file}: ` : ''}${issue.location}: ${issue.message}`;
}

type Seg = string | number;
type Json = Record<string, unknown>;

/** The property of a group type that holds its member definition. */
function memberKey(type: string): string | undefined {
  return type === 'OS::Heat::ResourceGroup' ? 'resource_def' : type === 'OS::Heat::AutoScalingGroup' ? 'resource' : undefined;
}

function isMap(x: unknown): x is Json {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && !(x instanceof Date);
}

function fmtPath(segs: readonly Seg[]): string {
  let out = '';
  for (const s of segs) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(s)) out += out === '' ? s : `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

/** Dates: the first version that has each function (regular and condition), from Heat's own table. */
const VERSION_DATES = Object.keys(HOT_TEMPLATE_VERSIONS).sort();
const FUNCTION_SINCE = new Map<string, string>();
const CONDITION_FUNCTION_SINCE = new Map<string, string>();
const REMOVED_IN = new Map<string, string>();
for (const d of VERSION_DATES) {
  const v = HOT_TEMPLATE_VERSIONS[d]!;
  for (const f of v.functions) if (!FUNCTION_SINCE.has(f)) FUNCTION_SINCE.set(f, d);
  for (const f of v.conditionFunctions) if (!CONDITION_FUNCTION_SINCE.has(f)) CONDITION_FUNCTION_SINCE.set(f, d);
  for (const f of v.removedFunctions) if (!REMOVED_IN.has(f)) REMOVED_IN.set(f, d);
}
const ALL_FUNCTIONS = new Set<string>([...FUNCTION_SINCE.keys(), ...CONDITION_FUNCTION_SINCE.keys(), ...REMOVED_IN.keys()]);

const ALIASES = new Map<string, string>();
for (const d of VERSION_DATES) for (const a of HOT_TEMPLATE_VERSIONS[d]!.aliases) ALIASES.set(a, d);

const CFN_REPLACEMENTS: Record<string, string> = {
  'Fn::Join': 'list_join',
  'Fn::Replace': 'str_replace',
  'Fn::Split': 'str_split',
  'Fn::Select': 'get_attr or yaql',
  Ref: 'get_resource or get_param',
  'Fn::Base64': 'a plain string',
  'Fn::GetAZs': 'a parameter',
  'Fn::ResourceFacade': 'resource_facade',
  'Fn::MemberListToMap': 'a map',
};

const TEMPLATE_FILE = /(\.ya?ml|\.template|\.hot|\.json)$/i;

/** Resolve a declared version (a date, a release alias, or a Date from a YAML 1.1 loader) to Heat's date key. */
export function resolveHotVersion(raw: unknown): string | undefined {
  const s = raw instanceof Date ? raw.toISOString().slice(0, 10) : typeof raw === 'string' ? raw.trim() : undefined;
  if (s === undefined) return undefined;
  // Heat parses the version with dates as lowercase strings: "Rocky" is not "rocky"
  if (HOT_TEMPLATE_VERSIONS[s]) return s;
  return ALIASES.get(s);
}

interface WalkCtx {
  readonly logicalId?: string;
  /** Section the value sits in. */
  readonly section: 'resources' | 'outputs' | 'conditions';
  readonly inCondition: boolean;
  /** Dependencies of the current resource (collected for the cycle check). */
  readonly deps?: Map<string, string>;
}

class DocumentChecker {
  readonly issues: TemplateIssue[] = [];
  private version!: string;
  private info!: HotTemplateVersionInfo;
  private parameters: Json = {};
  private resources: Json = {};
  private conditions: Json = {};
  private readonly edges = new Map<string, Map<string, string>>();

  private readonly run: RunState;

  constructor(
    private readonly doc: unknown,
    private readonly opts: InternalOptions,
  ) {
    this.run = opts[RUN] ?? { results: new Map(), active: new Set(), needs: opts[NEEDS] ?? { versions: new Set(), types: new Set() } };
  }

  private report(rule: string, segs: readonly Seg[], message: string, logicalId?: string, severity: 'error' | 'warning' = 'error'): void {
    const path = fmtPath(segs);
    const described = logicalId !== undefined && segs[0] === 'resources' ? this.opts.describe?.(logicalId) : undefined;
    // without a construct path, point at the element (resources.server); the full path stays in `path`
    const location = described ?? (logicalId !== undefined ? fmtPath(segs.slice(0, 2)) : path || '(document)');
    this.issues.push({
      ...(this.opts.file !== undefined ? { file: this.opts.file } : {}),
      location,
      path: path || '(document)',
      ...(logicalId !== undefined ? { logicalId } : {}),
      rule,
      severity,
      message,
    });
  }

  check(): TemplateIssue[] {
    const doc = this.doc;
    if (!isMap(doc)) {
      this.report('document-not-map', [], `a HOT document must be a map of sections; got ${describeJson(doc)}`);
      return this.issues;
    }
    if (!('heat_template_version' in doc)) {
      const cfn = 'AWSTemplateFormatVersion' in doc || 'HeatTemplateFormatVersion' in doc;
      this.report(
        'version-missing',
        [],
        cfn
          ? 'this is a CloudFormation-format template; hotk8s validates HOT documents (declare `heat_template_version`)'
          : `the document has no \`heat_template_version\`; declare one of ${listOf(VERSION_DATES)}`,
      );
      return this.issues;
    }
    const version = resolveHotVersion(doc['heat_template_version']);
    if (version === undefined) {
      this.report(
        'version-unknown',
        ['heat_template_version'],
        `\`heat_template_version\` ${describeJson(doc['heat_template_version'])} is not a version Heat knows; use one of ${listOf(VERSION_DATES)} ` +
          `or a release name (${listOf([...ALIASES.keys()].sort())})`,
      );
      return this.issues;
    }
    this.version = version;
    this.info = HOT_TEMPLATE_VERSIONS[version]!;

    const unknownSections = new Set<string>();
    for (const key of Object.keys(doc)) {
      if (!this.info.sections.includes(key)) {
        unknownSections.add(key);
        const later = key === 'conditions' ? ' (the `conditions` section needs 2016-10-14 or later)' : didYouMean(key, this.info.sections);
        this.report(
          'unknown-section',
          [key],
          `\`${key}\` is not a section of a HOT ${version} document${later}; allowed sections: ${listOf([...this.info.sections])}`,
        );
      }
    }

    this.parameters = isMap(doc['parameters']) ? doc['parameters'] : {};
    this.resources = isMap(doc['resources']) ? doc['resources'] : {};
    this.conditions = isMap(doc['conditions']) ? doc['conditions'] : {};

    this.documentSchema(doc, unknownSections);
    this.parameterGroups(doc);
    for (const [name, def] of Object.entries(this.conditions)) {
      this.walk(def, ['conditions', name], { section: 'conditions', inCondition: true, logicalId: name });
      this.checkConditionExpr(def, ['conditions', name], name);
    }
    for (const [id, def] of Object.entries(this.resources)) this.resource(id, def);
    const outputs = isMap(doc['outputs']) ? doc['outputs'] : {};
    for (const [name, def] of Object.entries(outputs)) {
      if (!isMap(def)) continue;
      if ('value' in def) this.walk(def['value'], ['outputs', name, 'value'], { section: 'outputs', inCondition: false, logicalId: name });
      if ('condition' in def) this.conditionRef(def['condition'], ['outputs', name, 'condition'], name);
    }
    this.cycles();
    return this.issues;
  }

  private documentSchema(doc: Json, unknownSections: ReadonlySet<string>): void {
    if (!hasDocumentValidator(this.version)) {
      this.run.needs.versions.add(this.version);
      return;
    }
    const errors = validateDocumentSchema(this.version, doc);
    if (!errors) return;
    for (const f of findings(errors, doc)) {
      if (f.path.length === 0 && f.kind === 'unknown' && f.name && unknownSections.has(f.name)) continue;
      if (f.kind === 'type' && isMap(f.value) && Object.keys(f.value).length === 1 && ALL_FUNCTIONS.has(Object.keys(f.value)[0]!)) continue; // the version check words it better
      const [section, rawName, key] = f.path;
      const name = rawName === undefined ? undefined : String(rawName);
      const segs = [...f.path, ...(f.kind === 'unknown' && f.name ? [f.name] : [])];
      if (section === 'resources' && name !== undefined) {
        if (f.kind === 'unknown' && f.path.length === 2) {
          this.report(
            'resource-key-unknown',
            segs,
            `resource \`${name}\` has the key \`${f.name}\`, which a HOT ${this.version} resource does not allow${didYouMean(f.name!, this.info.resourceKeys)}; allowed keys: ${listOf([...this.info.resourceKeys])}`,
            name,
          );
        } else if (f.kind === 'required' && f.path.length === 2) {
          this.report('resource-type-missing', segs, `resource \`${name}\` has no \`type\``, name);
        } else {
          this.report('resource-definition', segs, `resource \`${name}\`: \`${fmtPath(f.path.slice(2)) || name}\` ${f.detail}`, name);
        }
      } else if (section === 'outputs' && name !== undefined) {
        if (f.kind === 'required')
          this.report('output-value-missing', segs, `output \`${name}\` has no \`value\`; every HOT output needs one`, name);
        else if (f.kind === 'unknown' && f.path.length === 2)
          this.report(
            'output-key-unknown',
            segs,
            `output \`${name}\` has the key \`${f.name}\`, which HOT ${this.version} does not allow; allowed keys: ${listOf([...this.info.outputKeys])}`,
            name,
          );
        else this.report('output-definition', segs, `output \`${name}\`: \`${fmtPath(f.path.slice(2)) || name}\` ${f.detail}`, name);
      } else if (section === 'parameters' && name !== undefined) {
        if (f.kind === 'unknown' && f.path.length === 2)
          this.report(
            'parameter-key-unknown',
            segs,
            `parameter \`${name}\` has the key \`${f.name}\`, which HOT ${this.version} does not allow${didYouMean(f.name!, this.info.parameterKeys)}; allowed keys: ${listOf([...this.info.parameterKeys])}`,
            name,
          );
        else if (f.kind === 'required' && f.path.length === 2)
          this.report(
            'parameter-type-missing',
            segs,
            `parameter \`${name}\` has no \`type\`; use one of ${listOf([...this.info.parameterTypes])}`,
            name,
          );
        else if (key === 'type')
          this.report(
            'parameter-type-unknown',
            segs,
            `parameter \`${name}\` has type ${describeJson((doc['parameters'] as Json)[name] && ((doc['parameters'] as Json)[name] as Json)['type'])}; use one of ${listOf([...this.info.parameterTypes])}`,
            name,
          );
        else if (key === 'constraints' && f.kind === 'unknown')
          this.report(
            'parameter-constraint-unknown',
            segs,
            `parameter \`${name}\`: \`${f.name}\` is not a constraint HOT ${this.version} offers; use one of ${listOf([...this.info.parameterConstraints])}`,
            name,
          );
        else this.report('parameter-definition', segs, `parameter \`${name}\`: \`${fmtPath(f.path.slice(2)) || name}\` ${f.detail}`, name);
      } else {
        this.report('document-schema', segs, `\`${fmtPath(f.path) || 'document'}\` ${f.detail}`);
      }
    }
  }

  private parameterGroups(doc: Json): void {
    const groups = doc['parameter_groups'];
    if (!Array.isArray(groups)) return;
    groups.forEach((g, i) => {
      if (!isMap(g) || !Array.isArray(g['parameters'])) return;
      (g['parameters'] as unknown[]).forEach((p, j) => {
        if (typeof p === 'string' && !(p in this.parameters)) {
          this.report(
            'parameter-group-unknown',
            ['parameter_groups', i, 'parameters', j],
            `parameter group ${g['label'] ? `\`${String(g['label'])}\`` : i} lists \`${p}\`, which is not a declared parameter${didYouMean(p, Object.keys(this.parameters))}`,
          );
        }
      });
    });
  }

  private resource(id: string, def: unknown): void {
    if (!isMap(def)) return; // reported by the document schema
    const deps = new Map<string, string>();
    this.edges.set(id, deps);
    const base: Seg[] = ['resources', id];
    const ctx: WalkCtx = { logicalId: id, section: 'resources', inCondition: false, deps };
    for (const key of ['properties', 'metadata', 'update_policy', 'deletion_policy', 'external_id']) {
      if (key in def) this.walk(def[key], [...base, key], key === 'properties' || key === 'metadata' ? ctx : { ...ctx, deps: undefined });
    }
    if ('depends_on' in def) {
      const d = def['depends_on'];
      const list = typeof d === 'string' ? [d] : Array.isArray(d) ? d : [];
      list.forEach((target, i) => {
        const segs: Seg[] = typeof d === 'string' ? [...base, 'depends_on'] : [...base, 'depends_on', i];
        if (typeof target !== 'string') return;
        if (!(target in this.resources)) {
          this.report(
            'missing-resource',
            segs,
            `resource \`${id}\` depends on \`${target}\`, which is not a resource of this template${didYouMean(target, Object.keys(this.resources))}`,
            id,
          );
        } else {
          deps.set(target, deps.get(target) ?? 'depends_on');
        }
      });
    }
    if ('condition' in def) this.conditionRef(def['condition'], [...base, 'condition'], id);
    if (typeof def['type'] === 'string') this.resourceType(id, def['type'], def['properties'], base);
  }

  /** Check a resource (or a group member definition) of `type` with `properties` at `base`. */
  private resourceType(id: string, type: string, properties: unknown, base: readonly Seg[], member = ''): void {
    const info = HEAT_RESOURCE_TYPES[type];
    const propsSegs = [...base, 'properties'];
    if (info) {
      if (info.status === 'HIDDEN' || info.status === 'DEPRECATED') {
        this.report(
          info.status === 'HIDDEN' ? 'resource-type-hidden' : 'resource-type-deprecated',
          [...base, 'type'],
          `${type} is ${info.status.toLowerCase()} in Heat ${'19'}${info.statusMessage ? `: ${info.statusMessage}` : ''}`,
          id,
          'warning',
        );
      }
      if (info.adminOnly) {
        this.report(
          'resource-type-admin-only',
          [...base, 'type'],
          `${type} can only be created by cloud administrators under Heat's default policy`,
          id,
          'warning',
        );
      }
      if (properties !== undefined && properties !== null && !isMap(properties)) return; // a function or wrong type: schema reports it
      if (!hasPropertiesSchema(type)) return;
      const props = properties ?? {};
      if (hasPropertiesValidator(type)) {
        const errors = validatePropertiesSchema(this.version, type, props);
        if (errors) {
          for (const f of findings(errors, props)) this.propertyFinding(id, type, f, propsSegs, member);
        }
      } else this.run.needs.types.add(type);
      this.groupMembers(id, type, props as Json, propsSegs);
      return;
    }
    if (TEMPLATE_FILE.test(type) || type.includes('/')) {
      this.nestedTemplate(id, type, properties, base, member);
      return;
    }
    this.report(
      'resource-type-unknown',
      [...base, 'type'],
      `\`${type}\` is not a Heat ${'19'} resource type${didYouMean(type, Object.keys(HEAT_RESOURCE_TYPES))}; unless an environment's resource_registry maps it, Heat rejects the template`,
      id,
      'warning',
    );
  }

  private propertyFinding(id: string, type: string, f: SchemaFinding, propsSegs: readonly Seg[], member: string): void {
    if (f.kind === 'type' && isMap(f.value) && Object.keys(f.value).length === 1 && ALL_FUNCTIONS.has(Object.keys(f.value)[0]!)) {
      return; // a function this version lacks: reported once, by the function version check
    }
    const inner = fmtPath(f.path);
    type = `${type}${member}`;
    const segs = [...propsSegs, ...f.path, ...(f.name && f.kind !== 'value' && f.kind !== 'type' ? [f.name] : [])];
    switch (f.kind) {
      case 'required': {
        const where = inner ? `${inner}.${f.name}` : f.name;
        this.report('required-property', segs, `property \`${where}\` is required by ${type}`, id);
        break;
      }
      case 'unknown': {
        const candidates = f.candidates ?? [];
        this.report(
          'unknown-property',
          segs,
          inner
            ? `\`${f.name}\` is not a key of ${type} property \`${inner}\`${didYouMean(f.name!, candidates)}; allowed keys: ${listOf(candidates)}`
            : `\`${f.name}\` is not a property of ${type}${didYouMean(f.name!, candidates)}`,
          id,
        );
        break;
      }
      case 'type':
        this.report('property-type', segs, `property \`${inner}\` of ${type} ${f.detail}`, id);
        break;
      default:
        this.report('property-value', segs, `property \`${inner}\` of ${type} ${f.detail}`, id);
    }
  }

  /** ResourceGroup / AutoScalingGroup members: check the member definition like a resource of its own. */
  private groupMembers(id: string, type: string, props: Json, propsSegs: readonly Seg[]): void {
    const key = memberKey(type);
    if (!key) return;
    const member = props[key];
    if (!isMap(member) || typeof member['type'] !== 'string') return;
    this.resourceType(id, member['type'], member['properties'], [...propsSegs, key], ` (the member definition \`${key}\` of ${type})`);
  }

  private nestedDocument(type: string): { name: string; doc: unknown } | undefined {
    const nested = this.opts.nested;
    if (!nested) return undefined;
    const candidates = [type, normalize(type)];
    if (this.opts.file) candidates.push(normalize(join(dirname(this.opts.file), type)));
    for (const c of candidates) if (nested.has(c)) return { name: c, doc: nested.get(c) };
    return undefined;
  }

  private nestedTemplate(id: string, type: string, properties: unknown, base: readonly Seg[], member = ''): void {
    if (/^[a-z]+:\/\//i.test(type)) return; // fetched by Heat at create time
    const found = this.nestedDocument(type);
    if (!found) {
      if (this.opts.nested) {
        this.report(
          'nested-template-missing',
          [...base, 'type'],
          `resource \`${id}\` uses the nested template \`${type}\`, which is not among the files being validated; Heat cannot create it`,
          id,
        );
      }
      return;
    }
    const nestedErrors = this.nestedIssues(found.name, found.doc).filter((i) => i.severity === 'error');
    if (nestedErrors.length > 0) {
      const first = nestedErrors[0]!;
      this.report(
        'nested-template',
        [...base, 'type'],
        `the nested template \`${type}\`${member} has ${nestedErrors.length} error${nestedErrors.length > 1 ? 's' : ''}, so Heat fails to create it; first: ${first.path}: ${first.message}`,
        id,
      );
    }
    if (!isMap(found.doc)) return;
    const params = isMap(found.doc['parameters']) ? found.doc['parameters'] : {};
    if (properties !== undefined && properties !== null && !isMap(properties)) return;
    const props = (properties ?? {}) as Json;
    for (const p of Object.keys(props)) {
      if (!(p in params)) {
        this.report(
          'nested-unknown-property',
          [...base, 'properties', p],
          `property \`${p}\` is not a parameter of the nested template \`${type}\`${member}${didYouMean(p, Object.keys(params))}; its parameters are ${listOf(Object.keys(params).sort())}`,
          id,
        );
      }
    }
    for (const [p, def] of Object.entries(params)) {
      if (p in props || (isMap(def) && 'default' in def) || this.opts.parameterDefaults?.has(p)) continue;
      this.report(
        'nested-required-property',
        [...base, 'properties'],
        `property \`${p}\` is required by the nested template \`${type}\`${member} (its parameter has no default)`,
        id,
      );
    }
  }

  /** Validate a nested document once per run (a template that nests itself is not followed twice). */
  private nestedIssues(name: string, doc: unknown): TemplateIssue[] {
    const done = this.run.results.get(name);
    if (done) return done;
    if (this.run.active.has(name)) return [];
    this.run.active.add(name);
    const opts: InternalOptions = { ...this.opts, file: name, [RUN]: this.run };
    delete (opts as { describe?: unknown }).describe; // logical ids of another document
    const issues = new DocumentChecker(doc, opts).check();
    this.run.active.delete(name);
    this.run.results.set(name, issues);
    return issues;
  }

  /** A `condition:` key: a condition name, a boolean, or (2017-02-24 and later) an inline expression. */
  private conditionRef(value: unknown, segs: readonly Seg[], owner: string): void {
    if (typeof value === 'string') {
      if (!(value in this.conditions)) {
        this.report(
          'missing-condition',
          segs,
          `\`${owner}\` uses the condition \`${value}\`, which is not defined in \`conditions\`${didYouMean(value, Object.keys(this.conditions))}`,
          segs[0] === 'resources' ? owner : undefined,
        );
      }
      return;
    }
    if (isMap(value)) {
      this.walk(value, segs, { section: 'conditions', inCondition: true, logicalId: owner });
      this.checkConditionExpr(value, segs, owner);
    }
  }

  /** Kind of a compared value: what Heat's `equals` sees after resolution, when it is knowable statically. */
  private kindOf(value: unknown): { kind: string; what: string } | undefined {
    if (typeof value === 'boolean') return { kind: 'boolean', what: `the boolean ${String(value)}` };
    if (Array.isArray(value)) return { kind: 'list', what: `the list ${JSON.stringify(value)}` };
    if (typeof value === 'string') return { kind: 'string', what: `the string ${JSON.stringify(value)}` };
    if (typeof value === 'number') return { kind: 'number', what: `the number ${value}` };
    if (isMap(value)) {
      const keys = Object.keys(value);
      if (keys.length === 1 && keys[0] === 'get_param') {
        const arg = value['get_param'];
        const name =
          typeof arg === 'string' ? arg : Array.isArray(arg) && arg.length === 1 && typeof arg[0] === 'string' ? arg[0] : undefined;
        const def = name !== undefined ? this.parameters[name] : undefined;
        if (name !== undefined && isMap(def)) {
          const t = def['type'];
          const kind =
            t === 'boolean'
              ? 'boolean'
              : t === 'comma_delimited_list'
                ? 'list'
                : t === 'json'
                  ? 'map'
                  : t === 'number'
                    ? 'number'
                    : t === 'string'
                      ? 'string'
                      : undefined;
          if (kind) return { kind, what: `${kind === 'list' ? 'comma_delimited_list' : String(t)} parameter \`${name}\`` };
        }
        return undefined;
      }
      if (keys.length === 1 && ALL_FUNCTIONS.has(keys[0]!)) return undefined;
      return { kind: 'map', what: `the map ${JSON.stringify(value)}` };
    }
    return undefined;
  }

  /** Find `equals` comparisons that can never be true (a boolean against a list, map or string). */
  private checkConditionExpr(expr: unknown, segs: readonly Seg[], owner: string): void {
    if (Array.isArray(expr)) {
      expr.forEach((e, i) => this.checkConditionExpr(e, [...segs, i], owner));
      return;
    }
    if (!isMap(expr)) return;
    const keys = Object.keys(expr);
    if (keys.length === 1 && keys[0] === 'equals' && Array.isArray(expr['equals']) && expr['equals'].length === 2) {
      const [a, b] = (expr['equals'] as unknown[]).map((x) => this.kindOf(x));
      if (a && b) {
        const [bool, other] = a.kind === 'boolean' ? [a, b] : [b, a];
        if (bool.kind === 'boolean' && (other.kind === 'list' || other.kind === 'map' || other.kind === 'string')) {
          this.report(
            'condition-type',
            [...segs, 'equals'],
            `condition \`${owner}\` compares ${bool.what} with ${other.what}; Heat resolves a boolean parameter to true or false, which never equals a ${other.kind}, so this comparison is always false; compare with true or false instead`,
            segs[0] === 'resources' ? owner : undefined,
          );
        }
      }
    }
    for (const [k, v] of Object.entries(expr)) {
      if (k === 'equals') continue;
      this.checkConditionExpr(v, [...segs, k], owner);
    }
  }

  /** Walk a value: check every intrinsic function (version, references) and collect dependencies. */
  private walk(value: unknown, segs: readonly Seg[], ctx: WalkCtx): void {
    this.walkAt(value, [...segs], ctx);
  }

  /** `walk` over a path that grows and shrinks in place (copied only where a function is found). */
  private walkAt(value: unknown, path: Seg[], ctx: WalkCtx): void {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        path.push(i);
        this.walkAt(value[i], path, ctx);
        path.pop();
      }
      return;
    }
    if (!isMap(value)) return;
    const keys = Object.keys(value);
    if (keys.length === 1 && ALL_FUNCTIONS.has(keys[0]!)) {
      const fn = keys[0]!;
      const args = value[fn];
      const fnSegs = [...path, fn];
      this.functionVersion(fn, fnSegs, ctx);
      this.functionRefs(fn, args, fnSegs, ctx);
      if (fn === 'if' && Array.isArray(args) && args.length >= 1) {
        this.conditionRef(args[0], [...fnSegs, 0], ctx.logicalId ?? '');
        for (let i = 1; i < args.length; i++) {
          fnSegs.push(i);
          this.walkAt(args[i], fnSegs, ctx);
          fnSegs.pop();
        }
        return;
      }
      this.walkAt(args, fnSegs, ctx);
      return;
    }
    for (const k of keys) {
      path.push(k);
      this.walkAt(value[k], path, ctx);
      path.pop();
    }
  }

  private functionVersion(fn: string, segs: readonly Seg[], ctx: WalkCtx): void {
    const id = ctx.section === 'resources' ? ctx.logicalId : undefined;
    if (ctx.inCondition) {
      if (this.info.conditionFunctions.includes(fn)) return;
      const since = CONDITION_FUNCTION_SINCE.get(fn);
      if (since && since > this.version) {
        this.report(
          'function-version',
          segs,
          `\`${fn}\` may be used in conditions from heat_template_version ${since}; this document declares ${this.version}; raise the version or rewrite the condition`,
          id,
        );
      } else if (this.info.conditionFunctions.length === 0) {
        // before 2016-10-14 there are no conditions; the section itself is reported
      } else {
        this.report(
          'condition-function-invalid',
          segs,
          `\`${fn}\` cannot be used in a condition; conditions may use ${listOf([...this.info.conditionFunctions])}`,
          id,
        );
      }
      return;
    }
    if (this.info.functions.includes(fn)) return;
    if (this.info.removedFunctions.includes(fn) || (REMOVED_IN.has(fn) && !FUNCTION_SINCE.has(fn))) {
      const use = CFN_REPLACEMENTS[fn];
      this.report(
        'function-removed',
        segs,
        `\`${fn}\` is a CloudFormation function that HOT ${this.version} does not support${use ? `; use ${use}` : ''}`,
        id,
      );
      return;
    }
    const since = FUNCTION_SINCE.get(fn);
    if (since && since > this.version) {
      const consequence =
        ctx.section === 'outputs'
          ? 'Heat would not run it but silently return the map itself as the output value'
          : 'Heat rejects the template or passes the map through unevaluated';
      this.report(
        'function-version',
        segs,
        `\`${fn}\` needs heat_template_version ${since} or later; this document declares ${this.version}, so ${consequence}; raise heat_template_version to ${since} or later`,
        id,
      );
    } else if (CONDITION_FUNCTION_SINCE.has(fn) && !FUNCTION_SINCE.has(fn)) {
      // equals/and/or/not outside conditions: Heat takes them as plain maps
      this.report(
        'condition-function-outside-condition',
        segs,
        `\`${fn}\` is a condition function; outside \`conditions\` and \`if\` Heat takes it as a plain map`,
        id,
        'warning',
      );
    }
  }

  private functionRefs(fn: string, args: unknown, segs: readonly Seg[], ctx: WalkCtx): void {
    const id = ctx.section === 'resources' ? ctx.logicalId : undefined;
    if (fn === 'get_resource') {
      if (typeof args !== 'string') return;
      if (!(args in this.resources)) {
        this.report(
          'missing-resource',
          segs,
          `\`get_resource: ${args}\` refers to a resource this template does not define${didYouMean(args, Object.keys(this.resources))}`,
          id,
        );
      } else ctx.deps?.set(args, ctx.deps.get(args) ?? 'get_resource');
      return;
    }
    if (fn === 'get_attr') {
      if (!Array.isArray(args) || typeof args[0] !== 'string') return;
      const target = args[0];
      const def = this.resources[target];
      if (!isMap(def)) {
        this.report(
          'missing-resource',
          segs,
          `\`get_attr\` refers to \`${target}\`, which is not a resource of this template${didYouMean(target, Object.keys(this.resources))}`,
          id,
        );
        return;
      }
      ctx.deps?.set(target, ctx.deps.get(target) ?? 'get_attr');
      if (typeof args[1] === 'string' && typeof def['type'] === 'string') this.attribute(target, def['type'], args[1], [...segs, 1], id);
      return;
    }
    if (fn === 'get_param') {
      const name = typeof args === 'string' ? args : Array.isArray(args) && typeof args[0] === 'string' ? args[0] : undefined;
      if (name === undefined) return;
      if (!(name in this.parameters) && !this.info.pseudoParameters.includes(name)) {
        this.report(
          'undeclared-parameter',
          segs,
          `\`get_param: ${name}\` refers to a parameter this template does not declare${didYouMean(name, Object.keys(this.parameters))}; declare it under \`parameters\``,
          id,
        );
      }
    }
  }

  private attribute(target: string, type: string, attr: string, segs: readonly Seg[], id: string | undefined): void {
    const info = HEAT_RESOURCE_TYPES[type];
    let known: readonly string[];
    let prefixes: readonly string[] = [];
    let what: string;
    if (info) {
      known = info.attributes;
      prefixes = info.dynamicAttributes ?? [];
      what = type;
    } else {
      const found = TEMPLATE_FILE.test(type) ? this.nestedDocument(type) : undefined;
      if (!found || !isMap(found.doc)) return; // unknown type or template not available: nothing to check against
      known = [...Object.keys(isMap(found.doc['outputs']) ? found.doc['outputs'] : {}), 'show', 'OS::stack_id'];
      prefixes = ['resource.'];
      what = `the nested template \`${type}\` (its outputs)`;
    }
    if (known.includes(attr) || prefixes.includes('*') || prefixes.some((p) => attr.startsWith(p))) return;
    if (type === 'OS::Heat::ResourceGroup') {
      // Heat answers any other name with the list of that attribute of every member: check it against the member type
      const def = this.resources[target];
      const rdef = isMap(def) && isMap(def['properties']) ? def['properties']['resource_def'] : undefined;
      const memberType = isMap(rdef) ? rdef['type'] : undefined;
      if (typeof memberType !== 'string') return; // member type computed at deploy time: nothing to check against
      this.attribute(target, memberType, attr, segs, id);
      return;
    }
    this.report(
      'unknown-attribute',
      segs,
      `\`get_attr\` asks \`${target}\` for \`${attr}\`, which ${what} does not have${didYouMean(attr, known)}; available: ${listOf([...known].sort(), 20)}`,
      id,
    );
  }

  /** Dependency cycles through depends_on, get_resource and get_attr (Tarjan's strongly connected components). */
  private cycles(): void {
    const index = new Map<string, number>();
    const low = new Map<string, number>();
    const onStack = new Set<string>();
    const stack: string[] = [];
    let next = 0;
    const sccs: string[][] = [];
    const visit = (v: string): void => {
      index.set(v, next);
      low.set(v, next);
      next++;
      stack.push(v);
      onStack.add(v);
      for (const w of [...(this.edges.get(v)?.keys() ?? [])].sort()) {
        if (!index.has(w)) {
          visit(w);
          low.set(v, Math.min(low.get(v)!, low.get(w)!));
        } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
      if (low.get(v) === index.get(v)) {
        const comp: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          comp.push(w);
        } while (w !== v);
        sccs.push(comp);
      }
    };
    for (const v of [...this.edges.keys()].sort()) if (!index.has(v)) visit(v);
    for (const comp of sccs) {
      const members = new Set(comp);
      const start = [...comp].sort()[0]!;
      if (comp.length === 1 && !this.edges.get(start)?.has(start)) continue;
      // one concrete cycle through the component, starting at its first id
      const path = [start];
      const seen = new Set([start]);
      let cur = start;
      for (;;) {
        const outs = [...(this.edges.get(cur)?.keys() ?? [])].filter((w) => members.has(w)).sort();
        const back = outs.find((w) => w === start);
        const nxt = back ?? outs.find((w) => !seen.has(w)) ?? outs[0]!;
        path.push(nxt);
        if (nxt === start || seen.has(nxt)) break;
        seen.add(nxt);
        cur = nxt;
      }
      const steps = path.slice(1).map((to, i) => `\`${path[i]}\` ${this.edges.get(path[i]!)!.get(to)} \`${to}\``);
      this.report(
        'dependency-cycle',
        ['resources', start],
        `resources ${listOf([...comp].sort())} form a dependency cycle (${steps.join(', ')}); Heat cannot order them, so stack create fails; remove one of these references`,
        start,
      );
    }
  }
}

/** Types of a resource definition and of its group members, as `resourceType`/`groupMembers` meet them. */
function collectTypes(type: unknown, properties: unknown, into: Set<string>): void {
  if (typeof type !== 'string') return;
  into.add(type);
  const key = memberKey(type);
  const member = key !== undefined && isMap(properties) ? properties[key] : undefined;
  if (isMap(member)) collectTypes(member['type'], member['properties'], into);
}

/**
 * Run `check` with the generated validators it needs loaded: those of the documents' HOT versions and resource
 * types are loaded first; should a check still meet one that is not loaded, it records it, and the run is repeated
 * after loading it (each round loads at least one more validator, so this ends).
 */
async function withValidators<T>(docs: Iterable<unknown>, check: (needs: Needs) => T): Promise<T> {
  const versions = new Set<string>();
  const types = new Set<string>();
  for (const doc of docs) {
    if (!isMap(doc)) continue;
    const version = resolveHotVersion(doc['heat_template_version']);
    if (version === undefined) continue;
    versions.add(version);
    if (isMap(doc['resources']))
      for (const def of Object.values(doc['resources'])) if (isMap(def)) collectTypes(def['type'], def['properties'], types);
  }
  await loadValidators(versions, types);
  for (;;) {
    const needs: Needs = { versions: new Set(), types: new Set() };
    const result = check(needs);
    if (needs.versions.size === 0 && needs.types.size === 0) return result;
    await loadValidators(needs.versions, needs.types);
  }
}

/** Validate one parsed HOT document (and, through `opts.nested`, the templates it nests). */
export async function validateHotDocument(doc: unknown, opts: ValidateOptions = {}): Promise<TemplateIssue[]> {
  return withValidators([doc, ...(opts.nested?.values() ?? [])], (needs) => new DocumentChecker(doc, { ...opts, [NEEDS]: needs }).check());
}

/** Parse YAML text as Heat would (dates stay strings) and validate it; duplicate keys are errors with their line. */
export async function validateHotText(text: string, fileName?: string, opts: Omit<ValidateOptions, 'file'> = {}): Promise<TemplateIssue[]> {
  const parsed = parseHotYaml(text, fileName);
  if (!parsed.ok) {
    const p = parsed.problem;
    const where = p.line !== undefined ? `line ${p.line}` : '(document)';
    const dup = p.duplicateKey !== undefined || /duplicated mapping key/.test(p.message);
    return [
      {
        ...(fileName !== undefined ? { file: fileName } : {}),
        location: where,
        path: where,
        rule: dup ? 'duplicate-key' : 'yaml-syntax',
        severity: 'error',
        message: dup
          ? `the key ${p.duplicateKey ? `\`${p.duplicateKey}\` ` : ''}appears twice in the same map; Heat's YAML loader would silently keep only the last one; remove or rename one of them`
          : `the file is not valid YAML: ${p.message}`,
      },
    ];
  }
  return validateHotDocument(parsed.doc, { ...opts, ...(fileName !== undefined ? { file: fileName } : {}) });
}

function isEnvironment(doc: unknown): boolean {
  return (
    isMap(doc) &&
    !('heat_template_version' in doc) &&
    ['parameter_defaults', 'parameters', 'resource_registry', 'event_sinks', 'encrypted_param_names'].some((k) => k in doc)
  );
}

/**
 * Validate a bundle of parsed documents (file name -> document), as synthesis produces them: every template is
 * validated, nested templates are resolved by file name, environment files contribute their parameter_defaults.
 * Only errors are returned unless `includeWarnings` is set.
 */
export async function validateHotBundle(
  files: ReadonlyMap<string, unknown>,
  options: { includeWarnings?: boolean; describe?: (file: string, logicalId: string) => string | undefined } = {},
): Promise<TemplateIssue[]> {
  const defaults = new Set<string>();
  for (const doc of files.values()) {
    if (isEnvironment(doc) && isMap((doc as Json)['parameter_defaults']))
      for (const k of Object.keys((doc as Json)['parameter_defaults'] as Json)) defaults.add(k);
  }
  const issues = await withValidators(files.values(), (needs) => {
    const found: TemplateIssue[] = [];
    // Groups of the same shape have byte-identical member templates: a document identical to one found clean is
    // clean too, so only the first of them is checked (one with findings is checked again under its own name).
    const clean = new Set<string>();
    for (const [file, doc] of files) {
      if (isEnvironment(doc) || (!/\.(ya?ml|template|hot|json)$/i.test(file) && !isMap(doc))) continue;
      if (/\.json$/i.test(file) && isMap(doc) && !('heat_template_version' in doc)) continue; // manifests and other data
      const key = JSON.stringify(doc);
      if (clean.has(key)) continue;
      const describe = options.describe ? (id: string) => options.describe!(file, id) : undefined;
      const mine = new DocumentChecker(doc, {
        file,
        nested: files,
        parameterDefaults: defaults,
        [NEEDS]: needs,
        ...(describe ? { describe } : {}),
      }).check();
      if (mine.length === 0) clean.add(key);
      found.push(...mine);
    }
    return found;
  });
  return options.includeWarnings ? issues : issues.filter((i) => i.severity === 'error');
}

async function collectFiles(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    const s = await stat(p);
    if (s.isDirectory()) {
      const entries = (await readdir(p, { recursive: true })).map(String).sort();
      for (const e of entries) if (/\.(ya?ml|template|hot)$/i.test(e)) out.push(join(p, e));
    } else out.push(p);
  }
  return out;
}

/**
 * Validate HOT files or directories (every *.yaml/*.yml/*.template/*.hot inside). Nested templates referenced
 * by relative name are read too. Issues name files relative to the current directory. Warnings included.
 */
export async function validateHotFiles(paths: readonly string[]): Promise<TemplateIssue[]> {
  const issues: TemplateIssue[] = [];
  const docs = new Map<string, unknown>();
  const texts = new Map<string, string>();
  const queue = (await collectFiles(paths)).map((p) => resolvePath(p));
  while (queue.length > 0) {
    const abs = queue.shift()!;
    if (docs.has(abs) || texts.has(abs)) continue;
    let text: string;
    try {
      text = await readFile(abs, 'utf8');
    } catch {
      continue; // a missing nested template is reported by the referencing document
    }
    texts.set(abs, text);
    const parsed = parseHotYaml(text, abs);
    if (!parsed.ok) {
      issues.push(...(await validateHotText(text, relative(process.cwd(), abs) || abs)));
      continue;
    }
    docs.set(abs, parsed.doc);
    // follow nested template references (resources and group members)
    const refs: string[] = [];
    const scan = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(scan);
      else if (isMap(v)) {
        if (typeof v['type'] === 'string' && TEMPLATE_FILE.test(v['type']) && !/^[a-z]+:\/\//i.test(v['type'])) refs.push(v['type']);
        Object.values(v).forEach(scan);
      }
    };
    if (isMap(parsed.doc)) scan(parsed.doc['resources']);
    for (const r of refs) queue.push(resolvePath(dirname(abs), r));
  }
  const defaults = new Set<string>();
  for (const doc of docs.values()) {
    if (isEnvironment(doc) && isMap((doc as Json)['parameter_defaults']))
      for (const k of Object.keys((doc as Json)['parameter_defaults'] as Json)) defaults.add(k);
  }
  const found = await withValidators(docs.values(), (needs) => {
    const out: TemplateIssue[] = [];
    for (const [abs, doc] of docs) {
      if (isEnvironment(doc)) continue;
      const shown = relative(process.cwd(), abs) || abs;
      for (const i of new DocumentChecker(doc, { file: abs, nested: docs, parameterDefaults: defaults, [NEEDS]: needs }).check())
        out.push({ ...i, file: shown });
    }
    return out;
  });
  issues.push(...found);
  return issues;
}
