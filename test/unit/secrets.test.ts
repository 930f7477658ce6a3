/**
 * The secrets contract of `synth` on the default stack: CAs, keys and the encryption key reach Heat only through the
 * 0600 secrets environment file; no other file synth writes holds any of them (nor a line of any PEM body); a second
 * synth reuses the same material; workers receive no CA key.
 */
import { X509Certificate } from 'node:crypto';
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

  it("carry the etcd client certificate to each master's Nova metadata too (applied in place on update), never a key", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hotk8s-secrets-'));
    const r = await synthDefault(dir);
    const out = join(dir, 'out');
    const s = r.manifest.stacks[0]!;
    const secrets = (yaml.load(await readFile(join(out, s.secretEnvironment!), 'utf8')) as { parameter_defaults: Record<string, string> })
      .parameter_defaults;
    const parts = [0, 1, 2].map((i) => secrets[`apiserver_etcd_client_cert_meta_${i}`]!);
    for (const p of parts) expect(p.length > 0 && p.length <= 255, p).toBe(true);
    const der = Buffer.from(parts.join(''), 'base64');
    const pem = Buffer.from(secrets.apiserver_etcd_client_cert_b64!, 'base64').toString('utf8');
    expect(new X509Certificate(der).fingerprint256).toBe(new X509Certificate(pem).fingerprint256);
    const member = yaml.load(await readFile(join(out, 'default.cluster-control-masters-nodes-member.yaml'), 'utf8')) as {
      resources: { Server: { properties: { metadata: Record<string, unknown> } } };
    };
    expect(member.resources.Server.properties.metadata).toEqual({
      'hotk8s-etcd-client-cert-0': { get_param: 'apiserver_etcd_client_cert_meta_0' },
      'hotk8s-etcd-client-cert-1': { get_param: 'apiserver_etcd_client_cert_meta_1' },
      'hotk8s-etcd-client-cert-2': { get_param: 'apiserver_etcd_client_cert_meta_2' },
      'hotk8s-kubernetes-version': expect.stringMatching(/^\d+\.\d+\.\d+$/),
      'hotk8s-role': 'master',
    });
    // workers carry only their role and the upgrade agent's target version
    const worker = yaml.load(
      await readFile(join(out, 'default.cluster-workers-default-workers-nodes-member.yaml'), 'utf8'),
    ) as typeof member;
    expect(worker.resources.Server.properties.metadata).toEqual({
      'hotk8s-kubernetes-version': expect.stringMatching(/^\d+\.\d+\.\d+$/),
      'hotk8s-role': 'worker',
    });
  }, 60_000);
});
