import {
  closeSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  fstatSync,
  readSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { cachedDataVersionTag } from 'node:v8';
import { Script } from 'node:vm';

/**
 * A CommonJS file of our bundle compiled with a V8 code cache.
 *
 * Node 20 parses and compiles every ES module on each start (it has no compile cache; Node 22 has one), and a synth
 * process is short: measured, compiling our code for the first time was a large share of it (about half of the
 * check phase was V8 compiling the generated ajv validators). The library is built as one CommonJS script
 * (scripts/bundle.mjs) and loaded here: compiled with the code V8 saved from an earlier run when there is one, and
 * otherwise saved at this process's exit, with the functions the run compiled.
 *
 * Where: `$HOTK8S_COMPILE_CACHE` names the directory; `0`, `off`, `false` or `no` there turns the cache off; by default
 * `$XDG_CACHE_HOME/hotk8s/compile` or `~/.cache/hotk8s/compile`. The directory is made private (0700), and a directory that is not
 * the user's own or that others can write to is not used (code read from it runs in this process). A cache file is
 * named by the bundle's content hash, the file's size and mtime, Node's version, the CPU architecture and V8's
 * cached-data tag, so a rebuilt or patched bundle or another Node never reads a stale one; V8 itself refuses data
 * made with other flags, and then the file is written again. Writing is best effort: a cache that cannot be written
 * costs nothing but the speed.
 */

/** How a file was loaded: with saved code, saved code V8 refused, without any, or with the cache turned off. */
export type CompileCacheUse = 'used' | 'rejected' | 'missing' | 'off';

interface Pending {
  readonly script: Script;
  readonly dir: string;
  readonly prefix: string;
  /** The saved code of each level (index 0: a run that only loaded; 1: a run that synthesized). */
  readonly files: readonly [string, string];
  /** The level of the saved code V8 took, or -1 when it took none. */
  readonly usedLevel: number;
  /** Saved code V8 refused: removed at exit unless written again. */
  readonly rejected?: string;
}

const pending = new Map<string, Pending>();
let exitHooked = false;
const uses = new Map<string, { use: CompileCacheUse; level: number }>();

/**
 * How much of the library a process ran, shared by every copy of this module in the process (the ES one that loads
 * the library script and the one inside it): 0 when it only loaded, 1 once it synthesized.
 */
const WORK_LEVEL = Symbol.for('hotk8s.compile-cache.level');
type WithLevel = typeof globalThis & { [WORK_LEVEL]?: number };

/**
 * Note that this process synthesized. The code saved at exit is then that of a synth, and a later synth finds its
 * functions compiled: code saved by a run that only imported the library (`hotk8s --version`, a test that builds a
 * construct) holds few of them, and is replaced by a synth's.
 */
export function noteSynthesized(): void {
  (globalThis as WithLevel)[WORK_LEVEL] = 1;
}

/**
 * Whether this process ran code that a usual run does not (shared like {@link WORK_LEVEL}): then it saves no code.
 * Saved code holds every function the saving run compiled, and each later run reads it whole: a first synth, which
 * issues the cluster's certificates with @peculiar/x509, saved about 0.7 MB more (2.1 MB), and every later synth,
 * which never issues one, loaded that much more (measured at 100 worker groups: about 10 ms of the import, 31
 * interleaved runs). The next usual run saves its own.
 */
const UNCOMMON = Symbol.for('hotk8s.compile-cache.uncommon');
type WithUncommon = typeof globalThis & { [UNCOMMON]?: boolean };

/** Note that this process ran code a usual run does not (issuing certificates): its compiled code is not saved. */
export function noteUncommonWork(): void {
  (globalThis as WithUncommon)[UNCOMMON] = true;
}

/** The cache directory from the environment, or undefined when the cache is off. */
export function compileCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const setting = env.HOTK8S_COMPILE_CACHE;
  if (setting !== undefined && setting !== '') {
    return /^(0|off|false|no)$/i.test(setting) ? undefined : setting;
  }
  const base = env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.startsWith('/') ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(base, 'hotk8s', 'compile');
}

/**
 * How a CommonJS file is wrapped for V8: the function Node's own loader would make of it, with one more argument
 * (`__hotk8s_import`). The bundle's scripts are written wrapped (scripts/cached-script.mjs), so that their text is the
 * script V8 compiles; any other file is wrapped when it is loaded.
 */
export const SCRIPT_HEAD = '(function (exports, require, module, __filename, __dirname, __hotk8s_import) {';
export const SCRIPT_TAIL = '\n})';

/**
 * Load `file` (a CommonJS module of our bundle) and return its exports. `buildKey` is the bundle's content hash
 * (written into the bundle at build time). `importModule`, the caller's own `import()`, is the script's
 * `__hotk8s_import`: how it loads ES modules from outside the bundle (src/private/dynamic-import.ts).
 */
