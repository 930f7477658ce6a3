import {
  closeSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
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
 * process is short: measured, about half of the check phase was V8 compiling the Heat validation layer (the
 * generated ajv validators) for the first time. That layer is built as one CommonJS file (scripts/bundle.mjs) and
 * loaded here: compiled with the code V8 saved from an earlier run when there is one, and otherwise saved at this
 * process's exit, with the functions the run compiled.
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
  readonly file: string;
  readonly prefix: string;
}

const pending = new Map<string, Pending>();
let exitHooked = false;
const uses = new Map<string, CompileCacheUse>();

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
 * Load `file` (a CommonJS module of our bundle) and return its exports. `buildKey` is the bundle's content hash
 * (written into the bundle at build time).
 */
export function loadCommonJs(file: string, buildKey: string, env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  // our bundle writes these files in ASCII (esbuild's `charset: 'ascii'`, checked at build): read as Latin-1, which
  // is the same text and about twice as fast to decode as UTF-8
  const source = readFileSync(file, 'latin1');
  const dir = compileCacheDir(env);
  let target: Omit<Pending, 'script'> | undefined;
  let cachedData: Buffer | undefined;
  if (dir !== undefined) {
    const st = statSync(file);
    const prefix = `${basename(file).replace(/[^A-Za-z0-9_.-]/g, '_')}-`;
    const key = [buildKey, st.size, Math.trunc(st.mtimeMs), process.version, process.arch, cachedDataVersionTag()].join('-');
    target = { dir, prefix, file: join(dir, `${prefix}${key.replace(/[^A-Za-z0-9_.-]/g, '_')}.v8`) };
    cachedData = privateDir(dir, false) ? readIfPresent(target.file) : undefined;
  }
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    cachedData,
  });
  const use: CompileCacheUse =
    target === undefined ? 'off' : cachedData === undefined ? 'missing' : script.cachedDataRejected ? 'rejected' : 'used';
  uses.set(file, use);
  const module = { exports: {} as Record<string, unknown> };
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  run.call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  if (target !== undefined && use !== 'used') {
    pending.set(file, { script, ...target });
    if (!exitHooked) {
      exitHooked = true;
      process.once('exit', () => saveCompileCaches());
    }
  }
  return module.exports;
}

/** How `file` was last loaded in this process (for tests). */
export function compileCacheUse(file: string): CompileCacheUse | undefined {
  return uses.get(file);
}

/**
 * Write the code of every file loaded without usable saved code (run at exit, so that the functions the run
 * compiled are in it). Returns the cache files written. Never throws.
 */
export function saveCompileCaches(): string[] {
  const written: string[] = [];
  for (const [key, p] of pending) {
    pending.delete(key);
    try {
      if (!privateDir(p.dir, true)) continue;
      const data = p.script.createCachedData();
      const tmp = `${p.file}.${process.pid}.tmp`;
      const fd = openSync(tmp, 'w', 0o600);
      try {
        writeSync(fd, data);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, p.file);
      written.push(p.file);
      prune(p.dir, p.prefix);
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

function readIfPresent(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}
