import { existsSync, readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { HotError } from '../core/errors.js';
import type { StackManifest } from '../core/synthesis.js';
import { synthesize } from '../core/synthesis.js';
import { loadApp } from './load-app.js';
import { readOutput, type SynthOutput } from './output.js';
import { reportError, type Io } from './report.js';
import { readyMadeStack } from './synth.js';

/** What a stack update does to one resource. */
export type ChangeKind = 'added' | 'removed' | 'updated' | 'rebuilt' | 'resized' | 'replaced';

export interface ResourceChange {
  /** `<stack>/<logical id>`, through nested templates (`[member]` for every member of a group). */
  readonly path: string;
  readonly type: string;
  readonly kind: ChangeKind;
  /** Holds data or an identity others depend on (etcd server, port, volume, floating IP, load balancer). */
  readonly stateful: boolean;
  /** Why: the changed properties with their update semantics, e.g. `flavor (resize)`. */
  readonly reasons: readonly string[];
}

export { readOutput, type SynthOutput } from './output.js';

type Semantics = 'update' | 'replace' | 'immutable';

interface PropertySpecLike {
  readonly [name: string]: { readonly heat: string; readonly update: Semantics } | undefined;
}

let updateTable: Map<string, Map<string, Semantics>> | undefined;

/** Heat's update semantics of every property of every resource type, from the generated L1 classes. */
async function semanticsTable(): Promise<Map<string, Map<string, Semantics>>> {
  if (updateTable) return updateTable;
  const l1 = (await import('../heat/generated/index.generated.js')) as Record<string, unknown>;
  const table = new Map<string, Map<string, Semantics>>();
  for (const cls of Object.values(l1)) {
    const c = cls as { HEAT_TYPE?: unknown; PROPERTIES?: PropertySpecLike };
    if (typeof c?.HEAT_TYPE !== 'string' || !c.PROPERTIES) continue;
    const props = new Map<string, Semantics>();
    for (const spec of Object.values(c.PROPERTIES)) if (spec) props.set(spec.heat, spec.update);
    table.set(c.HEAT_TYPE, props);
  }
  updateTable = table;
  return table;
}

const STATEFUL_TYPES = new Set(['OS::Neutron::Port', 'OS::Cinder::Volume', 'OS::Neutron::FloatingIP', 'OS::Octavia::LoadBalancer']);

function isStateful(path: string, type: string): boolean {
  return STATEFUL_TYPES.has(type) || (type === 'OS::Nova::Server' && /etcd/i.test(path));
}

/** Nova's update policies (OS::Nova::Server), with Heat's defaults. */
const NOVA_POLICIES: Readonly<Record<string, { readonly policy: string; readonly default: string }>> = {
  image: { policy: 'image_update_policy', default: 'REBUILD' },
  flavor: { policy: 'flavor_update_policy', default: 'RESIZE' },
  user_data: { policy: 'user_data_update_policy', default: 'REPLACE' },
};

interface HotResource {
  readonly type: string;
  readonly properties?: Record<string, unknown>;
}
interface HotTemplate {
  readonly parameters?: Record<string, { readonly default?: unknown; readonly type?: string }>;
  readonly conditions?: Record<string, unknown>;
  readonly resources?: Record<string, HotResource>;
}

/** Canonical text of a value (keys sorted), for comparison. */
function canon(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : x,
  );
}

const UNKNOWN = Symbol('unknown');
type Env = ReadonlyMap<string, unknown>;
/** A template's conditions, evaluated where the parameters they read are known. */
type Conditions = ReadonlyMap<string, boolean | typeof UNKNOWN>;
const NO_CONDITIONS: Conditions = new Map();

/** Whether a resolved value still holds an intrinsic function (a value only the cloud knows). */
function opaque(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(opaque);
  if (!v || typeof v !== 'object') return false;
  const keys = Object.keys(v);
  if (keys.length === 1 && /^(get_|new_resource$|if$|list_join$|str_replace|list_concat|yaql$|digest$|repeat$|map_)/.test(keys[0]!))
    return true;
  return Object.values(v).some(opaque);
}

