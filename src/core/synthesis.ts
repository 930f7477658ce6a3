/**
 * Synthesis, as a short list of named phases read top to bottom:
 *
 *   validate  -> every construct's validations and every element's own checks, all errors collected
 *   prepare   -> construct-level dependencies lifted to `depends_on` (sorted)
 *   resolve   -> intrinsic functions, references and lazies turned into HOT values (version-checked)
 *   render    -> each element renders its own entry
 *   merge     -> one HOT document per template (root and each nested template)
 *   share     -> identical nested templates become one file, references pointed at it
 *   check     -> schema validation (ajv + reference/graph checks) of every document, mapped back to construct paths
 *   secrets   -> secret parameter values produced (or reused) from the private state directory
 *   request   -> the body `openstack stack create` will send, held against heat-api's size limits
 *   write     -> deterministic YAML files, environment files and manifest.json
 *
 * `SynthResult.timings` reports the milliseconds of each (resolve, render and merge as `render`; YAML as `yaml`).
 */
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { IConstruct } from 'constructs';
import { collectAnnotations, type Annotation } from './annotations.js';
import { HotError, HotValidationError, isHotError } from './errors.js';
import { isHeatStack, type HeatElement } from './element.js';
import { HeatParameter, type SynthSession } from './parameter.js';
import { HeatResource } from './resource.js';
import type { HeatStack } from './stack.js';
import type { ResolveContext } from './tokens.js';
import { sortBelow, toYaml } from './yaml.js';
import { createRequestSize, type CreateRequestSize } from './request-size.js';
import { compareStrings } from '../private/compare.js';
import { noteSynthesized } from '../private/compile-cache.js';

/** One problem found by a template checker, mapped to the construct that caused it when possible. */
export interface TemplateProblem {
  readonly file: string;
  readonly location: string;
  readonly message: string;
}

/** Checks whole documents after merge (the typed Heat layer's ajv validation plugs in here). */
export interface TemplateChecker {
  check(
    files: ReadonlyMap<string, unknown>,
    describe: (file: string, logicalId: string) => string | undefined,
  ): TemplateProblem[] | Promise<TemplateProblem[]>;
}

export interface SynthOptions {
  /** Output directory. @default 'hotk8s.out' */
  readonly outdir?: string;
  /** Private state directory for generated secrets. @default '.hotk8s' */
  readonly stateDir?: string;
  /** Document checkers run in the `check` phase. @default - the Heat schema checker */
  readonly checkers?: readonly TemplateChecker[];
  /** Write files (false: return the result only). @default true */
  readonly write?: boolean;
}

export interface ParameterInfo {
  readonly type: string;
  readonly required: boolean;
  readonly hidden: boolean;
}

export interface StackManifest {
  readonly name: string;
  readonly template: string;
  readonly environment: string;
  readonly secretEnvironment: string | null;
  readonly files: string[];
  /**
   * Nested templates that several templates of the construct tree share, because their documents are identical (worker
   * groups of the same shape): file -> the construct paths of the templates written as that one file.
   */
  readonly sharedFiles: Record<string, string[]>;
  /** Extra files (e.g. a bill of materials), relative to the output directory. */
  readonly artifacts: string[];
  readonly parameters: Record<string, ParameterInfo>;
  readonly createCommand: string;
}

export interface Manifest {
  readonly version: 1;
  readonly stacks: StackManifest[];
}

export interface SynthResult {
  readonly outdir: string;
  readonly manifest: Manifest;
  /** File name (relative to outdir) -> content. Secret files are included only when written. */
  readonly files: ReadonlyMap<string, string>;
  /**
   * Stack name -> bytes of the body `openstack stack create` sends for it, when run on `outdir` (secrets included only
   * when they were written); held against the stack's maxJsonBodySize.
   */
  readonly requestBytes: ReadonlyMap<string, number>;
  /** Milliseconds spent in each phase (validate, prepare, render, share, check, yaml, secrets, request, artifacts, write). */
  readonly timings: Readonly<Record<string, number>>;
  readonly annotations: readonly Annotation[];
}

