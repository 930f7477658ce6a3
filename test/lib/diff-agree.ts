/**
 * `hotk8s diff` against the twin (issue 15): diff's answer for an update, computed through the CLI's exported entry
 * (`main(['diff', ..., '--json'])`), checked against Heat's own `openstack stack update --dry-run` of the same update
 * (top level: Heat 19 fails with --show-nested) and against the cloud actions the update recorded.
 *
 * Heat 19's convergence preview over-reports: it lists as updated (or replaced) every top-level resource whose
 * properties reference another resource (test/lib/twin.md). The comparison takes exactly that out: every other
 * resource in the preview must be in diff's answer, and everything diff names at the top level must be in the preview.
 */
import { expect } from 'vitest';
import type { ResourceChange } from '../../src/cli/diff.js';
import { main } from '../../src/cli/main.js';
import type { TwinSummary } from './twin.js';

export type Preview = Readonly<Record<'added' | 'deleted' | 'replaced' | 'updated', readonly string[]>>;

export interface DiffRun {
  /** Synth output of the running stack and of the update (the same directory for a parameter-only update). */
  readonly old: string;
  readonly new: string;
  /** The `openstack stack update` arguments: their `--parameter k=v` pairs are passed to diff as they are. */
  readonly updateArgs: readonly string[];
  /** Resources marked unhealthy before the update (`--unhealthy`). */
  readonly unhealthy?: readonly string[];
}

/** diff's changes for one update, through the CLI (`--json`). */
export async function runDiffCli(run: DiffRun): Promise<ResourceChange[]> {
  const params: string[] = [];
  for (let i = 0; i < run.updateArgs.length; i++) if (run.updateArgs[i] === '--parameter') params.push('--parameter', run.updateArgs[++i]!);
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['diff', run.old, run.new, '--json', ...params, ...(run.unhealthy ?? []).flatMap((u) => ['--unhealthy', u])], {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
  });
  expect(code, err.join('\n')).toBe(0);
  return (JSON.parse(out.join('\n')) as { changes: ResourceChange[] }).changes;
}

/** A recorded logical path with its member indexes as diff writes a group's members (`[member]`). */
const memberPath = (p: string) => p.replace(/\/\d+(?=\/|$)/g, '/[member]');

const KIND_OF: Readonly<Record<'rebuilt' | 'resized' | 'replaced' | 'updated', readonly string[]>> = {
  rebuilt: ['rebuilt'],
  resized: ['resized'],
  replaced: ['replaced'],
  updated: ['updated', 'resized', 'rebuilt'],
};

/**
 * diff agrees with the preview (after the over-report rule) and with the recorded actions:
 * - at the top level, the same resources added and deleted; what diff says changes, the preview says changes (and
 *   what diff says is replaced, the preview says is replaced); the rest of the preview references another resource;
 * - every top-level resource the update touched is in diff's answer;
 * - every server the cloud rebuilt, resized, replaced, updated in place or created is in diff's answer with that kind
 *   (at its path, or as `[member]` of its group, or under an added resource), and every server diff says is rebuilt,
 *   resized or replaced was.
 * Returns diff's answer at the top level, for the log.
 */
export function expectDiffAgrees(
  scenario: string,
  changes: readonly ResourceChange[],
  preview: Preview,
  referencing: readonly string[],
  touched: readonly string[],
  s: TwinSummary,
): Record<'added' | 'deleted' | 'changed' | 'replaced', string[]> {
  const top = changes.filter((c) => c.path.split('/').length === 2);
  const of = (...kinds: string[]) =>
    top
      .filter((c) => kinds.includes(c.kind))
      .map((c) => c.path.split('/')[1]!)
      .sort();
  const ours = {
    added: of('added'),
    deleted: of('removed'),
    changed: of('updated', 'resized', 'rebuilt', 'replaced'),
    replaced: of('replaced'),
  };
  const heatChanged = [...preview.updated, ...preview.replaced];
  expect(ours.added, `${scenario}: added, diff vs preview`).toEqual([...preview.added].sort());
  expect(ours.deleted, `${scenario}: deleted, diff vs preview`).toEqual([...preview.deleted].sort());
  for (const r of ours.changed) expect(heatChanged, `${scenario}: diff's change ${r} in the preview`).toContain(r);
  for (const r of ours.replaced) expect(preview.replaced, `${scenario}: diff's replacement ${r} in the preview`).toContain(r);
  for (const r of heatChanged.filter((x) => !ours.changed.includes(x)))
    expect(referencing, `${scenario}: ${r} previewed as changed, not in diff, and references no resource`).toContain(r);
  for (const t of touched) expect([...ours.changed, ...ours.added], `${scenario}: touched ${t} in diff`).toContain(t);

  // the servers: what the cloud did, diff said; what diff said of a server, the cloud did
  const servers = (paths: readonly string[]) => paths.filter((p) => p.endsWith('/Server'));
  const said = (p: string, kinds: readonly string[]) =>
    changes.some((c) => kinds.includes(c.kind) && (c.path === p || c.path === memberPath(p)));
  for (const kind of ['rebuilt', 'resized', 'replaced', 'updated'] as const)
    for (const p of servers(s[kind])) expect(said(p, KIND_OF[kind]), `${scenario}: ${p} ${kind} by the cloud, in diff`).toBe(true);
  for (const p of servers(s.created)) {
    const under = changes.some(
      (c) => c.kind === 'added' && (p.startsWith(`${c.path}/`) || memberPath(p).startsWith(`${c.path}/`) || c.path === p),
    );
    expect(under, `${scenario}: ${p} created by the cloud, added in diff`).toBe(true);
  }
  for (const c of changes.filter((x) => x.type === 'OS::Nova::Server' && ['rebuilt', 'resized', 'replaced'].includes(x.kind))) {
    const did = servers(s[c.kind as 'rebuilt' | 'resized' | 'replaced']).some((p) => p === c.path || memberPath(p) === c.path);
    expect(did, `${scenario}: diff says ${c.path} ${c.kind}; the cloud did not`).toBe(true);
  }
  return ours;
}