/** A condition's value (Heat's `equals`, `not`, `and`, `or`, `contains`, another condition's name), or UNKNOWN. */
function evalCondition(
  c: unknown,
  env: Env,
  named: ReadonlyMap<string, unknown>,
  seen: ReadonlySet<string> = new Set(),
): boolean | typeof UNKNOWN {
  if (typeof c === 'boolean') return c;
  if (typeof c === 'string') {
    if (c === 'true' || c === 'false') return c === 'true';
    if (!named.has(c) || seen.has(c)) return UNKNOWN;
    return evalCondition(named.get(c), env, named, new Set([...seen, c]));
  }
  if (!c || typeof c !== 'object' || Array.isArray(c)) return UNKNOWN;
  const [fn, arg] = Object.entries(c)[0] ?? [];
  const args = Array.isArray(arg) ? arg : [arg];
  const sub = (x: unknown) => evalCondition(x, env, named, seen);
  switch (fn) {
    case 'not': {
      const x = sub(arg);
      return x === UNKNOWN ? UNKNOWN : !x;
    }
    case 'and':
    case 'or': {
      const xs = args.map(sub);
      const decisive = fn === 'and' ? false : true;
      if (xs.includes(decisive)) return decisive;
      return xs.includes(UNKNOWN) ? UNKNOWN : !decisive;
    }
    case 'equals':
    case 'contains': {
      const [a, b] = args.map((x) => resolve(x, env, new Set(), NO_CONDITIONS));
      if (opaque(a) || opaque(b)) return UNKNOWN;
      if (fn === 'equals') return canon(a) === canon(b);
      return Array.isArray(b) && b.some((x) => canon(x) === canon(a));
    }
    default:
      return UNKNOWN;
  }
}

/** Every condition of a template under the parameter values `env`. */
function conditionsOf(t: HotTemplate, env: Env): Conditions {
  const named = new Map(Object.entries(t.conditions ?? {}));
  return new Map([...named.keys()].map((n) => [n, evalCondition(n, env, named)]));
}

/**
 * A value with `get_param` of known parameters replaced by their values, `if` decided where its condition is known,
 * `get_resource`/`get_attr` of replaced resources marked.
 */
function resolve(v: unknown, env: Env, replaced: ReadonlySet<string>, conds: Conditions): unknown {
  if (Array.isArray(v)) return v.map((x) => resolve(x, env, replaced, conds));
  if (!v || typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 1) {
    const [k] = keys as [string];
    const arg = o[k];
    if (k === 'get_param' && typeof arg === 'string' && env.has(arg) && env.get(arg) !== UNKNOWN) return env.get(arg);
    if (k === 'get_resource' && typeof arg === 'string' && replaced.has(arg)) return { new_resource: arg };
    if (k === 'get_attr' && Array.isArray(arg) && typeof arg[0] === 'string' && replaced.has(arg[0])) return { new_resource: arg };
    if (k === 'if' && Array.isArray(arg) && arg.length === 3) {
      const c = typeof arg[0] === 'string' ? (conds.get(arg[0]) ?? UNKNOWN) : UNKNOWN;
      if (c !== UNKNOWN) return resolve(c ? arg[1] : arg[2], env, replaced, conds);
    }
  }
  return Object.fromEntries(keys.map((k) => [k, resolve(o[k], env, replaced, conds)]));
}

/** A resource marked unhealthy, as the segments of its path below the template being compared. */
type Mark = readonly string[];

const GROUP = 'OS::Heat::ResourceGroup';

class Differ {
  readonly changes: ResourceChange[] = [];

  constructor(
    private readonly table: Map<string, Map<string, Semantics>>,
    private readonly oldOut: SynthOutput,
    private readonly newOut: SynthOutput,
    private readonly oldFiles: ReadonlySet<string>,
    private readonly newFiles: ReadonlySet<string>,
  ) {}

  private template(out: SynthOutput, file: string): HotTemplate {
    return (yaml.load(out.read(file)) ?? {}) as HotTemplate;
  }

