/**
 * The secrets contract of `synth` on the default stack: CAs, keys and the encryption key reach Heat only through the
 * 0600 secrets environment file; no other file synth writes holds any of them (nor a line of any PEM body); a second
 * synth reuses the same material; workers receive no CA key.
 */
import { mkdtemp, readFile, readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { synthesize } from '../../src/index.js';
import { loadProgram } from '../lib/programs.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

async function synthDefault(dir: string) {
  const root = await loadProgram({ kind: 'stacks', name: 'default', file: join(ROOT, 'stacks', 'default.ts') });
  return synthesize(root, { outdir: join(dir, 'out'), stateDir: join(dir, 'state') });
}

/** Every secret value, and every PEM/base64 body line long enough to be unique, from the secrets file. */
function secretNeedles(secrets: Record<string, unknown>): string[] {
  const needles = new Set<string>();
  for (const v of Object.values(secrets)) {
    const text = String(v);
    needles.add(text);
    for (const line of text.split('\n')) if (line.length >= 24 && !line.startsWith('-----')) needles.add(line);
    if (/^[A-Za-z0-9+/=]+$/.test(text) && text.length >= 24) {
      for (const line of Buffer.from(text, 'base64').toString('utf8').split('\n'))
        if (line.length >= 24 && !line.startsWith('-----')) needles.add(line);
    }
  }
  return [...needles];
}

describe('secrets of the default stack', () => {
  it('stay in the 0600 secrets file, are reused by a second synth, and never reach workers as CA keys', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hotk8s-secrets-'));
    const first = await synthDefault(dir);
    const out = join(dir, 'out');
    const s = first.manifest.stacks[0]!;
    expect(s.secretEnvironment).toBe('default.secrets.env.yaml');
    expect(((await stat(join(out, s.secretEnvironment!))).mode & 0o777).toString(8)).toBe('600');
    const secretText = await readFile(join(out, s.secretEnvironment!), 'utf8');
    const secrets = (yaml.load(secretText) as { parameter_defaults: Record<string, unknown> }).parameter_defaults;
    expect(Object.keys(secrets).length).toBeGreaterThanOrEqual(10);
    const needles = secretNeedles(secrets);
    expect(needles.length).toBeGreaterThan(20);
    for (const f of await readdir(out)) {
      if (f === s.secretEnvironment) continue;
      const text = await readFile(join(out, f), 'utf8');
      for (const n of needles) expect(text.includes(n), `${f} holds secret material`).toBe(false);
    }
    // every secret parameter is hidden in the template
    for (const name of Object.keys(secrets)) expect(s.parameters[name], name).toEqual({ type: 'string', required: false, hidden: true });

    // workers get no CA private key
    const workerFiles = s.files.filter((f) => f.includes('workers'));
    expect(workerFiles.length).toBeGreaterThan(0);
    for (const f of workerFiles) {
      const params = Object.keys((yaml.load(await readFile(join(out, f), 'utf8')) as { parameters?: object }).parameters ?? {});
      expect(
        params.filter((p) => /ca_key|sa_key|encryption/.test(p)),
        f,
      ).toEqual([]);
    }

    const second = await synthDefault(dir);
    expect(await readFile(join(out, s.secretEnvironment!), 'utf8')).toBe(secretText);
    expect([...second.files.keys()].sort()).toEqual([...first.files.keys()].sort());
  }, 60_000);
});
