/**
 * The real Heat engine as a validator: runs `heat_validate.py` with Debian's Python, where python3-heat
 * and python3-heatclient are installed, and returns its report. The script checks a stack the way
 * `openstack stack create -t ROOT -e ENV ...` would, offline, on the root and on every nested stack
 * (template resources, ResourceGroup / AutoScalingGroup members).
 *
 * Importing Heat costs a second or more; {@link validateManyWithHeat} validates many stacks in one process.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HotError } from '../../core/errors.js';
import { packageRoot } from '../../private/package-root.js';

/** What to install where the Heat engine is missing. */
export const HEAT_ENGINE_INSTALL_HINT = "install Debian's python3-heat: apt-get install -y python3-heat python3-heatclient";

/** Debian's interpreter: the one that sees Debian's python3-heat (a `python3` earlier on PATH may not). */
export const DEFAULT_HEAT_PYTHON = '/usr/bin/python3';

const SCRIPT_NAME = 'heat_validate.py';
const SCRIPT_DIR = join('src', 'heat', 'engine');

/** One stack to validate, as `openstack stack create -t template -e env... --parameter k=v` would send it. */
export interface HeatValidateJob {
  /** Root template file. */
  readonly template: string;
  /** Environment files, in the order the client would receive them (`-e` options). */
  readonly environments?: readonly string[];
  /** Stack parameters (`--parameter name=value`); site parameters left out get placeholders. */
  readonly parameters?: Readonly<Record<string, string>>;
  /**
   * Validate every member of each ResourceGroup (its `count`), not only the first.
   * @default false - members differ only by `%index%`, so the first stands for all
   */
  readonly allMembers?: boolean;
  /** The stack's name (`openstack stack create NAME`). @default 'hotk8s-validate' */
  readonly stackName?: string;
  /** `--timeout` minutes, sent as the create request's `timeout_mins`. */
  readonly timeoutMinutes?: number;
}

export interface HeatEngineOptions {
  /**
   * Python interpreter to run the harness with.
   * @default - `HOTK8S_HEAT_PYTHON` from the environment, else /usr/bin/python3
   */
  readonly python?: string;
  /**
   * Give up after this long.
   * @default 300000
   */
  readonly timeoutMs?: number;
}

/** Where Heat's verdict applies: the root, a template resource's stack, or a group member's stack. */
export type HeatTemplateRole = 'root' | 'nested' | 'member';

/** A value that only exists once the parent's resources are created, replaced by a typed placeholder. */
export interface HeatUnresolvedInput {
  readonly name: string;
  readonly type: string;
  readonly value: unknown;
  /** The parent's resources the real value comes from. */
  readonly dependsOn: readonly string[];
}

export interface HeatTemplateResult {
  /** Local path of the template file (or `path<Type>` for a stack that has no file). */
  readonly file: string;
  readonly role: HeatTemplateRole;
  /** Path of the resource that creates this stack, from the root stack name (`stack/workers/0`). */
  readonly resource: string;
  readonly ok: boolean;
  /** Heat's messages, verbatim. */
  readonly errors: readonly string[];
  readonly unresolvedInputs: readonly HeatUnresolvedInput[];
  readonly seconds: number;
  readonly note?: string;
}

/** A client-backed custom constraint (nova.flavor, glance.image, ...) that needs a cloud and was not evaluated. */
export interface HeatSkippedConstraint {
  readonly constraint: string;
  readonly value: unknown;
  readonly resource?: string;
  readonly property?: string;
  readonly parameter?: string;
  readonly file: string | null;
}

/** A resource plugin's own API lookup (e.g. the image of a server) that could not run offline. */
export interface HeatSkippedLookup {
  readonly client: string;
  readonly resource?: string;
  readonly property?: string;
  readonly file: string | null;
}

/** A root parameter with no value anywhere, given a type-appropriate placeholder. */
export interface HeatPlaceholderParameter {
  readonly name: string;
  readonly type: string;
  readonly value: unknown;
}