// ---------------------------------------------------------------------------------------------------- phases

/** Phase 1: validate. Every error below `root`, each with its construct path. */
export function validatePhase(
  root: IConstruct,
  stacks: readonly HeatStack[] = allStacks(root),
  elementsOf: ReadonlyMap<HeatStack, readonly HeatElement[]> = new Map(),
): HotError[] {
  const errors: HotError[] = [];
  for (const c of root.node.findAll()) {
    for (const message of c.node.validate()) errors.push(new HotError(c.node.path, message));
    const el = c as { validateElement?: () => string[] };
    if (typeof el.validateElement === 'function') {
      try {
        for (const message of el.validateElement()) errors.push(new HotError(c.node.path, message));
      } catch (e) {
        errors.push(asHotError(e, c.node.path));
      }
    }
  }
  for (const stack of stacks) {
    // one walk over the elements; duplicates reported section by section, in this order
    const sections = ['parameters', 'resources', 'outputs', 'conditions'] as const;
    const seen = new Map(sections.map((section) => [section as string, new Map<string, string>()]));
    const duplicates = new Map(sections.map((section) => [section as string, [] as HotError[]]));
    for (const el of elementsOf.get(stack) ?? stack.elements()) {
      const section = el.templateSection;
      const ids = seen.get(section);
      if (!ids) continue;
      const id = el.logicalId;
      const other = ids.get(id);
      if (other)
        duplicates
          .get(section)!
          .push(
            new HotError(
              el.node.path,
              `logical id ${JSON.stringify(id)} is already used by ${other} in ${section}; rename one or use overrideLogicalId`,
            ),
          );
      else ids.set(id, el.node.path);
    }
    for (const section of sections) errors.push(...duplicates.get(section)!);
  }
  return errors;
}

/** Phase 2: prepare. Lift construct dependencies to `depends_on` (sorted, deduplicated). */
export function preparePhase(stack: HeatStack, elements: readonly HeatElement[] = stack.elements()): HotError[] {
  const errors: HotError[] = [];
  const base = stack.node.scopes.length;
  // a dependency's resources, found once (several elements below one construct share its dependencies)
  const below = new Map<IConstruct, HeatResource[]>();
  const resourcesBelow = (dep: IConstruct): HeatResource[] => {
    let found = below.get(dep);
    if (!found) below.set(dep, (found = dep.node.findAll().filter((t): t is HeatResource => HeatResource.isHeatResource(t))));
    return found;
  };
  for (const el of elements) {
    if (!HeatResource.isHeatResource(el)) continue;
    const ids = new Set<string>();
    const scopes = el.node.scopes; // computed on each read
    for (const scope of scopes.slice(base)) {
      for (const dep of scope.node.dependencies) {
        if (scopes.includes(dep)) continue; // depending on an ancestor of itself means nothing
        for (const target of resourcesBelow(dep)) {
          if (target === el) continue;
          if (target.stack !== stack) {
            errors.push(
              new HotError(
                el.node.path,
                `depends on ${target.node.path}, which is in another template (${target.stack.node.path}); dependencies must stay within one template`,
              ),
            );
            continue;
          }
          ids.add(target.logicalId);
        }
      }
    }
    el.dependsOnIds = [...ids].sort();
  }
  return errors;
}