  /**
   * Compare a template pair; `prefix` is the path of the resource that holds them, `marks` the resources below it
   * marked unhealthy (`openstack stack resource mark unhealthy`), which Heat replaces on the next update.
   */
  compare(prefix: string, oldFile: string, newFile: string, oldEnv: Env, newEnv: Env, marks: readonly Mark[] = []): void {
    const a = this.template(this.oldOut, oldFile);
    const b = this.template(this.newOut, newFile);
    const oldRes = a.resources ?? {};
    const newRes = b.resources ?? {};
    const oldParams = withDefaults(a, oldEnv);
    const newParams = withDefaults(b, newEnv);
    const ctx: Ctx = { oldParams, newParams, oldConds: conditionsOf(a, oldParams), newConds: conditionsOf(b, newParams) };
    for (const m of marks) {
      if (!(m[0]! in oldRes) || !(m[0]! in newRes))
        throw new HotError(`${prefix}/${m.join('/')}`, `--unhealthy: ${prefix} has no resource ${m[0]} in both OLD and NEW`);
    }
    const markedHere = new Set(marks.filter((m) => m.length === 1).map((m) => m[0]!));
    const names = [...new Set([...Object.keys(oldRes), ...Object.keys(newRes)])].sort();
    for (const n of names) {
      if (!(n in newRes)) this.push(`${prefix}/${n}`, oldRes[n]!.type, 'removed', []);
      else if (!(n in oldRes)) this.push(`${prefix}/${n}`, newRes[n]!.type, 'added', []);
    }
    // a replaced resource changes the id and attributes its dependents see: repeat until nothing more is replaced
    const replaced = new Set<string>(markedHere);
    let decided = new Map<string, { kind: ChangeKind | undefined; reasons: string[] }>();
    for (;;) {
      decided = new Map();
      for (const n of names.filter((x) => x in oldRes && x in newRes)) {
        const d = this.decide(oldRes[n]!, newRes[n]!, ctx, replaced);
        if (markedHere.has(n)) {
          d.reasons.unshift('marked unhealthy: Heat replaces it');
          d.kind = 'replaced';
        }
        const below = marks.filter((m) => m.length > 1 && m[0] === n);
        if (below.length > 0) {
          d.kind ??= 'updated';
          d.reasons.push(`${below.map((m) => m.slice(1).join('/')).join(', ')} marked unhealthy (below)`);
        }
        decided.set(n, d);
      }
      const more = [...decided].filter(([n, d]) => d.kind === 'replaced' && !replaced.has(n));
      if (more.length === 0) break;
      for (const [n] of more) replaced.add(n);
    }
    for (const [n, d] of decided) {
      const r = newRes[n]!;
      if (d.kind) this.push(`${prefix}/${n}`, r.type, d.kind, d.reasons);
      if (d.kind === 'replaced') continue;
      if (r.type === GROUP) this.members(`${prefix}/${n}`, oldRes[n]!, r, ctx);
      // nested templates: a template resource, or a group's member definition
      const nested = this.nestedOf(oldRes[n]!, r, ctx, replaced);
      const below = marks.filter((m) => m.length > 1 && m[0] === n).map((m) => m.slice(1));
      if (!nested) {
        if (below.length > 0)
          throw new HotError(`${prefix}/${n}/${below[0]!.join('/')}`, `--unhealthy: ${prefix}/${n} holds no nested template`);
        continue;
      }
      // a nested template whose text changed (not its parameters) changes what Heat updates below: the resource that
      // holds it is updated too (Heat updates the nested stack)
      const holder = (from: number) => {
        if (!d.kind && this.changes.length > from)
          this.push(`${prefix}/${n}`, r.type, 'updated', [nested.member ? 'member template changed (below)' : 'template changed (below)']);
      };
      if (!nested.member) {
        const from = this.changes.length;
        this.compare(`${prefix}/${n}`, nested.oldFile, nested.newFile, nested.oldEnv, nested.newEnv, below);
        holder(from);
        continue;
      }
      const before = this.changes.length;
      this.compare(`${prefix}/${n}/[member]`, nested.oldFile, nested.newFile, nested.oldEnv, nested.newEnv);
      const common = new Set(this.changes.slice(before).map((c) => `${c.path.slice(`${prefix}/${n}/[member]`.length)} ${c.kind}`));
      // a marked member: what happens to it besides what happens to every member
      const byIndex = new Map<string, Mark[]>();
      for (const m of below) {
        if (!/^\d+$/.test(m[0]!))
          throw new HotError(
            `${prefix}/${n}/${m.join('/')}`,
            `--unhealthy: a member of group ${prefix}/${n} is named by its index (0, 1, ...), not ${m[0]}`,
          );
        byIndex.set(m[0]!, [...(byIndex.get(m[0]!) ?? []), m.slice(1)]);
      }
      for (const [i, ms] of byIndex) {
        const sub = new Differ(this.table, this.oldOut, this.newOut, this.oldFiles, this.newFiles);
        const idx = (env: Env) => new Map([...env].map(([k, v]) => [k, canon(v) === '"%index%"' ? Number(i) : v]));
        sub.compare(`${prefix}/${n}/${i}`, nested.oldFile, nested.newFile, idx(nested.oldEnv), idx(nested.newEnv), ms);
        this.changes.push(...sub.changes.filter((c) => !common.has(`${c.path.slice(`${prefix}/${n}/${i}`.length)} ${c.kind}`)));
      }
      holder(before);
    }
  }

