/**
 * The real-Heat conformance suite: every ready-made stack and every example is synthesized as `hotk8s synth` does
 * (including the secrets environment file, made from a throwaway state directory) and validated by Heat 19's own
 * code — root, every nested template and every group member — the way `openstack stack create -t ... -e ...` sends it.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { synthesize } from '../../src/index.js';
import { formatHeatReport, validateManyWithHeat, type HeatEngineReport, type HeatValidateJob } from '../../src/heat/engine/index.js';
import { listPrograms, loadProgram } from '../lib/programs.js';
import { stackJob } from '../lib/heat-job.js';

function timeoutOf(createCommand: string): number | undefined {
  const m = / --timeout (\d+)/.exec(createCommand);
  return m ? Number(m[1]) : undefined;
}

describe('real Heat engine accepts every stack and example', () => {
  const programs = listPrograms();
  const reports = new Map<string, HeatEngineReport>();
  const computed = new Map<string, number>();

  beforeAll(async () => {
    const jobs: HeatValidateJob[] = [];
    const keys: string[] = [];
    for (const p of programs) {
      const work = await mkdtemp(join(tmpdir(), `hotk8s-heat-${p.name}-`));
      const result = await synthesize(await loadProgram(p), { outdir: join(work, 'out'), stateDir: join(work, 'state') });
      for (const s of result.manifest.stacks) {
        jobs.push({ ...stackJob(result, s), allMembers: true, timeoutMinutes: timeoutOf(s.createCommand) });
        keys.push(`${p.kind}/${p.name}:${s.name}`);
        computed.set(`${p.kind}/${p.name}:${s.name}`, result.requestBytes.get(s.name)!);
      }
    }
    const batch = await validateManyWithHeat(jobs, { timeoutMs: 900_000 });
    batch.reports.forEach((r, i) => reports.set(keys[i]!, r));
  });

  for (const p of programs) {
    it(`${p.kind}/${p.name}`, () => {
      const mine = [...reports].filter(([k]) => k.startsWith(`${p.kind}/${p.name}:`));
      expect(mine.length).toBeGreaterThan(0);
      for (const [key, report] of mine) {
        expect(report.ok, `${key} rejected by Heat:\n${formatHeatReport(report).join('\n')}`).toBe(true);
        // every nested template the stack would create was validated too
        const files = new Set(report.templates.map((t) => t.file.split('/').pop()));
        expect(files.size).toBeGreaterThan(0);
        // synth's figure for the create request is the body heatclient's own code builds, to the byte
        expect(report.requestBytes, key).toBeGreaterThan(1000);
        expect(computed.get(key), key).toBe(report.requestBytes);
      }
    });
  }
});
