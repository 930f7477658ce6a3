/**
 * heat-api's request limits, against Heat's own code: the body `openstack stack create` sends (built by heatclient's
 * template_utils, checked by heat-api's JSONRequestDeserializer against max_json_body_size).
 *
 * - 100 worker groups of one shape share their member templates, so the request stays small and Heat takes it;
 * - 80 groups of 80 shapes (each its own boot volume size) make a body over 1 MiB: synth refuses it, and when the stack is told
 *   the cloud's limit is higher, synth writes it and heat-api refuses it, as a cloud with the default limit would;
 * - the synthesized figure equals heatclient's body to the byte also for an output path with a space and non-ASCII
 *   characters, and for a template holding non-ASCII text.
 */
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { App, Cluster, HeatResource, HeatStack, HotValidationError, synthesize, type SynthResult } from '../../src/index.js';
import { formatHeatReport, validateWithHeat, type HeatEngineReport } from '../../src/heat/engine/index.js';
import { stackJob } from '../lib/heat-job.js';

function cluster(groups: number, distinct: boolean, stackProps: ConstructorParameters<typeof HeatStack>[2] = {}): App {
  const app = new App();
  const stack = new HeatStack(app, 'big', stackProps);
  new Cluster(stack, 'Cluster', {
    name: 'big',
    workerGroups: Array.from({ length: groups }, (_, i) => ({
      name: `pool${i}`,
      size: 1,
      maxSize: 1,
      // labels and taints are deploy-time values; a boot volume's size is part of the member template
      labels: { 'hotk8s.io/pool': `pool${i}` },
      bootVolume: distinct ? { sizeGiB: 20 + i } : undefined,
    })),
  });
  return app;
}

async function synthTo(app: App, dirName = 'hotk8s-limits-'): Promise<SynthResult> {
  const work = await mkdtemp(join(tmpdir(), dirName));
  return synthesize(app, { outdir: join(work, 'out'), stateDir: join(work, 'state') });
}

async function heat(result: SynthResult): Promise<HeatEngineReport> {
  const s = result.manifest.stacks[0]!;
  return validateWithHeat({
    ...stackJob(result, s),
    timeoutMinutes: Number(/ --timeout (\d+)/.exec(s.createCommand)?.[1] ?? 0) || undefined,
    timeoutMs: 600_000,
  });
}

describe('heat-api request limits', () => {
  it('takes 100 worker groups of one shape, each with its own labels: they share one member template per role', async () => {
    const result = await synthTo(cluster(100, false));
    const m = result.manifest.stacks[0]!;
    expect(m.files.filter((f) => f.includes('workers'))).toEqual([
      'big.cluster-workers-pool0-workers-nodes-member.yaml',
      'big.cluster-workers-pool0-workers-ports-member.yaml',
    ]);
    expect(m.sharedFiles['big.cluster-workers-pool0-workers-nodes-member.yaml']).toHaveLength(100);
    expect((await readdir(result.outdir)).length).toBeLessThan(15);
    const report = await heat(result);
    expect(report.ok, formatHeatReport(report).join('\n')).toBe(true);
    expect(report.requestBytes).toBe(result.requestBytes.get('big'));
    expect(report.requestBytes).toBeLessThan(1_048_576);
  }, 600_000);

  it('refuses 80 distinct groups at synth, and heat-api refuses the same request when synth is told a higher limit', async () => {
    let error: unknown;
    try {
      await synthTo(cluster(80, true));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(HotValidationError);
    expect((error as Error).message).toMatch(
      /big: the request 'openstack stack create' sends is about \d+ bytes .* above heat-api's max_json_body_size 1048576/,
    );

    const result = await synthTo(cluster(80, true, { maxJsonBodySize: 8_000_000 }));
    const bytes = result.requestBytes.get('big')!;
    expect(bytes).toBeGreaterThan(1_048_576);
    const report = await heat(result);
    expect(report.ok).toBe(false);
    expect(report.requestBytes).toBe(bytes);
    expect(report.templates[0]!.errors.join('\n')).toContain(
      `heat-api: Request limit exceeded: JSON body size (${bytes} bytes) exceeds maximum allowed size (1048576 bytes).`,
    );
  }, 600_000);

  it('counts escaped paths and non-ASCII text exactly as heatclient sends them', async () => {
    const app = new App();
    const stack = new HeatStack(app, 'text', { description: 'Grüße — «quoted» "text" with \\ and \t tab ✓' });
    const member = new HeatStack(stack, 'Member', { description: 'naïve 𝄞' });
    new HeatResource(member, 'Random', { type: 'OS::Heat::RandomString', properties: { salt: 'ünïcode\nline' } });
    new HeatResource(stack, 'Group', {
      type: 'OS::Heat::ResourceGroup',
      properties: { count: 2, resource_def: { type: member.fileName } },
    });
    const result = await synthTo(app, 'hotk8s limits ü-');
    expect(result.outdir).toContain(' ');
    const report = await heat(result);
    expect(report.ok, formatHeatReport(report).join('\n')).toBe(true);
    expect(report.requestBytes).toBe(result.requestBytes.get('text'));
  }, 600_000);
});