  /** A group's members added or removed by a count change (Heat removes the highest indexes unless told otherwise). */
  private members(path: string, a: HotResource, b: HotResource, ctx: Ctx): void {
    const count = (r: HotResource, env: Env, conds: Conditions) => resolve(r.properties?.count ?? 1, env, new Set(), conds);
    const from = count(a, ctx.oldParams, ctx.oldConds);
    const to = count(b, ctx.newParams, ctx.newConds);
    if (canon(from) === canon(to)) return;
    const type = String((b.properties?.resource_def as { type?: unknown } | undefined)?.type ?? 'member');
    const n = (v: unknown) => (typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined);
    const [x, y] = [n(from), n(to)];
    if (x === undefined || y === undefined) {
      this.push(`${path}/[member]`, type, 'added', [`count ${x ?? 'unknown'} -> ${y ?? 'unknown'}: members added or removed`]);
      return;
    }
    const policy = b.properties?.removal_policies ? ' (or those its removal_policies name)' : '';
    for (let i = x; i < y; i++) this.push(`${path}/${i}`, type, 'added', [`count ${x} -> ${y}`]);
    for (let i = y; i < x; i++) this.push(`${path}/${i}`, type, 'removed', [`count ${x} -> ${y}${policy}`]);
  }

  private nestedOf(
    a: HotResource,
    b: HotResource,
    ctx: Ctx,
    replaced: ReadonlySet<string>,
  ): { oldFile: string; newFile: string; oldEnv: Env; newEnv: Env; member: boolean } | undefined {
    const def = (r: HotResource) =>
      r.type === GROUP ? ((r.properties?.resource_def ?? {}) as { type?: string; properties?: Record<string, unknown> }) : r;
    const da = def(a);
    const db = def(b);
    if (typeof da.type !== 'string' || typeof db.type !== 'string') return undefined;
    if (!this.oldFiles.has(da.type) || !this.newFiles.has(db.type)) return undefined;
    // a parameter's value is its expression in the parent, resolved as far as known: equal expressions are equal values
    const env = (props: Record<string, unknown> | undefined, params: Env, rep: ReadonlySet<string>, conds: Conditions) =>
      new Map(Object.entries(props ?? {}).map(([k, v]) => [k, resolve(v, params, rep, conds)]));
    return {
      oldFile: da.type,
      newFile: db.type,
      oldEnv: env(da.properties, ctx.oldParams, new Set(), ctx.oldConds),
      newEnv: env(db.properties, ctx.newParams, replaced, ctx.newConds),
      member: a.type === GROUP,
    };
  }

