import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { HotError } from '../core/errors.js';
import type { Manifest, StackManifest } from '../core/synthesis.js';
import { synthesize } from '../core/synthesis.js';
import { loadApp } from './load-app.js';
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

/** A synth output: its manifest and a reader of its files. */
export interface SynthOutput {
  readonly manifest: Manifest;
  read(file: string): string;
}

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
  readonly parameters?: Record<string, { readonly default?: unknown }>;
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

/** A value with `get_param` of known parameters replaced by their values; `get_resource`/`get_attr` of replaced resources marked. */
function resolve(v: unknown, env: Env, replaced: ReadonlySet<string>): unknown {
  if (Array.isArray(v)) return v.map((x) => resolve(x, env, replaced));
  if (!v || typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 1) {
    const [k] = keys as [string];
    const arg = o[k];
    if (k === 'get_param' && typeof arg === 'string' && env.has(arg) && env.get(arg) !== UNKNOWN) return env.get(arg);
    if (k === 'get_resource' && typeof arg === 'string' && replaced.has(arg)) return { new_resource: arg };
    if (k === 'get_attr' && Array.isArray(arg) && typeof arg[0] === 'string' && replaced.has(arg[0])) return { new_resource: arg };
  }
  return Object.fromEntries(keys.map((k) => [k, resolve(o[k], env, replaced)]));
}

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

  /** Compare a template pair; `prefix` is the path of the resource that holds them. */
  compare(prefix: string, oldFile: string, newFile: string, oldEnv: Env, newEnv: Env): void {
    const a = this.template(this.oldOut, oldFile);
    const b = this.template(this.newOut, newFile);
    const oldRes = a.resources ?? {};
    const newRes = b.resources ?? {};
    const oldParams = withDefaults(a, oldEnv);
    const newParams = withDefaults(b, newEnv);
    const names = [...new Set([...Object.keys(oldRes), ...Object.keys(newRes)])].sort();
    for (const n of names) {
      if (!(n in newRes)) this.push(`${prefix}/${n}`, oldRes[n]!.type, 'removed', []);
      else if (!(n in oldRes)) this.push(`${prefix}/${n}`, newRes[n]!.type, 'added', []);
    }
    // a replaced resource changes the id and attributes its dependents see: repeat until nothing more is replaced
    const replaced = new Set<string>();
    let decided = new Map<string, { kind: ChangeKind | undefined; reasons: string[] }>();
    for (;;) {
      decided = new Map();
      for (const n of names.filter((x) => x in oldRes && x in newRes)) {
        decided.set(n, this.decide(oldRes[n]!, newRes[n]!, oldParams, newParams, replaced));
      }
      const more = [...decided].filter(([n, d]) => d.kind === 'replaced' && !replaced.has(n));
      if (more.length === 0) break;
      for (const [n] of more) replaced.add(n);
    }
    for (const [n, d] of decided) {
      const r = newRes[n]!;
      if (d.kind) this.push(`${prefix}/${n}`, r.type, d.kind, d.reasons);
      if (d.kind === 'replaced') continue;
      // nested templates: a template resource, or a group's member definition
      const nested = this.nestedOf(oldRes[n]!, newRes[n]!, oldParams, newParams, replaced);
      if (nested)
        this.compare(`${prefix}/${n}${nested.member ? '/[member]' : ''}`, nested.oldFile, nested.newFile, nested.oldEnv, nested.newEnv);
    }
  }

  private nestedOf(
    a: HotResource,
    b: HotResource,
    oldParams: Env,
    newParams: Env,
    replaced: ReadonlySet<string>,
  ): { oldFile: string; newFile: string; oldEnv: Env; newEnv: Env; member: boolean } | undefined {
    const def = (r: HotResource) =>
      r.type === 'OS::Heat::ResourceGroup'
        ? ((r.properties?.resource_def ?? {}) as { type?: string; properties?: Record<string, unknown> })
        : r;
    const da = def(a);
    const db = def(b);
    if (typeof da.type !== 'string' || typeof db.type !== 'string') return undefined;
    if (!this.oldFiles.has(da.type) || !this.newFiles.has(db.type)) return undefined;
    // a parameter's value is its expression in the parent, resolved as far as known: equal expressions are equal values
    const env = (props: Record<string, unknown> | undefined, params: Env, rep: ReadonlySet<string>) =>
      new Map(Object.entries(props ?? {}).map(([k, v]) => [k, resolve(v, params, rep)]));
    return {
      oldFile: da.type,
      newFile: db.type,
      oldEnv: env(da.properties, oldParams, new Set()),
      newEnv: env(db.properties, newParams, replaced),
      member: a.type === 'OS::Heat::ResourceGroup',
    };
  }

  private decide(
    a: HotResource,
    b: HotResource,
    oldParams: Env,
    newParams: Env,
    replaced: ReadonlySet<string>,
  ): { kind: ChangeKind | undefined; reasons: string[] } {
    if (a.type !== b.type) return { kind: 'replaced', reasons: [`type ${a.type} -> ${b.type}`] };
    const pa = (resolve(a.properties ?? {}, oldParams, new Set()) ?? {}) as Record<string, unknown>;
    const pb = (resolve(b.properties ?? {}, newParams, replaced) ?? {}) as Record<string, unknown>;
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
      if (b.type === 'OS::Heat::ResourceGroup' && k === 'count') {
        reasons.push(`count ${String(pa[k] ?? '?')} -> ${String(pb[k] ?? '?')}`);
        raise('resized');
        continue;
      }
      if (b.type === 'OS::Heat::ResourceGroup' && k === 'resource_def' && this.newFiles.has((pb[k] as { type?: string })?.type ?? '')) {
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

/** A template's parameter values: those given, else the template's defaults. */
function withDefaults(t: HotTemplate, given: Env): Env {
  const env = new Map<string, unknown>();
  for (const [k, p] of Object.entries(t.parameters ?? {})) {
    if (given.has(k)) env.set(k, given.get(k));
    else if (p.default !== undefined) env.set(k, p.default);
    else env.set(k, UNKNOWN);
  }
  return env;
}

function rootEnv(out: SynthOutput, stack: StackManifest): Env {
  const env = (yaml.load(out.read(stack.environment)) ?? {}) as { parameter_defaults?: Record<string, unknown> };
  return new Map(Object.entries(env.parameter_defaults ?? {}));
}

/** Resource by resource, what updating the stacks of OLD to NEW does; stateful replacements first. */
export async function diffOutputs(oldOut: SynthOutput, newOut: SynthOutput): Promise<ResourceChange[]> {
  const table = await semanticsTable();
  const changes: ResourceChange[] = [];
  for (const ns of newOut.manifest.stacks) {
    const os = oldOut.manifest.stacks.find((s) => s.name === ns.name);
    if (!os) {
      changes.push({ path: ns.name, type: 'stack', kind: 'added', stateful: false, reasons: ['a new stack'] });
      continue;
    }
    const d = new Differ(table, oldOut, newOut, new Set(os.files), new Set(ns.files));
    d.compare(ns.name, os.template, ns.template, rootEnv(oldOut, os), rootEnv(newOut, ns));
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

/** A synth output directory. */
export function readOutput(dir: string): SynthOutput {
  const file = join(dir, 'manifest.json');
  if (!existsSync(file))
    throw new HotError(dir, 'not a synth output directory (it holds no manifest.json): run hotk8s synth first, or name one');
  return { manifest: JSON.parse(readFileSync(file, 'utf8')) as Manifest, read: (f) => readFileSync(join(dir, f), 'utf8') };
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
    const changes = await diffOutputs(oldOut, newOut);
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
