/**
 * Heat 19's own code accepts a cluster whose etcd members carry a data volume and a backup volume (two Cinder
 * volumes and attachments per member, the second attachment after the first) and the per-stack cluster token made
 * from `OS::stack_id` - root, nested templates and every group member, as `openstack stack create` sends them.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { App, Cluster, HeatStack, synthesize } from '../../src/index.js';
import { formatHeatReport, validateManyWithHeat } from '../../src/heat/engine/index.js';
import { stackJob } from '../lib/heat-job.js';

describe('real Heat engine: etcd with backups', () => {
  it('accepts 3 members with a data volume and a backup volume each', async () => {
    const app = new App();
    const stack = new HeatStack(app, 'backed');
    new Cluster(stack, 'Cluster', {
      name: 'backed',
      etcd: { dataVolume: { sizeGiB: 20 }, backup: { schedule: '*-*-* 00/6:00:00', retain: 12, volumeSizeGiB: 30 } },
    });
    const work = await mkdtemp(join(tmpdir(), 'hotk8s-heat-etcd-backup-'));
    const result = await synthesize(app, { outdir: join(work, 'out'), stateDir: join(work, 'state') });
    const s = result.manifest.stacks[0]!;
    const batch = await validateManyWithHeat([{ ...stackJob(result, s), allMembers: true }], { timeoutMs: 600_000 });
    const report = batch.reports[0]!;
    expect(report.ok, formatHeatReport(report).join('\n')).toBe(true);
    const etcdMember = report.templates.find((t) => t.file.includes('etcd-members-nodes'));
    expect(etcdMember, report.templates.map((t) => t.file).join('\n')).toBeDefined();
  });
});