  private decide(
    a: HotResource,
    b: HotResource,
    ctx: Ctx,
    replaced: ReadonlySet<string>,
  ): { kind: ChangeKind | undefined; reasons: string[] } {
    if (a.type !== b.type) return { kind: 'replaced', reasons: [`type ${a.type} -> ${b.type}`] };
    const pa = (resolve(a.properties ?? {}, ctx.oldParams, new Set(), ctx.oldConds) ?? {}) as Record<string, unknown>;
    const pb = (resolve(b.properties ?? {}, ctx.newParams, replaced, ctx.newConds) ?? {}) as Record<string, unknown>;
    const changed = [...new Set([...Object.keys(pa), ...Object.keys(pb)])].filter((k) => canon(pa[k]) !== canon(pb[k])).sort();
    if (changed.length === 0) return { kind: undefined, reasons: [] };
    const isTemplate = this.newFiles.has(b.type);
    if (isTemplate) return { kind: 'updated', reasons: changed.map((k) => `${k} (nested stack parameter)`) };
    const spec = this.table.get(b.type);
    const reasons: string[] = [];
    let kind: ChangeKind = 'updated';
    const rank: Record<ChangeKind, number> = { added: 0, removed: 0, updated: 1, resized: 2, rebuilt: 3, replaced: 4 };
    const raise = (k: ChangeKind) => {
      if (rank[k] > rank[kind]) kind = k;
    };
    for (const k of changed) {
      const s = spec?.get(k);
      if (b.type === GROUP && k === 'count') {
        reasons.push(`count ${show(pa[k])} -> ${show(pb[k])}`);
        raise('resized');
        continue;
      }
      if (b.type === GROUP && k === 'resource_def' && this.newFiles.has((pb[k] as { type?: string })?.type ?? '')) {
        reasons.push('resource_def (members updated, below)');
        continue;
      }
      const nova = b.type === 'OS::Nova::Server' ? NOVA_POLICIES[k] : undefined;
      if (nova && s !== 'replace') {
        const policy = String(pb[nova.policy] ?? nova.default);
        const effect: ChangeKind =
          policy === 'IGNORE' ? 'updated' : policy === 'REPLACE' ? 'replaced' : policy.startsWith('REBUILD') ? 'rebuilt' : 'resized';
        if (policy === 'IGNORE') continue; // Heat keeps the server as it is
        reasons.push(`${k} (${nova.policy} ${policy})`);
        raise(effect);
        continue;
      }
      if (s === 'update') {
        reasons.push(`${k} (update in place)`);
      } else if (s === 'replace' || s === 'immutable') {
        reasons.push(`${k} (${s === 'immutable' ? 'immutable: Heat refuses the update' : 'replace'})`);
        raise('replaced');
      } else {
        reasons.push(`${k} (update semantics unknown: counted as a replacement)`);
        raise('replaced');
      }
    }
    if (reasons.length === 0) return { kind: undefined, reasons: [] };
    return { kind, reasons };
  }

  private push(path: string, type: string, kind: ChangeKind, reasons: string[]): void {
    this.changes.push({ path, type, kind, stateful: isStateful(path, type), reasons });
  }
}

/** What the templates' parameters and conditions are on each side of the update. */
interface Ctx {
  readonly oldParams: Env;
  readonly newParams: Env;
  readonly oldConds: Conditions;
  readonly newConds: Conditions;
}

/** A value for a reason: a known scalar as it is, anything only the cloud knows as `?`. */
function show(v: unknown): string {
  return v === undefined || opaque(v) ? '?' : typeof v === 'object' ? canon(v) : String(v as string | number | boolean);
}

/** A template's parameter values: those given, else the template's defaults. */
function withDefaults(t: HotTemplate, given: Env): Env {
  const env = new Map<string, unknown>();
  for (const [k, p] of Object.entries(t.parameters ?? {})) {
    if (given.has(k)) env.set(k, typed(given.get(k), p.type));
    else if (p.default !== undefined) env.set(k, typed(p.default, p.type));
    else env.set(k, UNKNOWN);
  }
  return env;
}