export function loadCommonJs(
  file: string,
  buildKey: string,
  env: NodeJS.ProcessEnv = process.env,
  importModule?: (specifier: string) => Promise<unknown>,
): Record<string, unknown> {
  // our bundle writes these files in ASCII (esbuild's `charset: 'ascii'`, checked at build): read as Latin-1, which
  // is the same text and about twice as fast to decode as UTF-8. One buffer holds the file and then the saved code:
  // memory a process touches for the first time is costly (on a 2-core VM, about 3 ms per MiB), and a file that is
  // already wrapped (SCRIPT_HEAD ... SCRIPT_TAIL, as the bundle is built) goes to V8 as it is, with no copy.
  const fd = openSync(file, 'r');
  let size: number;
  let buffer: Buffer;
  let cache: { fd: number; size: number } | undefined;
  const dir = compileCacheDir(env);
  let target: { dir: string; prefix: string; files: [string, string] } | undefined;
  let level = -1;
  try {
    const st = fstatSync(fd);
    size = st.size;
    if (dir !== undefined) {
      const prefix = `${basename(file).replace(/[^A-Za-z0-9_.-]/g, '_')}-`;
      const key = [buildKey, st.size, Math.trunc(st.mtimeMs), process.version, process.arch, cachedDataVersionTag()].join('-');
      const stem = join(dir, `${prefix}${key.replace(/[^A-Za-z0-9_.-]/g, '_')}`);
      target = { dir, prefix, files: [`${stem}.v8`, `${stem}.synth.v8`] };
      if (privateDir(dir, false)) {
        // a synth's code first: it holds the functions a synth compiles
        for (level = 1; level >= 0; level--) {
          cache = openIfPresent(target.files[level]!);
          if (cache !== undefined) break;
        }
      }
    }
    buffer = Buffer.allocUnsafe(Math.max(size, cache?.size ?? 0));
    readFully(fd, buffer, size);
  } catch (e) {
    if (cache !== undefined) closeSync(cache.fd);
    throw e;
  } finally {
    closeSync(fd);
  }
  const text = buffer.toString('latin1', 0, size);
  const source = text.startsWith(SCRIPT_HEAD) && text.endsWith(SCRIPT_TAIL) ? text : `${SCRIPT_HEAD}${text}${SCRIPT_TAIL}`;
  let cachedData: Buffer | undefined;
  if (cache !== undefined) {
    try {
      readFully(cache.fd, buffer, cache.size);
      cachedData = buffer.subarray(0, cache.size);
    } catch {
      // unreadable saved code: compiled from source, and saved again at exit
    } finally {
      closeSync(cache.fd);
    }
  }
  const script = new Script(source, { filename: file, cachedData });
  const use: CompileCacheUse =
    target === undefined ? 'off' : cachedData === undefined ? 'missing' : script.cachedDataRejected ? 'rejected' : 'used';
  const usedLevel = use === 'used' ? level : -1;
  uses.set(file, { use, level: usedLevel });
  const module = { exports: {} as Record<string, unknown> };
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  run.call(module.exports, module.exports, createRequire(file), module, file, dirname(file), importModule);
  if (target !== undefined && usedLevel < 1) {
    // written at exit when this run did more than the saved code it used
    pending.set(file, { script, ...target, usedLevel, rejected: use === 'rejected' ? target.files[level] : undefined });
    if (!exitHooked) {
      exitHooked = true;
      process.once('exit', () => saveCompileCaches());
    }
  }
  return module.exports;
}

/** How `file` was last loaded in this process (for tests). */
export function compileCacheUse(file: string): CompileCacheUse | undefined {
  return uses.get(file)?.use;
}

/** The level of the saved code `file` was last loaded with in this process: 0, 1, or -1 for none (for tests). */
export function compileCacheLevel(file: string): number | undefined {
  return uses.get(file)?.level;
}

/**
 * Write the code of every file whose run did more than the saved code it was loaded with (run at exit, so that the
 * functions the run compiled are in it): a file loaded without usable saved code, or with a load's code by a run that
 * synthesized; nothing from a run that did uncommon work ({@link noteUncommonWork}). Saved code V8 refused and nothing
 * replaced is removed. Returns the cache files written. Never throws.
 */
export function saveCompileCaches(): string[] {
  const written: string[] = [];
  const level = (globalThis as WithLevel)[WORK_LEVEL] ?? 0;
  const uncommon = (globalThis as WithUncommon)[UNCOMMON] === true;
  for (const [key, p] of pending) {
    pending.delete(key);
    try {
      if (!privateDir(p.dir, true)) continue;
      if (level > p.usedLevel && !uncommon) {
        const file = p.files[level]!;
        const data = p.script.createCachedData();
        const tmp = `${file}.${process.pid}.tmp`;
        const fd = openSync(tmp, 'w', 0o600);
        try {
          writeSync(fd, data);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        renameSync(tmp, file);
        written.push(file);
        prune(p.dir, p.prefix);
      }
      if (p.rejected !== undefined && !written.includes(p.rejected)) rmSync(p.rejected, { force: true });
    } catch {
      // best effort: the next run compiles from source again
    }
  }
  return written;
}

/** Saved code of one file kept per cache directory: other installs (other versions, other projects) keep theirs. */
const KEEP_PER_FILE = 8;

/** Remove the oldest saved code of the file beyond {@link KEEP_PER_FILE} (files of other builds, or of other Nodes). */
function prune(dir: string, prefix: string): void {
  const saved = readdirSync(dir)
    .filter((f) => f.startsWith(prefix) && f.endsWith('.v8'))
    .map((f) => ({ f, t: statSync(join(dir, f)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const { f } of saved.slice(KEEP_PER_FILE)) rmSync(join(dir, f), { force: true });
}

/** Whether `dir` is a directory of this user that no one else can write to (made, 0700, when `create`). */
function privateDir(dir: string, create: boolean): boolean {
  try {
    if (create) mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(dir);
    if (!st.isDirectory()) return false;
    if (typeof process.getuid === 'function' && st.uid !== process.getuid()) return false;
    return (st.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

function openIfPresent(file: string): { fd: number; size: number } | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    return { fd, size: fstatSync(fd).size };
  } catch {
    if (fd !== undefined) closeSync(fd);
    return undefined;
  }
}

/** Read the first `size` bytes of `fd` into `buffer`. */
function readFully(fd: number, buffer: Buffer, size: number): void {
  let at = 0;
  while (at < size) {
    const n = readSync(fd, buffer, at, size - at, at);
    if (n === 0) throw new Error(`unexpected end of file at byte ${at} of ${size}`);
    at += n;
  }
}
