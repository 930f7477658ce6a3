import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HotError } from '../core/errors.js';
import type { Manifest } from '../core/synthesis.js';

/** A synth output: its manifest and a reader of its files. */
export interface SynthOutput {
  readonly manifest: Manifest;
  read(file: string): string;
}

/** A synth output directory (its manifest.json read and parsed; a missing or unreadable one is a HotError). */
export function readOutput(dir: string): SynthOutput {
  const file = join(dir, 'manifest.json');
  if (!existsSync(file))
    throw new HotError(dir, 'not a synth output directory (it holds no manifest.json): run hotk8s synth first, or name one');
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(file, 'utf8')) as Manifest;
  } catch (e) {
    throw new HotError(file, `a synth manifest is readable JSON: ${(e as Error).message}`);
  }
  return { manifest, read: (f) => readFileSync(join(dir, f), 'utf8') };
}