/** A parameter value as Heat holds it: `--parameter n=3` is the number 3 for a `number` parameter. */
function typed(v: unknown, type: string | undefined): unknown {
  if (type === 'number' && typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
  if (type === 'boolean' && typeof v === 'string' && /^(true|false|yes|no|on|off|1|0|t|f|y|n)$/i.test(v))
    return /^(true|yes|on|1|t|y)$/i.test(v);
  if (type === 'comma_delimited_list' && typeof v === 'string') return v === '' ? [] : v.split(',').map((x) => x.trim());
  return v;
}

/**
 * The values a stack's environment file gives, and those of its secret environment file (certificates a re-synth
 * renews live there), `undefined` where that file is not there (a synth in memory makes none, a copy may leave the
 * 0600 file out).
 */
function rootEnv(out: SynthOutput, stack: StackManifest): { plain: Env; secret: Env | undefined } {
  const load = (file: string) => {
    const doc = (yaml.load(out.read(file)) ?? {}) as { parameter_defaults?: Record<string, unknown>; parameters?: Record<string, unknown> };
    return new Map(Object.entries({ ...doc.parameter_defaults, ...doc.parameters }));
  };
  let secret: Env | undefined;
  try {
    secret = stack.secretEnvironment ? load(stack.secretEnvironment) : undefined;
  } catch {
    secret = undefined;
  }
  return { plain: load(stack.environment), secret };
}

export interface DiffOptions {
  /**
   * Parameter values the update sets (`openstack stack update --existing --parameter k=v`, or `-e` files): on NEW
   * only, on top of NEW's environment; parameters not given keep their value. A parameter no stack declares is an
   * error.
   */
  readonly parameters?: Readonly<Record<string, unknown>>;
  /**
   * Resources marked unhealthy (`openstack stack resource mark unhealthy`), as `<stack>/<resource>/<member index>/<resource>`
   * paths (e.g. `default/ClusterEtcdMembersNodesGroup6E2F1A01/1/Server`): Heat replaces them on the next update.
   */
  readonly unhealthy?: readonly string[];
}

/** Resource by resource, what updating the stacks of OLD to NEW does; stateful replacements first. */
export async function diffOutputs(oldOut: SynthOutput, newOut: SynthOutput, opts: DiffOptions = {}): Promise<ResourceChange[]> {
  const table = await semanticsTable();
  const changes: ResourceChange[] = [];
  const given = Object.entries(opts.parameters ?? {});
  const unhealthy = (opts.unhealthy ?? []).map((p) => p.split('/').filter((x) => x !== ''));
  for (const [k, v] of given) {
    const declared = newOut.manifest.stacks.some((s) => {
      const t = (yaml.load(newOut.read(s.template)) ?? {}) as HotTemplate;
      return t.parameters?.[k] !== undefined;
    });
    if (!declared)
      throw new HotError(
        `--parameter ${k}`,
        `no stack of NEW declares the parameter ${k} (value ${JSON.stringify(v)}): see hotk8s params for the parameters`,
      );
  }
  for (const m of unhealthy) {
    if (m.length < 2 || !newOut.manifest.stacks.some((s) => s.name === m[0]))
      throw new HotError(
        `--unhealthy ${m.join('/')}`,
        `a resource path <stack>/<resource>[/<member index>/<resource>...] in a stack of NEW (${newOut.manifest.stacks.map((s) => s.name).join(', ')}), not ${JSON.stringify(m.join('/'))}`,
      );
  }
  for (const ns of newOut.manifest.stacks) {
    const os = oldOut.manifest.stacks.find((s) => s.name === ns.name);
    if (!os) {
      changes.push({ path: ns.name, type: 'stack', kind: 'added', stateful: false, reasons: ['a new stack'] });
      continue;
    }
    const d = new Differ(table, oldOut, newOut, new Set(os.files), new Set(ns.files));
    const o = rootEnv(oldOut, os);
    const n = rootEnv(newOut, ns);
    // secrets only one side holds count as unchanged (as any value only the cloud knows)
    const oldSecret = o.secret ?? n.secret ?? new Map();
    const newSecret = n.secret ?? o.secret ?? new Map();
    const oldEnv = new Map([...o.plain, ...oldSecret]);
    const newEnv = new Map([...n.plain, ...newSecret, ...given]);
    const marks = unhealthy.filter((m) => m[0] === ns.name).map((m) => m.slice(1));
    d.compare(ns.name, os.template, ns.template, oldEnv, newEnv, marks);
    changes.push(...d.changes);
  }
  for (const os of oldOut.manifest.stacks) {
    if (!newOut.manifest.stacks.some((s) => s.name === os.name)) {
      changes.push({ path: os.name, type: 'stack', kind: 'removed', stateful: false, reasons: ['no longer in the program'] });
    }
  }
  const order: Record<ChangeKind, number> = { replaced: 0, removed: 1, rebuilt: 2, resized: 3, updated: 4, added: 5 };
  const loud = (c: ResourceChange) => c.stateful && (c.kind === 'replaced' || c.kind === 'removed');
  return changes.sort((x, y) => Number(loud(y)) - Number(loud(x)) || order[x.kind] - order[y.kind] || (x.path < y.path ? -1 : 1));
}

/** The parameters an update sets: environment files in order (`parameter_defaults`, then `parameters`), then `KEY=VALUE`. */
export function updateParameters(environments: readonly string[], pairs: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const file of environments) {
    if (!existsSync(file)) throw new HotError(`-e ${file}`, 'environment file not found');
    const doc = yaml.load(readFileSync(file, 'utf8')) as Record<string, unknown> | null;
    if (doc !== null && (typeof doc !== 'object' || Array.isArray(doc)))
      throw new HotError(`-e ${file}`, 'an environment file is a YAML mapping (parameters, parameter_defaults, ...)');
    for (const section of ['parameter_defaults', 'parameters'] as const) {
      const v = doc?.[section];
      if (v === undefined || v === null) continue;
      if (typeof v !== 'object' || Array.isArray(v))
        throw new HotError(`-e ${file}`, `${section} must be a mapping, not ${JSON.stringify(v)}`);
      Object.assign(out, v);
    }
  }
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new HotError(`--parameter ${p}`, `a parameter is KEY=VALUE, not ${JSON.stringify(p)}`);
    out[p.slice(0, eq)] = p.slice(eq + 1);
  }
  return out;
}

