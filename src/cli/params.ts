import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { HotError } from '../core/errors.js';
import { synthesize, type Manifest, type StackManifest } from '../core/synthesis.js';
import { loadApp } from './load-app.js';
import { reportError, type Io } from './report.js';
import { readyMadeStack } from './synth.js';

/** A parameter of a root template that a site must or may set (the generated secrets are not among them). */
export interface SiteParameter {
  readonly name: string;
  readonly label?: string;
  readonly description?: string;
  readonly type: string;
  /** The constraints, each as a phrase (e.g. `a glance.image`, `0 to 5`). */
  readonly constraints: readonly string[];
  /** No default anywhere: `openstack stack create` fails without it. */
  readonly required: boolean;
  /** The value the stack gets when the site sets none: from the template or from the generated environment file. */
  readonly default?: { readonly value: unknown; readonly from: 'template' | 'environment' };
}

interface HotParameter {
  readonly type?: string;
  readonly label?: string;
  readonly description?: string;
  readonly default?: unknown;
  readonly hidden?: boolean;
  readonly constraints?: readonly Record<string, unknown>[];
}

function bounds(r: unknown): string {
  const { min, max } = (r ?? {}) as { min?: number; max?: number };
  if (min !== undefined && max !== undefined) return `${min} to ${max}`;
  return min !== undefined ? `at least ${min}` : `at most ${String(max)}`;
}

/** A HOT parameter constraint as a phrase. */
export function describeConstraint(c: Record<string, unknown>): string {
  const why = typeof c.description === 'string' ? ` (${c.description})` : '';
  if ('custom_constraint' in c) return `a ${String(c.custom_constraint)}${why}`;
  if ('length' in c) return `length ${bounds(c.length)}${why}`;
  if ('range' in c) return `${bounds(c.range)}${why}`;
  if ('allowed_values' in c) return `one of ${(c.allowed_values as unknown[]).map((v) => JSON.stringify(v)).join(', ')}${why}`;
  if ('allowed_pattern' in c) return `matching ${String(c.allowed_pattern)}${why}`;
  if ('modulo' in c) {
    const m = c.modulo as { step?: number; offset?: number };
    return `${String(m.offset)} modulo ${String(m.step)}${why}`;
  }
  return `${JSON.stringify(c)}${why}`;
}

/**
 * The parameters a site must or may set for one stack of a synth output, from its root template and generated
 * environment file: every root parameter except the generated secrets (hidden, no default, set only by the secrets
 * environment file).
 */
