import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { HotError } from '../core/errors.js';
import { rootStacks, synthesize } from '../core/synthesis.js';
import { loadApp } from './load-app.js';
import { packageRoot } from '../private/package-root.js';
import { label, progress, reportError, type Io } from './report.js';
import { createCommandWithParameters, siteParameters } from './params.js';

export interface SynthArgs {
  readonly app?: string;
  readonly stack?: string;
  readonly out: string;
  readonly state?: string;
  readonly stdout?: boolean;
  /** Type-check a TypeScript app first (when its project has typescript). @default true */
  readonly typecheck?: boolean;
  /** Print the result (or the errors) as one JSON object on standard output. */
  readonly json?: boolean;
  /** Print stack traces of errors. */
  readonly debug?: boolean;
}

export type { Io } from './report.js';
export { reportError } from './report.js';

/**
 * A ready-made stack: when the CLI runs from the built package (`dist/`), the bundled `dist/lib/stacks/<name>.js`,
 * which shares the CLI's own copy of the library; from the sources, `stacks/<name>.ts`.
 */
export function readyMadeStack(name: string): string {
  const root = packageRoot()?.dir;
  if (!root) throw new HotError(`stacks/${name}`, 'the ready-made stacks are not found: this code runs outside the hotk8s package');
  const fromDist = fileURLToPath(import.meta.url).startsWith(join(root, 'dist'));
  const candidates = fromDist
    ? [join(root, 'dist', 'lib', 'stacks', `${name}.js`), join(root, 'stacks', `${name}.ts`)]
    : [join(root, 'stacks', `${name}.ts`)];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new HotError(`stacks/${name}`, 'no such ready-made stack (try default, dev or multi-pool)');
  return found;
}

export async function runSynth(args: SynthArgs, io: Io): Promise<number> {
  const stateDir = args.state ?? (args.app ? join(dirname(resolve(args.app)), '.hotk8s') : '.hotk8s');
  try {
    const appFile = args.app ?? readyMadeStack(args.stack ?? 'default');
    // a user's TypeScript program; the ready-made stacks are checked when the package is built
    if (args.app && args.typecheck !== false && /\.(c|m)?tsx?$/.test(args.app)) {
      if (!args.json) progress(io, `type-checking ${args.app}`);
      const { typecheckApp } = await import('./typecheck.js');
      typecheckApp(args.app);
    }
    // the compiled form of a TypeScript app is kept in the private state directory (not with --stdout, which may write nothing)
    const root = await loadApp(appFile, { cacheDir: args.stdout ? undefined : join(stateDir, 'cache') });
    const result = await synthesize(root, { outdir: args.out, stateDir, write: !args.stdout });
    if (!args.json) for (const a of result.annotations) io.err(`${label(io, a.level)}${a.path}: ${a.message}`);
    if (args.stdout) {
      const stacks = result.manifest.stacks;
      if (stacks.length !== 1) {
        throw new HotError(
          stacks.map((s) => s.name).join(', '),
          `--stdout prints one stack's root template; this app has ${stacks.length} stacks: use --out DIR instead`,
        );
      }
      const only = stacks[0]!;
      if (only.files.length === 0 && only.secretEnvironment === null) {
        // a single-file stack: the template is all there is; nothing is written
        io.out(result.files.get(only.template)!);
        return 0;
      }
      // nested templates (referenced by relative file name) and secrets: the same synthesis written to --out, so that
      // the root template printed resolves its nested templates there and the secrets go only to the 0600 file
      const written = await synthesize(root, { outdir: args.out, stateDir, write: true });
      const s = written.manifest.stacks[0]!;
      const rel = relative(process.cwd(), resolve(args.out)) || '.';
      io.err(
        `${s.name}: root template ${s.template} on standard output; wrote it with ${[...s.files, s.environment, ...(s.secretEnvironment ? [s.secretEnvironment] : []), ...s.artifacts].join(', ')} to ${rel}/`,
      );
      const params = siteParameters(s, (f) => written.files.get(f) ?? '');
      io.err(`  create with: (cd ${rel} && ${createCommandWithParameters(s, params)})`);
      io.out(written.files.get(s.template)!);
      return 0;
    }
    const rel = relative(process.cwd(), resolve(args.out)) || '.';
    if (args.json) {
      io.out(
        JSON.stringify({
          ok: true,
          outdir: resolve(args.out),
          stacks: result.manifest.stacks.map((s) => {
            const params = siteParameters(s, (f) => result.files.get(f) ?? '');
            return {
              name: s.name,
              files: [s.template, ...s.files, s.environment, ...(s.secretEnvironment ? [s.secretEnvironment] : []), ...s.artifacts],
              createCommand: `cd ${rel} && ${createCommandWithParameters(s, params)}`,
              requiredParameters: params.filter((p) => p.required).map((p) => p.name),
              requestBytes: result.requestBytes.get(s.name) ?? null,
            };
          }),
          warnings: result.annotations.map((a) => ({ level: a.level, path: a.path, message: a.message })),
          errors: [],
        }),
      );
      return 0;
    }
    for (const s of result.manifest.stacks) {
      io.out(
        `${s.name}: wrote ${[s.template, ...s.files, s.environment, ...(s.secretEnvironment ? [s.secretEnvironment] : []), ...s.artifacts].join(', ')}`,
      );
      const params = siteParameters(s, (f) => result.files.get(f) ?? '');
      io.out(`  create with: (cd ${rel} && ${createCommandWithParameters(s, params)})`);
      const required = params.filter((p) => p.required).length;
      if (required > 0) io.out(`  ${required} required parameter(s): \`hotk8s params\` prints an environment file to fill in`);
      const bytes = result.requestBytes.get(s.name);
      const limit = rootStacks(root).find((r) => r.node.id === s.name)?.maxJsonBodySize;
      if (bytes !== undefined && limit !== undefined) {
        io.out(`  request: ${kb(bytes)} of the ${kb(limit)} heat-api takes (max_json_body_size)`);
      }
    }
    return 0;
  } catch (e) {
    return reportError(e, io, { debug: args.debug, json: args.json, paths: { '--out': args.out, '--state': stateDir } });
  }
}

function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}