/** Phases 3-5: resolve, render and merge one template into its HOT document. */
export function renderPhase(
  stack: HeatStack,
  elements: readonly HeatElement[] = stack.elements(),
): { doc: Record<string, unknown>; errors: HotError[] } {
  const errors: HotError[] = [];
  const sections: Record<string, Record<string, unknown>> = { parameters: {}, conditions: {}, resources: {}, outputs: {} };
  for (const el of elements) {
    const ctx: ResolveContext = { stack, path: el.node.path, inCondition: false };
    try {
      const entry = el.renderEntry(ctx);
      // resources render with sorted keys below the entry (see HeatResource.renderEntry); others are sorted here
      const sorted = HeatResource.isHeatResource(el) && el.renderEntry === HeatResource.prototype.renderEntry;
      sections[el.templateSection]![el.logicalId] = sorted ? entry : sortBelow(entry);
    } catch (e) {
      errors.push(asHotError(e, el.node.path));
    }
  }
  const sorted = (m: Record<string, unknown>) => {
    const keys = Object.keys(m).sort();
    if (keys.length === 0) return undefined;
    const out: Record<string, unknown> = {};
    for (const k of keys) out[k] = m[k];
    return out;
  };
  const groups = stack.parameterGroupList.map((g) => ({
    label: g.label,
    description: g.description,
    parameters: g.parameters.map((p) => (typeof p === 'string' ? p : p.logicalId)),
  }));
  const doc: Record<string, unknown> = {
    heat_template_version: stack.templateVersion,
    description: stack.description,
    parameter_groups: groups.length > 0 ? groups.map((g) => dropUndefined(g)) : undefined,
    parameters: sorted(sections.parameters!),
    conditions: sorted(sections.conditions!),
    resources: sorted(sections.resources!) ?? {},
    outputs: sorted(sections.outputs!),
  };
  return { doc: dropUndefined(doc), errors };
}

/** Phase 6: check every document with the checkers, mapping problems to construct paths. */
export async function checkPhase(
  files: ReadonlyMap<string, unknown>,
  stacksByFile: ReadonlyMap<string, HeatStack>,
  checkers: readonly TemplateChecker[],
): Promise<HotError[]> {
  const describe = (file: string, logicalId: string): string | undefined => {
    const stack = stacksByFile.get(file);
    return stack?.elements().find((e) => e.logicalId === logicalId && e.templateSection === 'resources')?.node.path;
  };
  const errors: HotError[] = [];
  for (const checker of checkers) {
    for (const p of await checker.check(files, describe)) errors.push(new HotError(p.location, p.message));
  }
  return errors;
}

