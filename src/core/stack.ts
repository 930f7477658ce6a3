import { Construct } from 'constructs';
import { HotError } from './errors.js';
import { compareStrings } from '../private/compare.js';
import { brandStack, findStack, isHeatElement, isHeatStack, type HeatElement } from './element.js';
import { STACK_NAME_PATTERN, makeLogicalId } from './logical-id.js';
import { synthesizeTemplate } from './synthesis.js';
import { toYaml } from './yaml.js';
import { HEAT_MAX_JSON_BODY_SIZE, HEAT_MAX_TEMPLATE_SIZE } from './request-size.js';
import { DEFAULT_HOT_VERSION, HOT_VERSIONS, isHotVersion, type HotVersion } from './versions.js';

export interface ParameterGroup {
  readonly label: string;
  readonly description?: string;
  /** Parameters (constructs or names) shown together in Horizon's form. */
  readonly parameters: readonly ({ readonly logicalId: string } | string)[];
}

export interface HeatStackProps {
  /** The template's `description`. @default - none */
  readonly description?: string;
  /** `heat_template_version`. @default '2018-08-31' (Rocky): see DEFAULT_HOT_VERSION */
  readonly templateVersion?: HotVersion;
  /**
   * For a nested template: its name in the file `<root>.<templateName>.yaml`.
   * @default - the path below the root stack, lower-cased, joined with '-'
   */
  readonly templateName?: string;
  /** Stack creation timeout in minutes, put into the manifest's create command. @default - Heat's default (60) */
  readonly createTimeoutMinutes?: number;
  /**
   * The cloud's `max_json_body_size`: the most bytes heat-api takes in one request. Synthesis computes the body
   * `openstack stack create` sends (templates as JSON, nested files, environments) and fails above it.
   * @default 1048576 (Heat's default)
   */
  readonly maxJsonBodySize?: number;
  /** The cloud's `max_template_size`, held against each nested template as Heat parses it. @default 524288 (Heat's default) */
  readonly maxTemplateSize?: number;
}

/**
 * One HOT document. A HeatStack inside another HeatStack is a nested template: it is written as its own file and
 * used as a resource type (a template resource or a ResourceGroup/AutoScalingGroup member) by relative file name.
 */
export class HeatStack extends Construct {
  /** The nearest HeatStack of a construct. */
  static of(scope: Construct): HeatStack {
    const s = findStack(scope);
    if (!s) throw new HotError(scope.node.path, 'is not inside a HeatStack');
    return s;
  }

  static isHeatStack(x: unknown): x is HeatStack {
    return isHeatStack(x);
  }

  public readonly templateVersion: HotVersion;
  public description?: string;
  public createTimeoutMinutes?: number;
  public readonly maxJsonBodySize: number;
  public readonly maxTemplateSize: number;
  private readonly _templateName?: string;
  private readonly parameterGroups: ParameterGroup[] = [];
  private readonly registry = new Map<string, string>();
  private readonly artifacts = new Map<string, () => string>();

  constructor(scope: Construct, id: string, props: HeatStackProps = {}) {
    super(scope, id);
    brandStack(this);
    const version = props.templateVersion ?? DEFAULT_HOT_VERSION;
    if (!isHotVersion(version)) {
      throw new HotError(this.node.path, `templateVersion must be one of ${HOT_VERSIONS.join(', ')}; got ${JSON.stringify(version)}`);
    }
    this.templateVersion = version;
    this.description = props.description;
    if (props.templateName !== undefined && !/^[a-z0-9][a-z0-9-]*$/.test(props.templateName)) {
      throw new HotError(
        this.node.path,
        `templateName must be lower-case letters, digits and '-'; got ${JSON.stringify(props.templateName)}`,
      );
    }
    this._templateName = props.templateName;
    if (props.createTimeoutMinutes !== undefined && !(Number.isInteger(props.createTimeoutMinutes) && props.createTimeoutMinutes > 0)) {
      throw new HotError(this.node.path, `createTimeoutMinutes must be a positive whole number; got ${props.createTimeoutMinutes}`);
    }
    this.createTimeoutMinutes = props.createTimeoutMinutes;
    for (const key of ['maxJsonBodySize', 'maxTemplateSize'] as const) {
      const v = props[key];
      if (v !== undefined && !(Number.isInteger(v) && v > 0))
        throw new HotError(this.node.path, `${key} must be a positive whole number of bytes; got ${JSON.stringify(v)}`);
    }
    this.maxJsonBodySize = props.maxJsonBodySize ?? HEAT_MAX_JSON_BODY_SIZE;
    this.maxTemplateSize = props.maxTemplateSize ?? HEAT_MAX_TEMPLATE_SIZE;
    if (!this.parentStack && !STACK_NAME_PATTERN.test(id)) {
      throw new HotError(
        this.node.path,
        `a stack name must start with a letter and hold only letters, digits, '_', '-' and '.'; got ${JSON.stringify(id)}`,
      );
    }
  }

  /** The template that contains this one, for a nested template. */
  get parentStack(): HeatStack | undefined {
    if (this._parentStack === undefined) this._parentStack = (this.node.scope ? findStack(this.node.scope) : undefined) ?? null;
    return this._parentStack ?? undefined;
  }

  /** The outermost template: the one `openstack stack create -t` is given. */
  get rootStack(): HeatStack {
    return this.parentStack ? this.parentStack.rootStack : this;
  }

  // a construct's place in the tree never changes after it is created, so these are computed once
  private _parentStack?: HeatStack | null;
  private _fileName?: string;
  private readonly _standsFor: { readonly path: string; readonly fileName: string }[] = [];

