import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { IConstruct } from 'constructs';
import { App, isHeatStack } from '../../src/index.js';

export interface Program {
  readonly kind: 'stacks' | 'examples';
  readonly name: string;
  readonly file: string;
}

const ROOT = resolve(import.meta.dirname, '..', '..');

/** Every ready-made stack and every example program in the repository. */
export function listPrograms(): Program[] {
  const out: Program[] = [];
  for (const kind of ['stacks', 'examples'] as const) {
    if (!existsSync(join(ROOT, kind))) continue;
    for (const f of readdirSync(join(ROOT, kind)).sort()) {
      if (f.endsWith('.ts') && !f.endsWith('.d.ts')) out.push({ kind, name: f.replace(/\.ts$/, ''), file: join(ROOT, kind, f) });
    }
  }
  return out;
}

/** Load a program's default export the way `hotk8s synth` does (App, HeatStack, or a function returning one). */
export async function loadProgram(p: Program): Promise<IConstruct> {
  const mod = (await import(pathToFileURL(p.file).href)) as { default: unknown };
  let v = mod.default;
  if (typeof v === 'function') v = await (v as () => unknown)();
  if (App.isApp(v)) return v;
  if (isHeatStack(v)) return (v as unknown as IConstruct).node.root;
  throw new Error(`${p.file}: default export is not an App, a HeatStack or a function returning one`);
}
