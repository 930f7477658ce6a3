// Creates and deletes every ready-made stack and example (or those named) on one twin, printing each step's wall
// and heat-all CPU time and, at the end, every fake resource left behind (none expected):
//   npx tsx test/twin/sweep.ts [default dev multi-pool guestbook ...]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { synthesize } from '../../src/index.js';
import { listPrograms, loadProgram } from '../lib/programs.js';
import { startTwin } from '../lib/twin.js';

const only = process.argv.slice(2);
const twin = await startTwin();
console.log(`twin started in ${twin.startSeconds} s (${twin.dir})`);
let failed = 0;
for (const p of listPrograms()) {
  if (only.length && !only.includes(p.name)) continue;
  const work = mkdtempSync(join(tmpdir(), `hotk8s-sweep-${p.name}-`));
  try {
    const result = await synthesize(await loadProgram(p), { outdir: join(work, 'out'), stateDir: join(work, 'state') });
    for (const s of result.manifest.stacks) {
      const name = `${p.name}-${s.name}`.replace(/[^a-zA-Z0-9-]/g, '-');
      const cpu = twin.engineCpuSeconds();
      const created = await twin.createStack({ outDir: result.outdir, stack: s.name, name, timeoutSec: 900 });
      const ok = created.status === 'CREATE_COMPLETE';
      console.log(
        `${p.kind}/${p.name}:${s.name} create ${created.status} in ${created.seconds.toFixed(0)} s, ` +
          `heat-all CPU ${(twin.engineCpuSeconds() - cpu).toFixed(1)} s${ok ? '' : `: ${created.reason}`}`,
      );
      const deleted = await twin.deleteStack(name, { timeoutSec: 900 });
      console.log(`  delete ${deleted.status} in ${deleted.seconds.toFixed(0)} s`);
      if (!ok || deleted.status !== 'DELETE_COMPLETE') failed++;
    }
  } catch (e) {
    failed++;
    console.log(`${p.kind}/${p.name}: ${(e as Error).message}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
const left = Object.entries(await twin.resources()).filter(([, ids]) => ids.length > 0);
console.log(left.length ? `left behind: ${JSON.stringify(left)}` : 'nothing left behind');
await twin.stop();
process.exit(failed || left.length ? 1 : 0);
