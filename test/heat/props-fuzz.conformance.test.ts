/**
 * The props fuzz's real-Heat sample (issue 13): 200 valid prop sets from the fuzz's generator
 * (test/property/props-fuzz.property.ts) are synthesized as `hotk8s synth` does and validated by Heat 19's own code in
 * one engine process: whatever synth accepts, Heat must accept too.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { App, Cluster, HeatStack, synthesize, type ClusterProps } from '../../src/index.js';
import { formatHeatReport, validateManyWithHeat, type HeatEngineReport, type HeatValidateJob } from '../../src/heat/engine/index.js';
import { validProps } from '../property/props-fuzz.property.js';
import { stackJob } from '../lib/heat-job.js';

const SAMPLE = 200;

describe('real Heat engine accepts a sample of the valid prop sets of the fuzz', () => {
  let work: string;
  const samples = fc.sample(validProps, { numRuns: SAMPLE, seed: 13 });
  let reports: readonly HeatEngineReport[] = [];

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'hotk8s-heat-props-fuzz-'));
    const state = join(work, 'state'); // one cluster name, so the keys are made once
    const jobs: HeatValidateJob[] = [];
    for (const [i, props] of samples.entries()) {
      const app = new App();
      const stack = new HeatStack(app, `fuzz${i}`);
      new Cluster(stack, 'Cluster', { ...props, name: 'fuzz' } satisfies ClusterProps);
      const result = await synthesize(app, { outdir: join(work, `out${i}`), stateDir: state });
      const s = result.manifest.stacks[0]!;
      jobs.push(stackJob(result, s));
    }
    reports = (await validateManyWithHeat(jobs, { timeoutMs: 900_000 })).reports;
  });
  afterAll(() => rm(work, { recursive: true, force: true }));

  it(`validates all ${SAMPLE}`, () => {
    expect(reports.length).toBe(SAMPLE);
    reports.forEach((r, i) => {
      expect(r.ok, `${JSON.stringify(samples[i])}\n${formatHeatReport(r).join('\n')}`).toBe(true);
      expect(r.templates.length, 'the nested templates were validated too').toBeGreaterThan(2);
    });
  });
});
