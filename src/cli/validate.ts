import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { HotError } from '../core/errors.js';
import type { Manifest } from '../core/synthesis.js';
import { label, progress, reportError, type Io } from './report.js';

export interface ValidateArgs {
  readonly paths: string[];
  readonly engine: 'schema' | 'heat';
  /** Print the result (or the errors) as one JSON object on standard output. */
  readonly json?: boolean;
  /** Print stack traces of errors. */
  readonly debug?: boolean;
}

/** The manifest of a synth output directory; undefined for a file or a directory without one. */
function manifestOf(path: string): Manifest | undefined {
  const manifestFile = join(path, 'manifest.json');
  if (!statSync(path).isDirectory() || !existsSync(manifestFile)) return undefined;
  return JSON.parse(readFileSync(manifestFile, 'utf8')) as Manifest;
}

/** Jobs for the Heat engine: a synth output directory gives each stack with its environment files. */
function heatJobs(path: string): { template: string; environments: string[] }[] {
  if (!statSync(path).isDirectory()) return [{ template: path, environments: [] }];
  const manifest = manifestOf(path);
  if (!manifest) throw new HotError(path, 'a directory to validate with --engine heat must hold a manifest.json (a synth output)');
  return manifest.stacks.map((s) => ({
    template: join(path, s.template),
    environments: [
      join(path, s.environment),
      ...(s.secretEnvironment && existsSync(join(path, s.secretEnvironment)) ? [join(path, s.secretEnvironment)] : []),
    ],
  }));
}

/** A synth output directory stands for its templates (not its environment files); anything else for itself. */
function templatesOf(path: string): string[] {
  const manifest = manifestOf(path);
  if (!manifest) return [path];
  return manifest.stacks.flatMap((s) => [s.template, ...s.files]).map((f) => join(path, f));
}

export async function runValidate(args: ValidateArgs, io: Io): Promise<number> {
  try {
    for (const p of args.paths) if (!existsSync(p)) throw new HotError(p, 'no such file or directory');
    if (args.engine === 'heat') {
      const engine = await import('../heat/engine/index.js');
      const jobs = args.paths.flatMap(heatJobs);
      if (!args.json) progress(io, `checking ${jobs.length} template(s) with the Heat engine (python3-heat)`);
      const batch = await engine.validateManyWithHeat(jobs); // one Python process: Heat is imported once
      if (args.json) {
        const failedReports = batch.reports.map((r, i) => ({ r, job: jobs[i]! })).filter(({ r }) => !r.ok);
        io.out(
          JSON.stringify({
            ok: failedReports.length === 0,
            engine: 'heat',
            heatVersion: batch.heatVersion,
            files: jobs.map((j) => j.template),
            warnings: [],
            errors: failedReports.flatMap(({ r, job }) => engine.formatHeatReport(r).map((message) => ({ path: job.template, message }))),
          }),
        );
        return failedReports.length > 0 ? 1 : 0;
      }
      let failed = 0;
      batch.reports.forEach((report, i) => {
        const job = jobs[i]!;
        if (report.ok) {
          io.out(
            `ok (Heat ${batch.heatVersion}): ${job.template} (${report.templates.length} template(s); ${report.skippedConstraints.length} cloud-only constraint check(s) skipped)`,
          );
        } else {
          failed++;
          io.err(`rejected by Heat ${batch.heatVersion}: ${job.template}`);
          for (const line of engine.formatHeatReport(report)) io.err(`  ${line}`);
        }
      });
      return failed > 0 ? 1 : 0;
    }
    const { validateHotFiles } = await import('../heat/validate.js');
    const issues = await validateHotFiles(args.paths.flatMap(templatesOf));
    const line = (i: (typeof issues)[number]) => `  - ${i.file ? i.file + ': ' : ''}${i.location ? i.location + ': ' : ''}${i.message}`;
    const warnings = issues.filter((i) => i.severity !== 'error');
    const errors = issues.filter((i) => i.severity === 'error');
    if (args.json) {
      const item = (i: (typeof issues)[number]) => ({
        path: [i.file, i.location].filter((x) => x).join(': '),
        file: i.file ?? null,
        location: i.location ?? null,
        message: i.message,
      });
      io.out(
        JSON.stringify({
          ok: errors.length === 0,
          engine: 'schema',
          files: args.paths.flatMap(templatesOf),
          warnings: warnings.map(item),
          errors: errors.map(item),
        }),
      );
      return errors.length === 0 ? 0 : 1;
    }
    for (const w of warnings) io.err(`${label(io, 'warning')}${line(w).slice(4)}`);
    if (errors.length === 0) {
      io.out(`ok: ${args.paths.join(', ')}`);
      return 0;
    }
    io.err(`hotk8s: ${errors.length} problem${errors.length === 1 ? '' : 's'}:`);
    for (const i of errors) io.err(line(i));
    return 1;
  } catch (e) {
    return reportError(e, io, { debug: args.debug, json: args.json });
  }
}