export interface HeatEngineReport {
  readonly ok: boolean;
  readonly heatVersion: string;
  readonly template: string;
  readonly environments: readonly string[];
  readonly templates: readonly HeatTemplateResult[];
  readonly skippedConstraints: readonly HeatSkippedConstraint[];
  readonly skippedLookups: readonly HeatSkippedLookup[];
  readonly placeholderParameters: readonly HeatPlaceholderParameter[];
  /** Bytes of the JSON body the client built (what heat-api holds against max_json_body_size); null when it built none. */
  readonly requestBytes?: number | null;
  /** What the harness assumed about the cloud (Nova microversion, quotas). */
  readonly assumptions: readonly string[];
  /** Validation time of this stack (all its templates), without the import. */
  readonly seconds?: number;
  /** Time to import and prepare Heat in the process that produced this report. */
  readonly importSeconds?: number;
  /** Set when the harness could not validate this job at all (e.g. a missing file); `ok` is then false. */
  readonly harnessError?: string;
}

export interface HeatEngineBatchReport {
  readonly ok: boolean;
  readonly heatVersion: string;
  readonly importSeconds: number;
  readonly reports: readonly HeatEngineReport[];
}

/** python3-heat (or the interpreter) is not there: says what to install. */
export class HeatEngineUnavailableError extends HotError {
  constructor(python: string, reason: string) {
    super('heat-engine', `the real Heat engine is not available with ${python} (${reason}); ${HEAT_ENGINE_INSTALL_HINT}`);
    this.name = 'HeatEngineUnavailableError';
  }
}

/** The harness could not validate the input (missing file, unreadable job), or failed itself. */
export class HeatHarnessError extends HotError {
  constructor(subject: string, detail: string) {
    super(subject, detail);
    this.name = 'HeatHarnessError';
  }
}

/**
 * The harness script. From `src/heat/engine` it is beside this module; from the compiled `dist/src/heat/engine` or the
 * bundle (which hold no .py files) it is the package's own `src/heat/engine/heat_validate.py`.
 */
export function heatValidateScript(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const beside = join(here, SCRIPT_NAME);
  if (existsSync(beside)) return beside;
  const root = packageRoot()?.dir;
  const candidate = root === undefined ? undefined : join(root, SCRIPT_DIR, SCRIPT_NAME);
  if (candidate !== undefined && existsSync(candidate)) return candidate;
  throw new HeatHarnessError('heat-engine', `${SCRIPT_NAME} not found beside ${here} nor in ${SCRIPT_DIR} of the hotk8s package`);
}

function pythonOf(options: HeatEngineOptions): string {
  return options.python ?? process.env.HOTK8S_HEAT_PYTHON ?? DEFAULT_HEAT_PYTHON;
}

interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(python: string, args: string[], input: string, timeoutMs: number): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(python, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (e.code === 'ENOENT' || e.code === 'EACCES') reject(new HeatEngineUnavailableError(python, `cannot run ${python}: ${e.code}`));
      else reject(new HeatHarnessError('heat-engine', `cannot run ${python}: ${e.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (timedOut) {
        reject(new HeatHarnessError('heat-engine', `${SCRIPT_NAME} did not finish within ${timeoutMs} ms`));
        return;
      }
      resolvePromise({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.on('error', () => undefined); // the child may exit before reading (e.g. no Heat)
    child.stdin.end(input);
  });
}

function toJob(job: HeatValidateJob): Record<string, unknown> {
  if (typeof job.template !== 'string' || job.template === '') {
    throw new HeatHarnessError('heat-engine', `a job needs a template path; got ${JSON.stringify(job.template)}`);
  }
  return {
    template: resolve(job.template),
    environments: (job.environments ?? []).map((e) => resolve(e)),
    parameters: { ...(job.parameters ?? {}) },
    allMembers: job.allMembers ?? false,
    ...(job.stackName !== undefined ? { stackName: job.stackName } : {}),
    ...(job.timeoutMinutes !== undefined ? { timeoutMinutes: job.timeoutMinutes } : {}),
  };
}

/**
 * Validate several stacks in one Python process (Heat is imported once). A job the harness cannot read
 * (a missing file) gets a report with `harnessError` and `ok: false`; the other jobs are still validated.
 */
export async function validateManyWithHeat(
  jobs: readonly HeatValidateJob[],
  options: HeatEngineOptions = {},
): Promise<HeatEngineBatchReport> {
  const python = pythonOf(options);
  const payload = JSON.stringify(jobs.map(toJob));
  const result = await run(python, [heatValidateScript(), '--batch', '-'], payload, options.timeoutMs ?? 300_000);
  let parsed: unknown;
  try {
    parsed = JSON.parse(result.stdout);
  } catch {
    parsed = undefined;
  }
  const doc = parsed as (Partial<HeatEngineBatchReport> & { harnessError?: string }) | undefined;
  if (doc && typeof doc.harnessError === 'string') {
    if (doc.harnessError.startsWith('cannot import Heat')) throw new HeatEngineUnavailableError(python, doc.harnessError.split(';')[0]);
    throw new HeatHarnessError('heat-engine', doc.harnessError);
  }
  if (!doc || !Array.isArray(doc.reports) || (result.code !== 0 && result.code !== 1 && result.code !== 2)) {
    throw new HeatHarnessError(
      'heat-engine',
      `${SCRIPT_NAME} exited with ${String(result.code)} and no report; stderr: ${result.stderr.trim().slice(-2000) || '(empty)'}`,
    );
  }
  return doc as HeatEngineBatchReport;
}

/**
 * Validate one stack with the real Heat engine: the root template, its environment files and parameters,
 * and every nested stack its creation would make. Resolves to Heat's verdict (`ok: false` with Heat's
 * messages when Heat rejects); throws {@link HeatEngineUnavailableError} where python3-heat is missing and
 * {@link HeatHarnessError} when the input cannot be read (e.g. a missing file).
 */
export async function validateWithHeat(opts: HeatValidateJob & HeatEngineOptions): Promise<HeatEngineReport> {
  const batch = await validateManyWithHeat([opts], opts);
  const report = batch.reports[0];
  if (!report) throw new HeatHarnessError(opts.template, `${SCRIPT_NAME} returned no report`);
  if (report.harnessError !== undefined) throw new HeatHarnessError(opts.template, report.harnessError);
  return { ...report, importSeconds: batch.importSeconds };
}

const availability = new Map<string, Promise<boolean>>();

/** Whether the interpreter can import Heat and heatclient (cached per interpreter). */
export function heatEngineAvailable(options: HeatEngineOptions = {}): Promise<boolean> {
  const python = pythonOf(options);
  let cached = availability.get(python);
  if (!cached) {
    const probe = 'import heat.engine.resources, heatclient.common.template_utils';
    cached = run(python, ['-c', probe], '', options.timeoutMs ?? 60_000).then(
      (r) => r.code === 0,
      () => false,
    );
    availability.set(python, cached);
  }
  return cached;
}

/** Human-readable lines for a report: the verdict per template, then what could not be checked offline. */
export function formatHeatReport(report: HeatEngineReport): string[] {
  const lines: string[] = [];
  const verdict = report.ok ? 'accepted' : 'rejected';
  lines.push(`Heat ${report.heatVersion} ${verdict} ${report.template}`);
  for (const t of report.templates) {
    lines.push(`  ${t.ok ? 'ok  ' : 'FAIL'} ${t.role.padEnd(6)} ${t.resource} (${t.file})`);
    for (const e of t.errors) lines.push(`         ${e}`);
  }
  if (report.placeholderParameters.length > 0) {
    lines.push(`  placeholders for parameters without a value: ${report.placeholderParameters.map((p) => p.name).join(', ')}`);
  }
  if (report.skippedConstraints.length > 0) {
    const names = [...new Set(report.skippedConstraints.map((c) => c.constraint))].sort();
    lines.push(`  ${report.skippedConstraints.length} cloud-only constraint check(s) skipped: ${names.join(', ')}`);
  }
  return lines;
}
