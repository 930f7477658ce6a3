import { isAbsolute, relative, resolve, sep } from 'node:path';
import { isHotError, isHotValidationError } from '../core/errors.js';

/** Where the CLI writes its lines. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Whether standard error is a terminal: colour and progress lines only then. @default false */
  readonly tty?: boolean;
}

/** What an error report may use besides the error. */
export interface ReportContext {
  /** Print the error as one JSON object on standard output. */
  readonly json?: boolean;
  /** Print the stack trace of the error too. */
  readonly debug?: boolean;
  /** Command-line options that name a path (e.g. `--out`) and the path given: a file system error under one names it. */
  readonly paths?: Readonly<Record<string, string | undefined>>;
}

/** The reason of a file system error, as the end of a sentence. */
const FS_REASONS: Readonly<Record<string, string>> = {
  ENOTDIR: 'a part of the path is a regular file, not a directory',
  EACCES: 'permission denied',
  EPERM: 'the operation is not permitted',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exceeded',
  EEXIST: 'it already exists',
  ENOENT: 'no such file or directory',
  EISDIR: 'it is a directory, not a file',
  ENAMETOOLONG: 'the name is too long',
  ELOOP: 'too many symbolic links',
  EBUSY: 'it is busy',
};

const FS_ACTIONS: Readonly<Record<string, string>> = {
  mkdir: 'cannot create the directory',
  open: 'cannot open',
  write: 'cannot write',
  read: 'cannot read',
  rename: 'cannot rename',
  chmod: 'cannot change the mode of',
  unlink: 'cannot remove',
  rmdir: 'cannot remove the directory',
  rm: 'cannot remove',
  scandir: 'cannot list the directory',
  stat: 'cannot read',
  lstat: 'cannot read',
  copyfile: 'cannot copy',
  mkdtemp: 'cannot create a directory in',
  access: 'cannot access',
};

interface SystemError extends Error {
  readonly code: string;
  readonly syscall?: string;
  readonly path?: string;
}

function isSystemError(e: unknown): e is SystemError {
  return e instanceof Error && typeof (e as Partial<SystemError>).code === 'string' && /^E[A-Z]+$/.test((e as SystemError).code);
}

/** The command-line option whose path holds `path` (the deepest one when several do), with that path. */
function optionOf(path: string, paths: ReportContext['paths']): { option: string; root: string } | undefined {
  let best: { option: string; root: string } | undefined;
  const abs = resolve(path);
  for (const [option, given] of Object.entries(paths ?? {})) {
    if (given === undefined) continue;
    const root = resolve(given);
    if (abs !== root && !abs.startsWith(root + sep) && !root.startsWith(abs + sep)) continue;
    if (!best || root.length > best.root.length) best = { option, root };
  }
  return best;
}

/** A path as the user would type it: relative to the working directory when below it, else absolute. */
export function shownPath(path: string): string {
  const abs = resolve(path);
  const rel = relative(process.cwd(), abs);
  return rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? abs : rel;
}

/** One sentence for a file system error: which path (and option), what was tried, why it failed. */
export function describeSystemError(e: SystemError, paths?: ReportContext['paths']): string {
  const reason = FS_REASONS[e.code] ?? `${e.code} (${e.message.split('\n')[0]})`;
  const action = (e.syscall && FS_ACTIONS[e.syscall]) ?? (e.syscall ? `${e.syscall} failed` : 'failed');
  if (e.path === undefined) return `${action}: ${reason}`;
  const target = shownPath(e.path);
  const option = optionOf(e.path, paths);
  if (!option) return `${target}: ${action}: ${reason}`;
  const given = shownPath(option.root);
  return `${option.option} ${given}: ${action}${target === given ? '' : ` ${target}`}: ${reason}`;
}

/** One error of a `--json` result: where (a construct path, `file:line:col`, an option) and what. */
export interface JsonError {
  readonly path: string;
  readonly message: string;
}

/** The errors of `e` as JSON items, and the exit code (1: the user's mistake, 2: internal). */
export function jsonErrorsOf(e: unknown, context: ReportContext = {}): { code: number; errors: JsonError[] } {
  if (isHotValidationError(e)) return { code: 1, errors: e.errors.map((x) => ({ path: x.constructPath, message: x.detail })) };
  if (isHotError(e)) return { code: 1, errors: [{ path: e.constructPath, message: e.detail }] };
  if (e instanceof Error && e.name === 'PkiError') return { code: 1, errors: [{ path: '--state', message: e.message }] };
  if (isSystemError(e))
    return { code: 1, errors: [{ path: e.path === undefined ? '' : shownPath(e.path), message: describeSystemError(e, context.paths) }] };
  return { code: 2, errors: [{ path: '', message: `internal error: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}` }] };
}

/** `error: ` / `warning: ` in red / yellow when the stream is a terminal (and NO_COLOR is not set). */
export function label(io: Io, level: 'error' | 'warning' | 'info'): string {
  if (!io.tty || process.env.NO_COLOR) return `${level}: `;
  const colour = level === 'error' ? 31 : level === 'warning' ? 33 : 36;
  return `\u001b[${colour}m${level}\u001b[0m: `;
}

/** A line saying what takes a while, on a terminal only (logs and pipes stay as they were). */
export function progress(io: Io, text: string): void {
  if (io.tty) io.err(`${text}...`);
}

/**
 * Report an error of a command: a user's mistake (a HotError, a PkiError, a file system error on a path the user
 * gave) is one sentence and exit code 1; anything else is an internal error, exit code 2. The stack trace only
 * with `--debug`. With `json`, one JSON object on standard output instead: `{ ok: false, exitCode, errors }`.
 */
export function reportError(e: unknown, io: Io, context: ReportContext = {}): number {
  if (context.json) {
    const { code, errors } = jsonErrorsOf(e, context);
    io.out(JSON.stringify({ ok: false, exitCode: code, errors }));
    if (context.debug && e instanceof Error && e.stack) io.err(e.stack);
    return code;
  }
  let code = 1;
  const hotk8s = io.tty && !process.env.NO_COLOR ? '\u001b[31mhotk8s\u001b[0m' : 'hotk8s';
  if (isHotValidationError(e)) {
    io.err(`${hotk8s}: ${e.errors.length} error${e.errors.length === 1 ? '' : 's'}:`);
    for (const x of e.errors) io.err(`  - ${x.message}`);
  } else if (isHotError(e)) {
    io.err(`${hotk8s}: ${e.message}`);
  } else if (e instanceof Error && e.name === 'PkiError') {
    io.err(`${hotk8s}: the cluster's private state: ${e.message}`);
  } else if (isSystemError(e)) {
    io.err(`${hotk8s}: ${describeSystemError(e, context.paths)}`);
  } else {
    code = 2;
    const first = e instanceof Error ? e.message.split('\n')[0] : String(e);
    io.err(`${hotk8s}: internal error: ${first}${context.debug ? '' : ' (run again with --debug for the stack trace)'}`);
  }
  if (context.debug && e instanceof Error && e.stack) io.err(e.stack);
  return code;
}
