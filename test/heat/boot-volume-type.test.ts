/**
 * Heat 19's own code accepts typed boot volumes (issue 13): `bootVolume.volumeType` for masters and a worker group
 * becomes an OS::Cinder::Volume per node that the server boots from (block_device_mapping_v2 has no volume_type key,
 * and Heat refused the old mapping with "Unknown Property volume_type").
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { App, Cluster, HeatStack, synthesize } from '../../src/index.js';
import { formatHeatReport, validateManyWithHeat } from '../../src/heat/engine/index.js';
import { stackJob } from '../lib/heat-job.js';

describe('real Heat engine: typed boot volumes', () => {
  it('accepts masters and workers booting from a volume of a given type', async () => {
    const app = new App();
    const stack = new HeatStack(app, 'typed');
    new Cluster(stack, 'Cluster', {
      name: 'typed',
      masters: { bootVolume: { sizeGiB: 40, volumeType: 'ssd' } },
      workerGroups: [
        { name: 'fast', size: 2, bootVolume: { sizeGiB: 50, volumeType: 'ssd' }, availabilityZone: 'az1' },
        { name: 'plain', size: 1, bootVolume: { sizeGiB: 30 } },
      ],
    });
    const work = await mkdtemp(join(tmpdir(), 'hotk8s-heat-boot-volume-'));
    const result = await synthesize(app, { outdir: join(work, 'out'), stateDir: join(work, 'state') });
    const s = result.manifest.stacks[0]!;
    const batch = await validateManyWithHeat([{ ...stackJob(result, s), allMembers: true }], { timeoutMs: 600_000 });
    const report = batch.reports[0]!;
    expect(report.ok, formatHeatReport(report).join('\n')).toBe(true);
    expect(
      report.templates.some((t) => t.file.includes('masters-nodes')),
      report.templates.map((t) => t.file).join('\n'),
    ).toBe(true);
  });
});
