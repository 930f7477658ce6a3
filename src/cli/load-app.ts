import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { IConstruct } from 'constructs';
import { App } from '../core/app.js';
import { HotError, isHotError } from '../core/errors.js';
import { isHeatStack } from '../core/element.js';
import { importModule } from '../private/dynamic-import.js';
import { shownPath } from './report.js';

const TS_EXTENSIONS = new Set(['.ts', '.mts', '.cts', '.tsx']);

export interface LoadAppOptions {
  /**
   * A private directory where a TypeScript program's compiled form is kept, with a hash of every file it was compiled
   * from (and of the tsconfig files above it): an unchanged program is not compiled again. @default - no cache
   */
  readonly cacheDir?: string;
}

/**
 * Load a user's program: a `.ts`/`.js` module whose default export is an App, a HeatStack, or a function
 * (possibly async) returning one. TypeScript is compiled with esbuild (or loaded through tsx), only when the file is
 * TypeScript.
 */
export async function loadApp(file: string, options: LoadAppOptions = {}): Promise<IConstruct> {
  const path = resolve(file);
  if (!existsSync(path)) throw new HotError(file, 'no such file');
  const url = pathToFileURL(path).href;
  let mod: { default?: unknown };
  try {
    if (TS_EXTENSIONS.has(extname(path))) {
      mod = await importTypeScript(path, url, options.cacheDir);
    } else {
      mod = (await importModule(url)) as { default?: unknown };
    }
  } catch (e) {
    if (isHotError(e)) throw e;
    const located = compileErrorOf(e, dirname(path));
    if (located) throw located;
    throw new HotError(file, `could not load the program: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
  }
  let exported = mod.default;
  // a TypeScript file outside an ESM package is loaded as CommonJS: `default` is then module.exports
  if (exported && typeof exported === 'object' && !App.isApp(exported) && !isHeatStack(exported)) {
    exported = (exported as { default?: unknown }).default;
  }
  if (typeof exported === 'function') {
    try {
      exported = await (exported as () => unknown)();
    } catch (e) {
      if (isHotError(e)) throw e;
      throw new HotError(file, `the program failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (App.isApp(exported)) return exported;
  if (isHeatStack(exported)) {
    const stack = exported as unknown as IConstruct;
    return stack.node.root;
  }
  throw new HotError(
    file,
    `the default export must be an App, a HeatStack, or a function returning one; got ${exported === undefined ? 'no default export' : typeof exported}`,
  );
}

/**
 * Load a TypeScript program. Its own files (the entry and what it imports by relative path) are compiled by esbuild
 * into one ES module written beside the entry for the moment of the import, so that packages (`hotk8s`, `constructs`)
 * and `import.meta.url`'s directory resolve exactly as for the app itself; packages stay external and load as plain
 * JavaScript. Measured on the benchmark's app: about 90 ms against 215 ms through tsx's loader hooks, which also run
 * for every package module. Where the directory is not writable or esbuild cannot compile the program, tsx loads it
 * file by file (and reports what is wrong).
 */
async function importTypeScript(path: string, url: string, cacheDir: string | undefined): Promise<{ default?: unknown }> {
  let text: string | undefined;
  try {
    text = (await compileTypeScript(path, cacheDir)).text;
  } catch (e) {
    // a syntax error (or a relative import of a missing file) has a place in the program: tsx would fail on it too
    if (compileErrorOf(e, dirname(path))) throw e;
    text = undefined;
  }
  if (text !== undefined) {
    const file = join(dirname(path), `.${basename(path)}.${process.pid}.hotk8s.mjs`);
    let written = false;
    try {
      writeFileSync(file, text, { flag: 'wx' });
      written = true;
      return (await importModule(pathToFileURL(file).href)) as { default?: unknown };
    } catch (e) {
      if (written) throw e; // the program itself failed to load
    } finally {
      if (written) rmSync(file, { force: true });
    }
  }
  const { tsImport } = (await importModule('tsx/esm/api')) as typeof import('tsx/esm/api');
  return (await tsImport(url, import.meta.url)) as { default?: unknown };
}

interface EsbuildMessage {
  readonly text?: unknown;
  readonly location?: { readonly file?: unknown; readonly line?: unknown; readonly column?: unknown } | null;
}

/**
 * A compile error of esbuild (or of tsx, which runs esbuild) as a HotError naming the file, line and column, e.g.
 * `app.ts:3:14: Expected ")" but found ";"`; undefined for an error without a place in the program.
 */
export function compileErrorOf(e: unknown, baseDir: string): HotError | undefined {
  const messages = (e as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(messages)) return undefined;
  const first = (messages as EsbuildMessage[]).find((m) => m?.location && typeof m.location.file === 'string');
  if (!first?.location) return undefined;
  const { file, line, column } = first.location;
  // esbuild counts columns from 0, editors from 1
  const where = `${shownPath(resolve(baseDir, file as string))}:${String(line)}:${typeof column === 'number' ? column + 1 : String(column)}`;
  const more = messages.length > 1 ? ` (and ${messages.length - 1} more error${messages.length > 2 ? 's' : ''})` : '';
  return new HotError(where, `${String(first.text)}${more}`);
}

/** A compiled program: its text, and whether it was compiled now or taken from the cache. */
export interface CompiledProgram {
  readonly text: string;
  readonly from: 'esbuild' | 'cache';
}

interface CacheEntry {
  readonly key: string;
  readonly inputs: readonly { readonly file: string; readonly sha256: string }[];
  readonly text: string;
}

/**
 * Compile a TypeScript program and the files it imports by relative path into one ES module (packages stay imports).
 * With a cache directory, the result is reused while the esbuild version, the program's path and every input file
 * (the tsconfig files from the program's directory up to its package root included) hash the same: loading esbuild
 * and compiling costs about 35 ms of every `hotk8s synth app.ts`, checking the hashes well under 1 ms.
 */
export async function compileTypeScript(path: string, cacheDir?: string): Promise<CompiledProgram> {
  const key = `${esbuildVersion()}\n${path}`;
  const entryFile = cacheDir === undefined ? undefined : join(cacheDir, `${sha256(key).slice(0, 32)}.json`);
  if (entryFile !== undefined) {
    const cached = readCache(entryFile, key, path);
    if (cached !== undefined) return { text: cached, from: 'cache' };
  }
  const esbuild = await import('esbuild');
  const out = await esbuild.build({
    entryPoints: [path],
    bundle: true,
    packages: 'external',
    format: 'esm',
    platform: 'node',
    target: 'node20',
    write: false,
    logLevel: 'silent',
    sourcemap: 'inline',
    metafile: true,
    absWorkingDir: dirname(path),
  });
  const text = out.outputFiles[0]?.text;
  if (text === undefined) throw new Error('esbuild produced no output');
  if (entryFile !== undefined) {
    const files = [...Object.keys(out.metafile.inputs).map((f) => resolve(dirname(path), f)), ...tsconfigFiles(path)];
    const entry: CacheEntry = { key, inputs: files.map((file) => ({ file, sha256: sha256(readFileSync(file)) })), text };
    try {
      mkdirSync(dirname(entryFile), { recursive: true, mode: 0o700 });
      writeFileSync(entryFile, JSON.stringify(entry), { mode: 0o600 });
      chmodSync(entryFile, 0o600);
    } catch {
      // a cache that cannot be written is only slower
    }
  }
  return { text, from: 'esbuild' };
}

function readCache(entryFile: string, key: string, path: string): string | undefined {
  try {
    const entry = JSON.parse(readFileSync(entryFile, 'utf8')) as CacheEntry;
    if (entry.key !== key || !Array.isArray(entry.inputs) || typeof entry.text !== 'string') return undefined;
    for (const input of entry.inputs) {
      if (sha256(readFileSync(input.file)) !== input.sha256) return undefined;
    }
    // a tsconfig added since the compile changes how the program compiles
    if (tsconfigFiles(path).some((f) => !entry.inputs.some((i) => i.file === f))) return undefined;
    return entry.text;
  } catch {
    return undefined; // missing, unreadable, or an input is gone
  }
}

/** tsconfig.json files from the program's directory up to its package root (esbuild reads the nearest ones). */
function tsconfigFiles(path: string): string[] {
  const out: string[] = [];
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const f = join(dir, 'tsconfig.json');
    if (existsSync(f)) out.push(f);
    if (existsSync(join(dir, 'package.json')) || dirname(dir) === dir) break;
  }
  return out;
}

function esbuildVersion(): string {
  try {
    const pkg = createRequire(import.meta.url).resolve('esbuild/package.json');
    return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
