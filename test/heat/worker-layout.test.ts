/**
 * Heat 19's own code accepts a cluster whose worker groups use the compact layout (one member per worker holding its
 * port, server, wait condition and pool members), beside a split group and with an exposed application, so both kinds
 * of member templates and the pool member inside a compact member are validated by the real engine.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { App, Cluster, HeatStack, synthesize } from '../../src/index.js';
import { formatHeatReport, validateManyWithHeat } from '../../src/heat/engine/index.js';
import { stackJob } from '../lib/heat-job.js';

describe('real Heat engine: compact worker layout', () => {
  it('accepts compact and split worker groups with an exposed application', async () => {
    const app = new App();
    const stack = new HeatStack(app, 'layout');
    const cluster = new Cluster(stack, 'Cluster', {
      name: 'layout',
      workerGroups: [
        { name: 'compact', size: 3, layout: 'compact' },
        { name: 'split', size: 2 },
      ],
    });
    cluster.exposeNodePort('web', { port: 80, nodePort: 30080 });
    const work = await mkdtemp(join(tmpdir(), 'hotk8s-heat-worker-layout-'));
    const result = await synthesize(app, { outdir: join(work, 'out'), stateDir: join(work, 'state') });
    const s = result.manifest.stacks[0]!;
    const batch = await validateManyWithHeat([{ ...stackJob(result, s), allMembers: true }], { timeoutMs: 600_000 });
    const report = batch.reports[0]!;
    expect(report.ok, formatHeatReport(report).join('\n')).toBe(true);
    const files = report.templates.map((t) => t.file);
    // the compact group has a nodes member and no ports member; the split group has both
    expect(
      files.some((f) => f.includes('workers-compact-workers-nodes')),
      files.join('\n'),
    ).toBe(true);
    expect(
      files.some((f) => f.includes('workers-compact-workers-ports')),
      files.join('\n'),
    ).toBe(false);
    expect(
      files.some((f) => f.includes('workers-split-workers-ports')),
      files.join('\n'),
    ).toBe(true);
  });
});
