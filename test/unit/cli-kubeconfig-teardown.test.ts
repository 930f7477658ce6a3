import { X509Certificate } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateClusterPki } from '../../src/bootstrap/pki.js';
import { main } from '../../src/cli/main.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

/**
 * A fake `openstack` executable: answers from a table (the longest key that starts the joined arguments wins; a
 * value `{ "fail": "msg" }` exits 1 with msg on stderr) and appends each call's arguments, one JSON array a line.
 */
async function fakeOpenstack(dir: string, answers: Record<string, unknown>): Promise<{ exe: string; calls: () => Promise<string[][]> }> {
  const exe = join(dir, 'openstack');
  const log = join(dir, 'calls.log');
  await writeFile(join(dir, 'answers.json'), JSON.stringify(answers));
  await writeFile(
    exe,
    `#!/usr/bin/env node
const fs = require('node:fs');
const args = process.argv.slice(2);
fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify(args) + '\\n');
const answers = JSON.parse(fs.readFileSync(${JSON.stringify(join(dir, 'answers.json'))}, 'utf8'));
const line = args.join(' ');
const key = Object.keys(answers).filter((k) => line === k || line.startsWith(k + ' ')).sort((a, b) => b.length - a.length)[0];
const a = key === undefined ? '' : answers[key];
if (a && typeof a === 'object' && !Array.isArray(a) && a.fail) { process.stderr.write(a.fail + '\\n'); process.exit(1); }
process.stdout.write(typeof a === 'string' ? a + '\\n' : JSON.stringify(a));
`,
  );
  await chmod(exe, 0o755);
  return {
    exe,
    calls: async () =>
      (await readFile(log, 'utf8').catch(() => ''))
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as string[]),
  };
}

let stateDir: string;
beforeAll(async () => {
  stateDir = join(await mkdtemp(join(tmpdir(), 'hotk8s-kc-state-')), '.hotk8s');
  await loadOrCreateClusterPki(stateDir, 'k8s');
}, 60_000);

interface Kubeconfig {
  clusters: { name: string; cluster: { server: string; 'certificate-authority-data': string } }[];
  users: { name: string; user: Record<string, string> }[];
  contexts: { name: string; context: { cluster: string; user: string } }[];
  'current-context': string;
}