  get isNested(): boolean {
    return this.parentStack !== undefined;
  }

  /** Stack name (the root stack's construct id). */
  get stackName(): string {
    return this.rootStack.node.id;
  }

  /** Name of a nested template within its root's files. */
  get templateName(): string {
    if (!this.isNested) return this.node.id;
    if (this._templateName) return this._templateName;
    return defaultTemplateName(this.rootStack, this.node.scopes);
  }

  /**
   * File name of this template in the output directory (relative; nested files are referenced by it). A template that
   * also stands for others ({@link shareWith}) is written under the first of their file names in sort order, the
   * name synthesis would keep if each had been built and found identical.
   */
  get fileName(): string {
    if (this._fileName !== undefined) return this._fileName;
    let name = this.isNested ? `${this.stackName}.${this.templateName}.yaml` : `${this.node.id}.yaml`;
    for (const other of this._standsFor) if (compareStrings(other.fileName, name) < 0) name = other.fileName;
    return (this._fileName = name);
  }

  /**
   * Let this nested template also stand for a template that is never built: one that would sit at `scope/id` with
   * the default template name and be identical to this one (worker groups of one shape share one member template).
   * The manifest's `sharedFiles` lists it as a user of this file, as it lists templates found identical at synthesis.
   */
  shareWith(scope: Construct, id: string): void {
    if (!this.isNested) throw new HotError(this.node.path, 'only a nested template can stand for another');
    const root = findStack(scope)?.rootStack;
    if (root !== this.rootStack)
      throw new HotError(this.node.path, `a template can stand only for templates of its own root stack; ${scope.node.path} is not in it`);
    const path = `${scope.node.path}/${id}`;
    const fileName = `${this.stackName}.${defaultTemplateName(root, [...scope.node.scopes, { node: { id } }])}.yaml`;
    this._standsFor.push({ path, fileName });
    this._fileName = undefined;
  }

  /** The templates this one stands for besides itself ({@link shareWith}): construct paths and file names. */
  get standsFor(): readonly { readonly path: string; readonly fileName: string }[] {
    return this._standsFor;
  }

  /** A form group for Horizon (`parameter_groups`). */
  addParameterGroup(group: ParameterGroup): void {
    this.parameterGroups.push(group);
  }

  get parameterGroupList(): readonly ParameterGroup[] {
    return this.parameterGroups;
  }

  /** A `resource_registry` entry for the environment file (root stacks only). */
  addResourceRegistry(type: string, target: string): void {
    if (this.isNested) throw new HotError(this.node.path, 'resource_registry entries belong to the root stack environment');
    this.registry.set(type, target);
  }

  get resourceRegistry(): ReadonlyMap<string, string> {
    return this.registry;
  }

  /**
   * An extra file synth writes beside the templates as `<stack>.<name>` (root stacks only), produced at synthesis,
   * e.g. a bill of materials. Listed in the manifest's `artifacts`; never a template, never secret.
   */
  addArtifact(name: string, produce: () => string): void {
    if (this.isNested) throw new HotError(this.node.path, 'artifacts belong to the root stack');
    if (!/^[a-z0-9][a-z0-9-]*\.(json|txt|md|sh)$/.test(name) || name.endsWith('.env.yaml')) {
      throw new HotError(
        this.node.path,
        `an artifact name is lower-case letters, digits and '-' with a .json, .txt, .md or .sh ending; got ${JSON.stringify(name)}`,
      );
    }
    if (this.artifacts.has(name)) throw new HotError(this.node.path, `artifact ${name} is already added`);
    this.artifacts.set(name, produce);
  }

  /** Artifact file names (relative to the output directory) and their producers. */
  get artifactList(): ReadonlyMap<string, () => string> {
    return new Map([...this.artifacts].map(([n, f]) => [`${this.node.id}.${n}`, f]));
  }

  /** The default logical id of an element of this stack, from its path below the stack. */
  defaultLogicalId(element: HeatElement): string {
    const components = element.node.scopes.slice(this.node.scopes.length).map((s) => s.node.id);
    return makeLogicalId(components);
  }

  /** Elements that render into this template (not into nested ones), in tree order. */
  elements(): HeatElement[] {
    const out: HeatElement[] = [];
    const visit = (c: Construct) => {
      for (const child of c.node.children) {
        if (isHeatStack(child)) continue;
        if (isHeatElement(child)) out.push(child);
        visit(child as Construct);
      }
    };
    visit(this);
    return out;
  }

  /** This template as a HOT document (validated and rendered; no schema check, no secrets, no files). */
  toTemplate(): Record<string, unknown> {
    return synthesizeTemplate(this);
  }

  /** This template as deterministic YAML text. */
  synthYaml(): string {
    return toYaml(this.toTemplate());
  }

  /** Nested templates directly below this one. */
  nestedStacks(): HeatStack[] {
    const out: HeatStack[] = [];
    const visit = (c: Construct) => {
      for (const child of c.node.children) {
        if (isHeatStack(child)) out.push(child);
        else visit(child as Construct);
      }
    };
    visit(this);
    return out;
  }
}

/** The default name of a nested template: the construct ids below the root stack, lower-cased, joined with '-'. */
function defaultTemplateName(root: HeatStack, scopes: readonly { readonly node: { readonly id: string } }[]): string {
  return scopes
    .slice(root.node.scopes.length)
    .map((s) =>
      s.node.id
        .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
        .toLowerCase()
        .replace(/[^a-z0-9-]/g, '-'),
    )
    .join('-');
}