export interface DiffArgs {
  readonly old?: string;
  readonly new?: string;
  /** The program for NEW when no NEW directory is given. @default - the ready-made stack */
  readonly app?: string;
  readonly stack?: string;
  /** The last synth output: OLD when none is given. */
  readonly out: string;
  readonly failOnReplace?: 'stateful' | 'any';
  /** `KEY=VALUE` parameters the update sets (after the environment files). */
  readonly parameters?: readonly string[];
  /** Environment files the update passes: their `parameters` and `parameter_defaults`. */
  readonly environments?: readonly string[];
  /** Resources marked unhealthy: `STACK/RESOURCE/INDEX/RESOURCE`. */
  readonly unhealthy?: readonly string[];
  readonly json?: boolean;
  readonly debug?: boolean;
}

export async function runDiff(args: DiffArgs, io: Io): Promise<number> {
  try {
    const oldOut = readOutput(args.old ?? args.out);
    let newOut: SynthOutput;
    if (args.new !== undefined) {
      newOut = readOutput(args.new);
    } else {
      const root = await loadApp(args.app ?? readyMadeStack(args.stack ?? 'default'));
      const result = await synthesize(root, { outdir: '.', write: false });
      newOut = {
        manifest: result.manifest,
        read: (f) => {
          const t = result.files.get(f);
          if (t === undefined) throw new HotError(f, 'not produced by synth');
          return t;
        },
      };
    }
    const changes = await diffOutputs(oldOut, newOut, {
      parameters: updateParameters(args.environments ?? [], args.parameters ?? []),
      unhealthy: args.unhealthy,
    });
    const stateful = changes.filter((c) => c.stateful && (c.kind === 'replaced' || c.kind === 'removed'));
    if (args.json) {
      io.out(JSON.stringify({ changes, statefulReplacements: stateful.length }, null, 2));
    } else if (changes.length === 0) {
      io.out('no changes');
    } else {
      for (const c of stateful) {
        io.out(`!! ${c.kind.toUpperCase()} STATEFUL ${c.path} (${c.type})${c.reasons.length ? `: ${c.reasons.join(', ')}` : ''}`);
      }
      for (const c of changes.filter((x) => !stateful.includes(x))) {
        io.out(`${c.kind.padEnd(8)} ${c.path} (${c.type})${c.reasons.length ? `: ${c.reasons.join(', ')}` : ''}`);
      }
      const counts = (['replaced', 'removed', 'rebuilt', 'resized', 'updated', 'added'] as const)
        .map((k) => [k, changes.filter((c) => c.kind === k).length] as const)
        .filter(([, n]) => n > 0)
        .map(([k, n]) => `${n} ${k}`);
      io.out(`${counts.join(', ')}${stateful.length ? `; ${stateful.length} stateful resource(s) replaced or removed` : ''}`);
    }
    if (args.failOnReplace === 'stateful' && stateful.length > 0) return 3;
    if (args.failOnReplace === 'any' && changes.some((c) => c.kind === 'replaced' || c.kind === 'removed')) return 3;
    return 0;
  } catch (e) {
    return reportError(e, io, { debug: args.debug, json: args.json });
  }
}
