/**
 * `hotk8s kubeconfig` against a stack created on the local Heat twin (test/lib/twin.md), in a project a user would
 * have: the packed tarball installed into a fresh `hotk8s init --from dev` project (test/lib/packed-project.ts), its
 * synth output created with `openstack stack create` on the twin, then the kubeconfig written by the installed bin and
 * by the CLI's exported entry (`main`), each reading the API address with the real `openstack` client and the twin's
 * `OS_*` variables, and the admin certificate from the project's state directory.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { initProject, installedBin, installTarball, packTree, run } from '../lib/packed-project.js';
import { startTwin, type Twin } from '../lib/twin.js';

const STACK = 'kc';
const work = mkdtempSync(join(tmpdir(), 'hotk8s-twin-kubeconfig-'));
let project: string;
let twin: Twin;
let apiAddress: string;

interface Kubeconfig {
  'current-context': string;
  clusters: { name: string; cluster: { server: string; 'certificate-authority-data': string } }[];
  users: { name: string; user: { 'client-certificate-data': string; 'client-key-data': string } }[];
  contexts: { name: string; context: { cluster: string; user: string } }[];
}

/** The kubeconfig's certificate and CA must be the state directory's admin certificate and cluster CA. */
function expectFromState(file: string): void {
  expect(statSync(file).mode & 0o777).toBe(0o600);
  const k = yaml.load(readFileSync(file, 'utf8')) as Kubeconfig;
  expect(k['current-context']).toBe(STACK);
  expect(k.clusters).toEqual([{ name: STACK, cluster: expect.objectContaining({ server: `https://${apiAddress}:6443` }) }]);
  const pki = join(project, '.hotk8s', 'dev', 'pki');
  const b64 = (f: string) => Buffer.from(readFileSync(join(pki, f), 'utf8')).toString('base64');
  expect(k.users[0]!.user['client-certificate-data']).toBe(b64('admin.crt'));
  expect(k.clusters[0]!.cluster['certificate-authority-data']).toBe(b64('ca.crt'));
}

beforeAll(async () => {
  const tarball = packTree(work);
  project = initProject(work, 'kc-project', ['--from', 'dev']);
  const install = installTarball(project, tarball);
  if (install.status !== 0) throw new Error(install.out);
  const synth = run(project, 'npm', ['run', 'synth']);
  if (synth.status !== 0) throw new Error(synth.out);
  twin = await startTwin();
  const state = await twin.createStack({ outDir: join(project, 'hotk8s.out'), name: STACK });
  expect(state.status, state.reason).toBe('CREATE_COMPLETE');
  apiAddress = (await twin.openstack(['stack', 'output', 'show', STACK, 'api_address', '-f', 'value', '-c', 'output_value'])).stdout.trim();
  expect(apiAddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
});

afterAll(async () => {
  await twin?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('hotk8s kubeconfig against a stack on the Heat twin', () => {
  it('the installed bin reads the API address with the openstack client and writes STACK.kubeconfig', () => {
    const r = run(project, installedBin(project), ['kubeconfig', STACK], twin.env);
    expect(r.status, r.out).toBe(0);
    expect(r.stdout).toContain(`wrote ${STACK}.kubeconfig (context ${STACK}, server https://${apiAddress}:6443)`);
    expect(r.stdout).toMatch(/the admin certificate expires on \d{4}-\d\d-\d\d \(\d+ days\)/);
    expectFromState(join(project, `${STACK}.kubeconfig`));
  });

  it("the CLI's exported entry does the same, with --json; a stack the cloud does not have is one sentence", async () => {
    const saved = { ...process.env };
    Object.assign(process.env, twin.env); // the openstack client inherits the twin's OS_* variables
    try {
      const outDir = mkdtempSync(join(work, 'main-'));
      const out: string[] = [];
      const err: string[] = [];
      const io = { out: (t: string) => out.push(t), err: (t: string) => err.push(t) };
      expect(await main(['kubeconfig', STACK, '--state', join(project, '.hotk8s'), '--out', outDir, '--json'], io), err.join('\n')).toBe(0);
      const r = JSON.parse(out.join('\n')) as {
        ok: boolean;
        file: string;
        server: string;
        cluster: string;
        adminCertificateDaysLeft: number;
      };
      expect(r).toMatchObject({
        ok: true,
        file: join(outDir, `${STACK}.kubeconfig`),
        server: `https://${apiAddress}:6443`,
        cluster: 'dev',
      });
      expect(r.adminCertificateDaysLeft).toBeGreaterThan(300);
      expectFromState(r.file);

      const missing: string[] = [];
      const code = await main(['kubeconfig', 'nope', '--state', join(project, '.hotk8s'), '--cluster', 'dev', '--out', outDir], {
        out: () => undefined,
        err: (t) => missing.push(t),
      });
      expect(code).toBe(1);
      expect(missing.join('\n')).toMatch(/^hotk8s: openstack stack output show nope api_address -f value -c output_value: failed: /);
    } finally {
      for (const k of Object.keys(twin.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });
});