export function siteParameters(stack: StackManifest, read: (file: string) => string): SiteParameter[] {
  const template = yaml.load(read(stack.template)) as { parameters?: Record<string, HotParameter> } | undefined;
  const env = yaml.load(read(stack.environment)) as { parameter_defaults?: Record<string, unknown> } | undefined;
  const envDefaults = env?.parameter_defaults ?? {};
  const out: SiteParameter[] = [];
  for (const [name, p] of Object.entries(template?.parameters ?? {})) {
    const info = stack.parameters[name];
    const fromEnv = Object.prototype.hasOwnProperty.call(envDefaults, name);
    const fromTemplate = p.default !== undefined;
    const required = info?.required ?? (!fromEnv && !fromTemplate);
    if (!required && !fromEnv && !fromTemplate && p.hidden === true && stack.secretEnvironment !== null) continue; // a secret
    out.push({
      name,
      ...(p.label !== undefined ? { label: p.label } : {}),
      ...(p.description !== undefined ? { description: p.description } : {}),
      type: p.type ?? info?.type ?? 'string',
      constraints: (p.constraints ?? []).map(describeConstraint),
      required,
      ...(fromEnv
        ? { default: { value: envDefaults[name], from: 'environment' as const } }
        : fromTemplate
          ? { default: { value: p.default, from: 'template' as const } }
          : {}),
    });
  }
  return out.sort((a, b) => Number(b.required) - Number(a.required) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The placeholder of a required parameter's value: what kind of value it wants. */
export function placeholder(p: SiteParameter): string {
  const custom = p.constraints.find((c) => /^a [a-z]+\.[a-z_]+/.test(c));
  return `<${custom ? custom.slice(2).split(' ')[0]! : p.type}>`;
}

/** The stack's create command with a `--parameter NAME=<...>` for every required parameter. */
export function createCommandWithParameters(stack: StackManifest, params: readonly SiteParameter[]): string {
  const required = params.filter((p) => p.required).map((p) => `--parameter ${p.name}=${placeholder(p)}`);
  if (required.length === 0) return stack.createCommand;
  const at = stack.createCommand.lastIndexOf(' --wait ');
  const [head, tail] = at >= 0 ? [stack.createCommand.slice(0, at), stack.createCommand.slice(at)] : [stack.createCommand, ''];
  return `${head} ${required.join(' ')}${tail}`;
}

function comment(text: string, indent: string): string[] {
  return text.split('\n').map((l) => `${indent}# ${l}`.trimEnd());
}

function flowYaml(value: unknown): string {
  return yaml.dump(value, { flowLevel: 0, lineWidth: -1 }).trimEnd();
}

/** An environment-file skeleton (YAML) of a stack's site parameters: the required ones to fill in, the others commented out. */
export function paramsSkeleton(stack: StackManifest, params: readonly SiteParameter[]): string {
  const lines = [
    `# Site parameters of stack ${stack.name}: fill in the required ones, uncomment and change any other.`,
    `# Use it as the last environment file: ${createCommandWithParameters(stack, []).replace(' --wait ', ` -e ${stack.name}.site.env.yaml --wait `)}`,
    ...(stack.secretEnvironment ? [`# The generated secrets are in ${stack.secretEnvironment}; they are not listed here.`] : []),
    'parameters:',
  ];
  for (const p of params) {
    lines.push('');
    lines.push(...comment(`${p.label ?? p.name}${p.required ? ' (required)' : ''}`, '  '));
    if (p.description && p.description !== p.label) lines.push(...comment(p.description, '  '));
    lines.push(`  # type: ${p.type}`);
    for (const c of p.constraints) lines.push(...comment(`constraint: ${c}`, '  '));
    if (p.default) {
      lines.push(`  # default: ${flowYaml(p.default.value)}${p.default.from === 'environment' ? ` (set by ${stack.environment})` : ''}`);
      lines.push(`  # ${p.name}: ${flowYaml(p.default.value)}`);
    } else {
      lines.push(`  ${p.name}: ${JSON.stringify(placeholder(p))}`);
    }
  }
  if (params.length === 0) lines.push('  {}');
  return lines.join('\n') + '\n';
}

export interface ParamsArgs {
  /** A program, or a synth output directory (with a manifest.json). @default - the ready-made stack */
  readonly app?: string;
  readonly stack?: string;
  readonly json?: boolean;
  readonly debug?: boolean;
}

/** The manifest and files of a synth output directory, or of the program synthesized in memory (nothing written). */
export async function outputOf(args: ParamsArgs): Promise<{ manifest: Manifest; read: (file: string) => string }> {
  if (args.app !== undefined && existsSync(args.app) && statSync(args.app).isDirectory()) {
    const manifestFile = join(args.app, 'manifest.json');
    if (!existsSync(manifestFile)) throw new HotError(args.app, 'a directory must be a synth output (it holds no manifest.json)');
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as Manifest;
    return { manifest, read: (f) => readFileSync(join(args.app!, f), 'utf8') };
  }
  const root = await loadApp(args.app ?? readyMadeStack(args.stack ?? 'default'));
  const result = await synthesize(root, { outdir: '.', write: false });
  return {
    manifest: result.manifest,
    read: (f) => {
      const text = result.files.get(f);
      if (text === undefined) throw new HotError(f, 'not produced by synth');
      return text;
    },
  };
}

export async function runParams(args: ParamsArgs, io: Io): Promise<number> {
  try {
    const { manifest, read } = await outputOf(args);
    const stacks = manifest.stacks.map((s) => ({ stack: s, params: siteParameters(s, read) }));
    if (args.json) {
      io.out(
        JSON.stringify(
          stacks.map(({ stack, params }) => ({
            stack: stack.name,
            parameters: params,
            createCommand: createCommandWithParameters(stack, params),
          })),
          null,
          2,
        ),
      );
      return 0;
    }
    io.out(stacks.map(({ stack, params }) => paramsSkeleton(stack, params)).join('---\n'));
    return 0;
  } catch (e) {
    return reportError(e, io, { debug: args.debug, json: args.json });
  }
}
