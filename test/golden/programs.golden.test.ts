/**
 * Golden files: every ready-made stack and every example synthesizes (with the ajv and reference checks of every
 * synth) and its output equals the committed files under test/golden/__files__/<kind>-<name>/.
 * An example that stops synthesizing or changes its output fails the build.
 * Regenerate after an intended change with `UPDATE_GOLDEN=1 npm run test:unit`, and review the diff.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { synthesize } from '../../src/index.js';
import { listPrograms, loadProgram } from '../lib/programs.js';

const GOLDEN = resolve(import.meta.dirname, '__files__');
const update = process.env.UPDATE_GOLDEN === '1';

describe('golden output of stacks and examples', () => {
  const programs = listPrograms();
  it('finds the ready-made stacks and examples', () => {
    expect(programs.filter((p) => p.kind === 'examples').length).toBeGreaterThan(0);
    // `hotk8s synth` without an app synthesizes stacks/default
    expect(programs.map((p) => `${p.kind}/${p.name}`)).toContain('stacks/default');
  });

  for (const p of programs) {
    it(`${p.kind}/${p.name} synthesizes to its golden files`, async () => {
      const root = await loadProgram(p);
      const stateDir = await mkdtemp(join(tmpdir(), 'hotk8s-golden-state-'));
      const result = await synthesize(root, { write: false, stateDir });
      const dir = join(GOLDEN, `${p.kind}-${p.name}`);
      if (update) {
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir, { recursive: true });
        for (const [f, text] of result.files) writeFileSync(join(dir, f), text);
      }
      expect(existsSync(dir), `no golden files for ${p.kind}/${p.name}; run UPDATE_GOLDEN=1 npm run test:unit`).toBe(true);
      expect(readdirSync(dir).sort()).toEqual([...result.files.keys()].sort());
      for (const [f, text] of result.files) {
        expect(text, `${p.kind}-${p.name}/${f} differs from its golden file`).toBe(readFileSync(join(dir, f), 'utf8'));
      }
    });
  }
});