describe('hotk8s kubeconfig', () => {
  it("writes <out>/<stack>.kubeconfig (0600) from the state directory and the stack's api_address output, context current", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hotk8s-kc-'));
    const os = await fakeOpenstack(dir, { 'stack output show prod api_address': '203.0.113.7' });
    const c = capture();
    const code = await main(['kubeconfig', 'prod', '--state', stateDir, '--out', dir, '--openstack', os.exe], c.io);
    expect(code, c.err.join('\n')).toBe(0);
    expect(await os.calls()).toEqual([['stack', 'output', 'show', 'prod', 'api_address', '-f', 'value', '-c', 'output_value']]);
    const file = join(dir, 'prod.kubeconfig');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const doc = yaml.load(await readFile(file, 'utf8')) as Kubeconfig;
    expect(doc['current-context']).toBe('prod');
    expect(doc.contexts).toEqual([{ name: 'prod', context: { cluster: 'prod', user: 'prod-admin' } }]);
    expect(doc.clusters[0]!.cluster.server).toBe('https://203.0.113.7:6443');
    const pki = join(stateDir, 'k8s', 'pki');
    const unb64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');
    expect(unb64(doc.clusters[0]!.cluster['certificate-authority-data'])).toBe(await readFile(join(pki, 'ca.crt'), 'utf8'));
    expect(unb64(doc.users[0]!.user['client-certificate-data']!)).toBe(await readFile(join(pki, 'admin.crt'), 'utf8'));
    expect(unb64(doc.users[0]!.user['client-key-data']!)).toBe(await readFile(join(pki, 'admin.key'), 'utf8'));
    const expiry = new Date(new X509Certificate(await readFile(join(pki, 'admin.crt'))).validTo).toISOString().slice(0, 10);
    expect(c.out.join('\n')).toContain(`the admin certificate expires on ${expiry}`);
  }, 30_000);

  it('takes --api-address without calling openstack (IPv6 in brackets) and prints --json', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hotk8s-kc-'));
    const os = await fakeOpenstack(dir, {});
    const c = capture();
    const code = await main(
      ['kubeconfig', 'prod', '--api-address', '2001:db8::7', '--state', stateDir, '--out', dir, '--openstack', os.exe, '--json'],
      c.io,
    );
    expect(code, c.err.join('\n')).toBe(0);
    expect(await os.calls()).toEqual([]);
    const result = JSON.parse(c.out.join('\n')) as Record<string, unknown>;
    expect(result).toMatchObject({
      ok: true,
      file: join(dir, 'prod.kubeconfig'),
      context: 'prod',
      server: 'https://[2001:db8::7]:6443',
      cluster: 'k8s',
    });
    expect(result.adminCertificateDaysLeft).toBeGreaterThan(300);
  });

  it('--merge adds to $KUBECONFIG: other entries kept, a same-named one replaced, current-context switched', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hotk8s-kc-'));
    const target = join(dir, 'kube', 'config');
    const other = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        { name: 'other', cluster: { server: 'https://10.0.0.1:6443' } },
        { name: 'prod', cluster: { server: 'https://old:6443' } },
      ],
      users: [{ name: 'other-admin', user: { token: 't' } }],
      contexts: [{ name: 'other', context: { cluster: 'other', user: 'other-admin' } }],
      'current-context': 'other',
    };
    await mkdir(join(dir, 'kube'));
    await writeFile(target, yaml.dump(other));
    const saved = process.env.KUBECONFIG;
    process.env.KUBECONFIG = `${target}:${join(dir, 'second')}`;
    try {
      const c = capture();
      expect(
        await main(['kubeconfig', 'prod', '--api-address', '198.51.100.2', '--state', stateDir, '--merge'], c.io),
        c.err.join('\n'),
      ).toBe(0);
    } finally {
      if (saved === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = saved;
    }
    const doc = yaml.load(await readFile(target, 'utf8')) as Kubeconfig;
    expect(doc['current-context']).toBe('prod');
    expect(doc.clusters.map((x) => [x.name, x.cluster.server])).toEqual([
      ['other', 'https://10.0.0.1:6443'],
      ['prod', 'https://198.51.100.2:6443'],
    ]);
    expect(doc.users.map((u) => u.name)).toEqual(['other-admin', 'prod-admin']);
    expect(doc.contexts.map((x) => x.name)).toEqual(['other', 'prod']);
    expect((await stat(target)).mode & 0o777).toBe(0o600);
  });

  it('fails with exit 1 naming the state directory when it holds no PKI, and when the stack has no address yet', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hotk8s-kc-'));
    const os = await fakeOpenstack(dir, { 'stack output show prod api_address': 'None' });
    const noState = capture();
    expect(await main(['kubeconfig', 'prod', '--state', join(dir, 'nowhere'), '--out', dir, '--openstack', os.exe], noState.io)).toBe(1);
    expect(noState.err.join('\n')).toMatch(/hotk8s: --state: .*nowhere\/prod\/pki\/ca\.crt does not exist/);
    const noAddress = capture();
    expect(await main(['kubeconfig', 'prod', '--state', stateDir, '--out', dir, '--openstack', os.exe], noAddress.io)).toBe(1);
    expect(noAddress.err.join('\n')).toContain('has no api_address output value yet');
    const missing = capture();
    expect(
      await main(['kubeconfig', 'prod', '--state', stateDir, '--out', dir, '--openstack', join(dir, 'no-such-client')], missing.io),
    ).toBe(1);
    expect(missing.err.join('\n')).toContain('is not installed or not on the PATH');
    await expect(stat(join(dir, 'prod.kubeconfig'))).rejects.toThrow(/ENOENT/);
  });

  it('the kubeconfig_howto output of a synthesized cluster names the command, not a literal <stateDir>', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hotk8s-kc-'));
    const c = capture();
    expect(await main(['synth', '--stack', 'dev', '--out', join(dir, 'out'), '--state', join(dir, 'state')], c.io), c.err.join('\n')).toBe(
      0,
    );
    const template = yaml.load(await readFile(join(dir, 'out', 'dev.yaml'), 'utf8')) as { outputs: Record<string, { value: unknown }> };
    const howto = JSON.stringify(template.outputs.kubeconfig_howto!.value);
    expect(howto).toContain('hotk8s kubeconfig STACK --cluster CLUSTER --api-address HOST');
    expect(howto).toContain('"OS::stack_name"');
    expect(howto).not.toContain('<stateDir>');
    expect(template.outputs.api_address).toBeDefined(); // the output kubeconfig reads
  }, 60_000);
});