/** Phase 7: secrets. Produce each secret parameter value (reusing what the state directory holds). */
export async function secretsPhase(
  stack: HeatStack,
  stateDir: string,
  params: readonly HeatParameter[] = stackParameters(stack.elements()),
): Promise<Record<string, string>> {
  // synchronous, as the PKI's own reads are: two calls on one directory gain nothing from the thread pool, and a
  // synth that never returns to the event loop leaves V8 no turn to run a pending garbage-collection task in (measured
  // at 100 worker groups: it ran here, about 20 ms, in a process about to exit)
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  chmodSync(stateDir, 0o700);
  const memo = new Map<string, Promise<unknown>>();
  const session: SynthSession = {
    stateDir,
    memo<T>(key: string, produce: () => Promise<T>): Promise<T> {
      if (!memo.has(key)) memo.set(key, produce());
      return memo.get(key) as Promise<T>;
    },
  };
  const out: Record<string, string> = {};
  for (const p of params) {
    if (!p.props.secretValue) continue;
    const v = await p.props.secretValue(session);
    if (typeof v !== 'string' || v.length === 0)
      throw new HotError(p.node.path, `secretValue must produce a non-empty string; got ${typeof v}`);
    out[p.logicalId] = v;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------- driver

/** Synthesize one template to its HOT document (no checks, no secrets, no files): for tests and `toTemplate()`. */
export function synthesizeTemplate(stack: HeatStack): Record<string, unknown> {
  const errors = [...validatePhase(stack), ...preparePhase(stack)];
  if (errors.length > 0) throw new HotValidationError(errors);
  const { doc, errors: renderErrors } = renderPhase(stack);
  if (renderErrors.length > 0) throw new HotValidationError(renderErrors);
  return doc;
}

/** Synthesize every root stack below `root` and write the output contract. */
export async function synthesize(root: IConstruct, options: SynthOptions = {}): Promise<SynthResult> {
  const outdir = options.outdir ?? 'hotk8s.out';
  const stateDir = options.stateDir ?? '.hotk8s';
  const roots = rootStacks(root);
  if (roots.length === 0) throw new HotError(root.node.path, 'there is no HeatStack to synthesize');
  const timings: Record<string, number> = {};
  let last = performance.now();
  const mark = (phase: string) => {
    const now = performance.now();
    timings[phase] = (timings[phase] ?? 0) + (now - last);
    last = now;
  };

  // validate
  const stacks = allStacks(root);
  // each template's elements, listed once for validate, prepare, render and the parameters
  const elementsOf = new Map(stacks.map((s) => [s, s.elements()] as const));
  const errors: HotError[] = validatePhase(root, stacks, elementsOf);
  if (errors.length > 0) throw new HotValidationError(errors);
  mark('validate');

  // prepare, resolve, render, merge
  const docs = new Map<string, Record<string, unknown>>();
  const stacksByFile = new Map<string, HeatStack>();
  for (const stack of stacks) {
    errors.push(...preparePhase(stack, elementsOf.get(stack)));
  }
  mark('prepare');
  for (const stack of stacks) {
    const { doc, errors: e } = renderPhase(stack, elementsOf.get(stack));
    errors.push(...e);
    if (stacksByFile.has(stack.fileName)) {
      errors.push(
        new HotError(
          stack.node.path,
          `template file ${stack.fileName} is also written by ${stacksByFile.get(stack.fileName)!.node.path}; give one a different templateName`,
        ),
      );
    }
    docs.set(stack.fileName, doc);
    stacksByFile.set(stack.fileName, stack);
  }
  if (errors.length > 0) throw new HotValidationError(errors);
  mark('render');

  // share: identical nested templates are written once
  const shared = shareIdenticalTemplates(stacks, docs, stacksByFile);
  mark('share');

  // check
  const checkers = options.checkers ?? [await defaultChecker()];
  const problems = await checkPhase(docs, stacksByFile, checkers);
  if (problems.length > 0) throw new HotValidationError(problems);
  mark('check');

  // secrets + write
  const files = new Map<string, string>();
  const manifest: Manifest = { version: 1, stacks: [] };
  const requests = new Map<string, number>();
  for (const stack of roots) {
    const name = stack.node.id;
    const nested = [...docs.keys()].filter((f) => f !== stack.fileName && stacksByFile.get(f)!.rootStack === stack).sort();
    files.set(stack.fileName, toYaml(docs.get(stack.fileName)));
    for (const f of nested) files.set(f, toYaml(docs.get(f)));
    mark('yaml');
    const sharedFiles: Record<string, string[]> = {};
    for (const f of nested) {
      const users = shared.get(f);
      if (users) sharedFiles[f] = users;
    }

    const params = stackParameters(elementsOf.get(stack)!);
    const defaults: Record<string, unknown> = {};
    for (const p of params) if (p.props.value !== undefined) defaults[p.logicalId] = p.props.value;
    const registry: Record<string, string> = {};
    for (const [k, v] of [...stack.resourceRegistry].sort(([a], [b]) => compareStrings(a, b))) registry[k] = shared.renamed.get(v) ?? v;
    const env = dropUndefined({
      parameter_defaults: Object.keys(defaults).length > 0 ? sortBelow(defaults) : undefined,
      resource_registry: Object.keys(registry).length > 0 ? registry : undefined,
    });
    const envFile = `${name}.env.yaml`;
    files.set(envFile, Object.keys(env).length > 0 ? toYaml(env) : '{}\n');

    const hasSecrets = params.some((p) => p.isSecret);
    const secretFile = hasSecrets ? `${name}.secrets.env.yaml` : null;
    let secretEnv: unknown;
    if (secretFile && options.write !== false) {
      mark('yaml');
      const secrets = await secretsPhase(stack, stateDir, params);
      mark('secrets');
      secretEnv = { parameter_defaults: sortBelow(secrets) };
      files.set(secretFile, toYaml(secretEnv));
    }
    const parameters: Record<string, ParameterInfo> = {};
    for (const p of [...params].sort((a, b) => compareStrings(a.logicalId, b.logicalId))) {
      parameters[p.logicalId] = { type: p.parameterType, required: p.required, hidden: p.props.hidden === true };
    }
    const artifacts: string[] = [];
    for (const [file, produce] of [...stack.artifactList].sort(([a], [b]) => compareStrings(a, b))) {
      try {
        files.set(file, produce());
      } catch (e) {
        throw asHotError(e, stack.node.path);
      }
      artifacts.push(file);
    }
    const envFiles = [envFile, ...(secretFile ? [secretFile] : [])];
    const envArgs = envFiles.map((f) => `-e ${f}`).join(' ');
    const sizeDocs = new Map<string, unknown>([...docs, [envFile, env]]);
    if (secretFile && secretEnv !== undefined) sizeDocs.set(secretFile, secretEnv);
    mark('yaml');
    const size = createRequestSize({
      outdir: resolve(outdir),
      stackName: name,
      template: stack.fileName,
      environments: secretEnv !== undefined ? envFiles : [envFile],
      docs: sizeDocs,
      texts: files,
      timeoutMinutes: stack.createTimeoutMinutes,
    });
    const limitErrors = requestLimitErrors(stack, size, docs.get(stack.fileName));
    if (limitErrors.length > 0) throw new HotValidationError(limitErrors);
    requests.set(name, size.bodyBytes);
    mark('request');
    const timeout = stack.createTimeoutMinutes ? ` --timeout ${stack.createTimeoutMinutes}` : '';
    manifest.stacks.push({
      name,
      template: stack.fileName,
      environment: envFile,
      secretEnvironment: secretFile,
      files: nested,
      sharedFiles,
      artifacts,
      parameters,
      createCommand: `openstack stack create -t ${stack.fileName} ${envArgs}${timeout} --wait ${name}`,
    });
  }
  files.set('manifest.json', JSON.stringify(manifest, null, 2) + '\n');

  mark('artifacts');
  if (options.write !== false) await writePhase(outdir, files, manifest);
  mark('write');
  // the code V8 saves at exit is then a synth's (src/private/compile-cache.ts)
  noteSynthesized();
  return { outdir, manifest, files, requestBytes: requests, timings, annotations: collectAnnotations(root) };
}

/**
 * Phase 8: write. Secret environment files get mode 0600; files a previous run wrote and this one did not are removed.
 * Synchronous writes: a stack is a few hundred small files, which the event loop would only slow down.
 */
export async function writePhase(outdir: string, files: ReadonlyMap<string, string>, manifest: Manifest): Promise<void> {
  mkdirSync(outdir, { recursive: true });
  const secretFiles = new Set(manifest.stacks.map((s) => s.secretEnvironment).filter((f): f is string => f !== null));
  try {
    const previous = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as Manifest;
    for (const s of previous.stacks ?? []) {
      for (const f of [s.template, s.environment, s.secretEnvironment, ...(s.files ?? []), ...(s.artifacts ?? [])]) {
        if (f && !files.has(f) && !f.includes('/')) rmSync(join(outdir, f), { force: true });
      }
    }
  } catch {
    // no previous manifest
  }
  for (const [name, text] of files) {
    const path = join(outdir, name);
    if (secretFiles.has(name)) {
      writeFileSync(path, text, { mode: 0o600 });
      chmodSync(path, 0o600); // also when the file was already there with another mode
    } else {
      writeFileSync(path, text, { mode: 0o644 });
    }
  }
}

// ---------------------------------------------------------------------------------------------------- helpers

/** The create request against heat-api's limits (see request-size.ts), with what makes up the body. */
function requestLimitErrors(stack: HeatStack, size: CreateRequestSize, rootDoc: unknown): HotError[] {
  const errors: HotError[] = [];
  for (const [file, bytes] of [...size.templateBytes].sort(([a], [b]) => compareStrings(a, b))) {
    if (bytes > stack.maxTemplateSize)
      errors.push(
        new HotError(
          stack.node.path,
          `nested template ${file} is ${bytes} bytes as heatclient sends it (JSON), above max_template_size ${stack.maxTemplateSize}: split it or set maxTemplateSize to the cloud's limit`,
        ),
      );
  }
  if (size.bodyBytes > stack.maxJsonBodySize) {
    const nested = [...size.templateBytes.values()].reduce((a, b) => a + b, 0);
    const rootBytes = JSON.stringify(rootDoc).length;
    errors.push(
      new HotError(
        stack.node.path,
        `the request 'openstack stack create' sends is about ${size.bodyBytes} bytes (root template ~${rootBytes}, ` +
          `${size.templateBytes.size} nested templates ${nested}, the rest environments), above heat-api's max_json_body_size ` +
          `${stack.maxJsonBodySize}: use fewer distinct group shapes (groups of one shape share a template) or set ` +
          `maxJsonBodySize to the cloud's limit`,
      ),
    );
  }
  return errors;
}

/** Shared nested templates: file -> construct paths of the templates it stands for; `renamed`: duplicate file -> shared file. */
type SharedTemplates = Map<string, string[]> & { readonly renamed: ReadonlyMap<string, string> };

/**
 * Write identical nested templates once. Worker groups of one shape have byte-identical member templates; written one
 * per group they would make the request `openstack stack create` sends grow with the number of groups (Heat refuses
 * bodies over max_json_body_size, 1 MiB by default). Templates are compared deepest first, so that parents whose
 * children were merged can merge in turn; within one root stack, each set of identical documents keeps the first file
 * name in sort order, and every reference to the others (a string value equal to their file name: a resource type,
 * a ResourceGroup's `resource_def.type`, a resource registry entry) is pointed at it.
 *
 * Heat instantiates any template-file type as the same TemplateResource class, so a stack update that moves a group
 * from one file name to another updates its nested stack in place; nothing is replaced.
 */
function shareIdenticalTemplates(
  stacks: readonly HeatStack[],
  docs: Map<string, Record<string, unknown>>,
  stacksByFile: Map<string, HeatStack>,
): SharedTemplates {
  const renamed = new Map<string, string>();
  const shared = Object.assign(new Map<string, string[]>(), { renamed }) as SharedTemplates;
  const depth = (s: HeatStack): number => (s.parentStack ? 1 + depth(s.parentStack) : 0);
  const byDepth = new Map<number, HeatStack[]>();
  for (const s of stacks) {
    if (!s.isNested) continue;
    const d = depth(s);
    byDepth.set(d, [...(byDepth.get(d) ?? []), s]);
  }
  for (const d of [...byDepth.keys()].sort((a, b) => b - a)) {
    const level = byDepth.get(d)!;
    // parents of templates merged at the deeper level now name the shared files
    if (renamed.size > 0)
      for (const s of level) docs.set(s.fileName, renameFiles(docs.get(s.fileName)!, renamed) as Record<string, unknown>);
    // sets of identical documents: bucketed by a cheap outline, then compared in depth (identical user-data texts
    // are one string from the render cache, so comparing them costs nothing; serializing them would copy them)
    const buckets = new Map<string, HeatStack[][]>();
    for (const s of level) {
      const doc = docs.get(s.fileName)!;
      const outline = `${s.rootStack.node.id}\n${Object.keys(doc.resources ?? {}).join(',')}\n${Object.keys(doc.parameters ?? {}).join(',')}`;
      const sets = buckets.get(outline) ?? [];
      buckets.set(outline, sets);
      const same = sets.find((set) => sameValue(docs.get(set[0]!.fileName), doc));
      if (same) same.push(s);
      else sets.push([s]);
    }
    for (const set of [...buckets.values()].flat()) {
      // a template built once for several (HeatStack.shareWith) counts as all of them
      if (set.length < 2 && set[0]!.standsFor.length === 0) continue;
      set.sort((a, b) => compareStrings(a.fileName, b.fileName));
      const keep = set[0]!.fileName;
      const users = set.flatMap((s) => [{ path: s.node.path, fileName: ownFileName(s) }, ...s.standsFor]);
      users.sort((a, b) => compareStrings(a.fileName, b.fileName));
      shared.set(
        keep,
        users.map((u) => u.path),
      );
      for (const s of set.slice(1)) {
        renamed.set(s.fileName, keep);
        docs.delete(s.fileName);
        stacksByFile.delete(s.fileName);
      }
    }
  }
  if (renamed.size > 0) {
    for (const s of stacks) if (!s.isNested) docs.set(s.fileName, renameFiles(docs.get(s.fileName)!, renamed) as Record<string, unknown>);
  }
  return shared;
}

/** The file name a template would have if it stood for no other (HeatStack.shareWith may give it an earlier one). */
function ownFileName(s: HeatStack): string {
  return s.standsFor.length === 0 ? s.fileName : `${s.stackName}.${s.templateName}.yaml`;
}

/**
 * Deep equality of JSON-like values. Mappings compare as mappings (key order aside: Heat reads them so); no arrays
 * of keys are built, since this runs over every node of every nested template.
 */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const arrayA = Array.isArray(a);
  if (arrayA !== Array.isArray(b)) return false;
  if (arrayA) {
    const aa = a as unknown[];
    const bb = b as unknown[];
    if (aa.length !== bb.length) return false;
    for (let i = 0; i < aa.length; i++) if (!sameValue(aa[i], bb[i])) return false;
    return true;
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  let count = 0;
  for (const k in ra) {
    if (!Object.prototype.hasOwnProperty.call(rb, k) || !sameValue(ra[k], rb[k])) return false;
    count++;
  }
  for (const k in rb) if (Object.prototype.hasOwnProperty.call(rb, k)) count--;
  return count === 0;
}

/** A copy of `value` with every string that is a renamed file name replaced (only what changes is copied). */
function renameFiles(value: unknown, renamed: ReadonlyMap<string, string>): unknown {
  if (typeof value === 'string') return value.endsWith('.yaml') ? (renamed.get(value) ?? value) : value;
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      const r = renameFiles(v, renamed);
      if (r !== v) (out ??= [...(value as unknown[])])[i] = r;
    }
    return out ?? value;
  }
  const obj = value as Record<string, unknown>;
  let out: Record<string, unknown> | undefined;
  for (const k in obj) {
    const v = obj[k];
    const r = renameFiles(v, renamed);
    if (r !== v) (out ??= { ...obj })[k] = r;
  }
  return out ?? value;
}