const CLUSTER_LISTS = {
  'stack output list prod': [
    { output_key: 'api_address', description: 'x' },
    { output_key: 'service_load_balancer_prefix', description: 'y' },
  ],
  'stack output show prod service_load_balancer_prefix': 'kube_service_k8s_',
  'loadbalancer list': [
    { id: 'lb-1', name: 'kube_service_k8s_default_web' },
    { id: 'lb-2', name: 'kube_service_k8s2_default_web' },
    { id: 'lb-3', name: 'prod-api-lb' },
  ],
  'floating ip list': [
    {
      ID: 'fip-1',
      'Floating IP Address': '203.0.113.9',
      Description: 'Floating IP for Kubernetes external service default/web from cluster k8s',
    },
    {
      ID: 'fip-2',
      'Floating IP Address': '203.0.113.10',
      Description: 'Floating IP for Kubernetes external service default/web from cluster k8s2',
    },
    { ID: 'fip-3', 'Floating IP Address': '203.0.113.11', Description: '' },
  ],
  'security group list': [
    { ID: 'sg-1', Name: 'lb-sg-1', Description: 'Security Group for default/web Service LoadBalancer in cluster k8s' },
    { ID: 'sg-2', Name: 'prod-nodes', Description: 'nodes' },
  ],
  'volume list': [
    { ID: 'vol-1', Name: 'pvc-1', Properties: { 'cinder.csi.openstack.org/cluster': 'k8s', 'csi.storage.k8s.io/pvc/name': 'data' } },
    { ID: 'vol-2', Name: 'pvc-2', Properties: "cinder.csi.openstack.org/cluster='k8s', csi.storage.k8s.io/pvc/name='logs'" },
    { ID: 'vol-3', Name: 'pvc-3', Properties: { 'cinder.csi.openstack.org/cluster': 'k8s2' } },
    { ID: 'vol-4', Name: 'etcd-data', Properties: {} },
  ],
};

const deletes = (calls: string[][]) => calls.filter((c) => c.includes('delete')).map((c) => c.join(' '));

describe('hotk8s teardown', () => {
  it("--dry-run lists the controller's load balancers, floating IPs and security groups of this cluster only, and deletes nothing", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hotk8s-td-'));
    const os = await fakeOpenstack(dir, CLUSTER_LISTS);
    const c = capture();
    // found on the PATH, as a user's client is
    const path = process.env.PATH;
    process.env.PATH = `${dir}:${path ?? ''}`;
    try {
      expect(await main(['teardown', 'prod', '--dry-run'], c.io), c.err.join('\n')).toBe(0);
    } finally {
      process.env.PATH = path;
    }
    const text = c.out.join('\n');
    expect(text).toContain('cloud-controller-manager cluster k8s');
    expect(c.out.filter((l) => l.includes('would delete'))).toEqual([
      '  would delete load balancer kube_service_k8s_default_web (lb-1)',
      '  would delete floating ip 203.0.113.9 (fip-1)',
      '  would delete stack prod',
      '  would delete security group lb-sg-1 (sg-1)',
    ]);
    expect(deletes(await os.calls())).toEqual([]);
    expect((await os.calls()).some((x) => x[0] === 'volume')).toBe(false);
  });

  it('--yes deletes in order: load balancers (cascade, wait), floating IPs, the stack (wait), then security groups', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hotk8s-td-'));
    const os = await fakeOpenstack(dir, CLUSTER_LISTS);
    const c = capture();
    expect(await main(['teardown', 'prod', '--yes', '--openstack', os.exe], c.io), c.err.join('\n')).toBe(0);
    expect(deletes(await os.calls())).toEqual([
      'loadbalancer delete --cascade --wait lb-1',
      'floating ip delete fip-1',
      'stack delete --yes --wait prod',
      'security group delete sg-1',
    ]);
  });

  it("--volumes also deletes the CSI driver's volumes of this cluster (property as JSON or as text), after the stack", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hotk8s-td-'));
    const os = await fakeOpenstack(dir, CLUSTER_LISTS);
    const c = capture();
    expect(await main(['teardown', 'prod', '--yes', '--volumes', '--openstack', os.exe, '--json'], c.io), c.err.join('\n')).toBe(0);
    expect(deletes(await os.calls()).slice(-3)).toEqual(['security group delete sg-1', 'volume delete vol-1', 'volume delete vol-2']);
    const result = JSON.parse(c.out.join('\n')) as { ok: boolean; cluster: string; items: { kind: string; id: string }[] };
    expect(result.ok).toBe(true);
    expect(result.cluster).toBe('k8s');
    expect(result.items.map((i) => i.id)).toEqual(['lb-1', 'fip-1', 'prod', 'sg-1', 'vol-1', 'vol-2']);
  });

  it('without --yes lists and exits 1 deleting nothing; a stack without the cloud provider output is only deleted', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hotk8s-td-'));
    const os = await fakeOpenstack(dir, CLUSTER_LISTS);
    const c = capture();
    expect(await main(['teardown', 'prod', '--openstack', os.exe], c.io)).toBe(1);
    expect(c.err.join('\n')).toContain('run it again with --yes');
    expect(deletes(await os.calls())).toEqual([]);

    const plain = await fakeOpenstack(await mkdtemp(join(tmpdir(), 'hotk8s-td-')), {
      'stack output list dev': [{ output_key: 'api_address' }],
    });
    const p = capture();
    expect(await main(['teardown', 'dev', '--yes', '--openstack', plain.exe], p.io), p.err.join('\n')).toBe(0);
    expect((await plain.calls()).map((x) => x.join(' '))).toEqual(['stack output list dev -f json', 'stack delete --yes --wait dev']);
  });

  it('stops at the first failing delete (the stack is not deleted while a load balancer holds its subnet), exit 1 quoting openstack', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hotk8s-td-'));
    const os = await fakeOpenstack(dir, {
      ...CLUSTER_LISTS,
      'loadbalancer delete': { fail: 'Load Balancer lb-1 is immutable (PENDING_UPDATE)' },
    });
    const c = capture();
    expect(await main(['teardown', 'prod', '--yes', '--cluster', 'k8s', '--openstack', os.exe], c.io)).toBe(1);
    expect(c.err.join('\n')).toContain(
      'openstack loadbalancer delete --cascade --wait lb-1: failed: Load Balancer lb-1 is immutable (PENDING_UPDATE)',
    );
    expect(deletes(await os.calls())).toEqual(['loadbalancer delete --cascade --wait lb-1']);
    // --cluster given: the stack's outputs are not read
    expect((await os.calls()).some((x) => x[0] === 'stack' && x[1] === 'output')).toBe(false);
  });
});