async function defaultChecker(): Promise<TemplateChecker> {
  const mod = (await import('../heat/checker.js')) as { heatSchemaChecker: () => TemplateChecker };
  return mod.heatSchemaChecker();
}

function asHotError(e: unknown, path: string): HotError {
  if (isHotError(e)) return e.constructPath ? e : new HotError(path, e.detail);
  const msg = e instanceof Error ? e.message : String(e);
  return new HotError(path, msg);
}

function dropUndefined<T extends Record<string, unknown>>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as T;
}

export function rootStacks(root: IConstruct): HeatStack[] {
  const out: HeatStack[] = [];
  const visit = (c: IConstruct) => {
    if (isHeatStack(c)) {
      out.push(c);
      return;
    }
    for (const child of c.node.children) visit(child);
  };
  visit(root);
  return out;
}

/** The stack itself (if a stack) and all nested stacks below it, depth first. */
export function allStacks(root: IConstruct): HeatStack[] {
  const out: HeatStack[] = [];
  const visit = (c: IConstruct) => {
    if (isHeatStack(c)) out.push(c);
    for (const child of c.node.children) visit(child);
  };
  visit(root);
  return out;
}

function stackParameters(elements: readonly HeatElement[]): HeatParameter[] {
  return elements.filter((e): e is HeatParameter => HeatParameter.isHeatParameter(e));
}
