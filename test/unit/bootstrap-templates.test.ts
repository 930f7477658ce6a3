// The precompiled bootstrap templates: the committed module equals a fresh generation from the .hbs sources, and
// every role and variant renders byte for byte the same from the precompiled module as from the sources compiled
// at run time (so the .hbs files stay the source of truth). Also the render cache's key.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { renderCloudConf, resolveCloudProvider, type CloudProviderConfig } from '../../src/bootstrap/addons.js';
import { renderEtcdUserData, type EtcdUserDataContext } from '../../src/bootstrap/etcd.js';
import {
  masterAddonManifests,
  renderMasterKubeadmConfigs,
  renderMasterUserData,
  resolveMaster,
  type MasterUserDataContext,
} from '../../src/bootstrap/master.js';
import {
  BoundedMemo,
  contextKey,
  TEMPLATE_COMPILE_OPTIONS,
  templateSource,
  withTemplateSource,
} from '../../src/bootstrap/private/templates.js';
import { renderCommonLibrary, renderTemplate, templateNames } from '../../src/bootstrap/render.js';
import { BOOTSTRAP_TEMPLATE_NAMES } from '../../src/bootstrap/templates.generated.js';
import { renderWorkerUserData, type WorkerUserDataContext } from '../../src/bootstrap/worker.js';
// @ts-expect-error -- a plain .mjs script without declarations
import * as gen from '../../scripts/gen-bootstrap-templates.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const script = join(root, 'scripts', 'gen-bootstrap-templates.mjs');

describe('generated module', () => {
  it('equals a fresh generation from the .hbs sources (run `npm run gen:bootstrap`)', () => {
    expect(gen.bootstrapTemplatesDifference(), 'src/bootstrap/templates.generated.ts is stale; run `npm run gen:bootstrap`').toEqual([]);
    expect(readFileSync(gen.GENERATED_FILE, 'utf8')).toBe(gen.generateBootstrapTemplates());
  });

  it('is deterministic and compiled with the options render.ts uses for the sources', () => {
    expect(gen.generateBootstrapTemplates()).toBe(gen.generateBootstrapTemplates());
    expect(gen.PRECOMPILE_OPTIONS).toEqual(TEMPLATE_COMPILE_OPTIONS);
    expect(readFileSync(gen.GENERATED_FILE, 'utf8')).toContain(`options ${JSON.stringify(TEMPLATE_COMPILE_OPTIONS)}`);
  });

  it('holds every template, and the library renders from it unless told otherwise', () => {
    expect([...BOOTSTRAP_TEMPLATE_NAMES]).toEqual(gen.listTemplateNames());
    expect(templateSource()).toBe('precompiled');
    expect(templateNames()).toEqual(gen.listTemplateNames());
    expect(withTemplateSource('sources', () => templateNames())).toEqual(gen.listTemplateNames());
  });

  it('--check exits 0 when up to date and names its usage on a bad argument', () => {
    expect(execFileSync(process.execPath, [script, '--check'], { encoding: 'utf8' })).toMatch(/up to date/);
    let failure: { status?: number; stderr?: string } = {};
    try {
      execFileSync(process.execPath, [script, '--nope'], { encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      failure = e as typeof failure;
    }
    expect(failure.status).toBe(2);
    expect(failure.stderr).toMatch(/unknown argument\(s\) --nope/);
  });

  it('fails naming the template when a source does not compile', async () => {
    const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'hk8s-tpl-'));
    try {
      mkdirSync(join(dir, 'x'));
      writeFileSync(join(dir, 'x', 'broken.sh.hbs'), '{{#if a}}never closed\n');
      expect(() => gen.generateBootstrapTemplates(dir)).toThrow(/template x\/broken\.sh: .*/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Every role and variant, both ways.

const cloud: CloudProviderConfig = {
  authUrl: 'https://keystone.example:5000/v3',
  floatingNetworkId: 'net-1',
  subnetId: 'sub-1',
  controllerClusterName: 'demo',
};
const kube = { clusterName: 'demo', podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' } as const;
const mirror = {
  mode: 'mirror',
  aptRepositoryUrl: 'https://apt.mirror.example/k8s',
  aptKeyUrl: 'https://apt.mirror.example/k8s/Release.key',
} as const;

const etcdVariants: Record<string, EtcdUserDataContext> = {
  default: { clusterName: 'demo', kubernetesVersion: '1.36.1', podCidr: '10.244.0.0/16' },
  'k8s 1.37 (etcd 3.6), data volume': {
    clusterName: 'demo',
    kubernetesVersion: '1.37',
    podCidr: '10.244.0.0/16',
    dataVolume: true,
    install: { mode: 'download', sha256: { amd64: 'a'.repeat(64), arm64: 'b'.repeat(64) } },
  },
  'labelled volume, bounds, tuning': {
    clusterName: 'prod-a',
    kubernetesVersion: '1.36',
    podCidr: '10.100.0.0/16',
    dataVolume: { label: 'etcd-data' },
    bounds: { downloadSeconds: 60, healthSeconds: 900 },
    certDays: 365,
    snapshotCount: 5000,
    quotaBackendBytes: 4294967296,
  },
  'mirror download': {
    clusterName: 'demo',
    kubernetesVersion: '1.35',
    podCidr: '10.244.0.0/16',
    install: { mode: 'download', baseUrl: 'https://mirror.example/etcd' },
  },
  preinstalled: {
    clusterName: 'demo',
    kubernetesVersion: '1.36',
    podCidr: '10.244.0.0/16',
    install: { mode: 'preinstalled', etcdPath: '/usr/bin/etcd', etcdctlPath: '/usr/bin/etcdctl' },
  },
};

const masterVariants: Record<string, MasterUserDataContext> = {
  default: kube,
  'cloud provider amphora': { ...kube, cloudProvider: cloud },
  'cloud provider ovn, region, CA file, monitor off, mirror registry': {
    ...kube,
    kubernetesVersion: '1.37',
    imageRegistry: 'mirror.example.com:5000/k8s',
    cloudProvider: {
      ...cloud,
      octaviaProvider: 'ovn',
      region: 'RegionTwo',
      caFile: '/etc/ssl/certs/cloud.pem',
      monitor: { enabled: false },
      ignoreVolumeAz: true,
      storageClassName: 'fast',
    },
  },
  'aescbc, mask 26, graceful shutdown, SANs, labels, taints': {
    ...kube,
    nodeCidrMaskSize: 26,
    encryptionProvider: 'aescbc',
    gracefulShutdown: { totalSec: 120, criticalPodsSec: 30 },
    apiServerCertSans: ['api.example.com', '__API_FLOATING_IP__'],
    labels: { 'example.org/tier': 'control' },
    taints: [{ key: 'example.org/dedicated', value: 'cp', effect: 'NoExecute' }],
  },
  'schedulable masters, host-gw, mirror packages, 1.35': {
    ...kube,
    kubernetesVersion: '1.35',
    taints: [],
    flannel: { backend: 'host-gw' },
    packageSource: mirror,
    dnsDomain: 'k8s.internal',
  },
  'udp flannel with iface, preinstalled packages, bounds': {
    ...kube,
    flannel: { backend: 'udp', port: 8286, iface: 'ens3' },
    packageSource: { mode: 'preinstalled' },
    bounds: { joinSec: 900 },
  },
  'vxlan vni and direct routing, image override': {
    ...kube,
    flannel: { vxlanVni: 4096, port: 4789, directRouting: true },
    images: { flannel: 'registry.example/flannel:v9' },
  },
};

const workerVariants: Record<string, WorkerUserDataContext> = {
  default: kube,
  'labels and taints, external cloud provider': {
    ...kube,
    externalCloudProvider: true,
    labels: { 'node.kubernetes.io/pool': 'gpu', 'example.org/team': 'ml' },
    taints: [
      { key: 'nvidia.com/gpu', effect: 'NoSchedule' },
      { key: 'example.org/spot', value: 'yes', effect: 'PreferNoSchedule' },
    ],
  },
  'mirror registry and packages, 1.37': {
    ...kube,
    kubernetesVersion: '1.37.1',
    imageRegistry: 'mirror.example.com/k8s',
    packageSource: mirror,
    packageRevision: '2.1',
  },
  'preinstalled, other networks': {
    clusterName: 'edge',
    podCidr: '172.20.0.0/14',
    serviceCidr: '10.32.0.0/16',
    packageSource: { mode: 'preinstalled' },
  },
};

/** Everything the bootstrap layer renders for the variants, as named texts. */
function renderAll(): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, ctx] of Object.entries(etcdVariants)) out.set(`etcd ${name}`, renderEtcdUserData(ctx).text);
  for (const [name, ctx] of Object.entries(masterVariants)) {
    out.set(`master ${name}`, renderMasterUserData(ctx).text);
    const { init, join } = renderMasterKubeadmConfigs(resolveMaster(ctx));
    out.set(`master ${name}: kubeadm init`, init);
    out.set(`master ${name}: kubeadm join`, join);
    for (const m of masterAddonManifests(ctx)) out.set(`master ${name}: ${m.file}`, m.text);
    const cp = resolveMaster(ctx).cloudProvider;
    if (cp) out.set(`master ${name}: cloud.conf`, renderCloudConf(cp));
  }
  for (const [name, ctx] of Object.entries(workerVariants)) out.set(`worker ${name}`, renderWorkerUserData(ctx).text);
  for (const role of ['etcd', 'master', 'worker'] as const)
    out.set(`common library ${role}`, renderCommonLibrary({ role, podCidr: '10.244.0.0/16' }));
  out.set('cloud.conf alone', renderCloudConf(resolveCloudProvider({ ...cloud, manageSecurityGroups: true })));
  return out;
}

describe('precompiled and source-compiled templates render the same', () => {
  const precompiled = renderAll();
  const fromSources = withTemplateSource('sources', renderAll);

  it('covers every role and variant', () => {
    expect(precompiled.size).toBeGreaterThan(40);
    expect([...fromSources.keys()]).toEqual([...precompiled.keys()]);
  });

  for (const name of precompiled.keys()) {
    it(`${name}`, () => {
      const a = precompiled.get(name) as string;
      expect(a.length).toBeGreaterThan(0);
      expect(a).toBe(fromSources.get(name));
    });
  }

  it('every template is reached: rendered by name from src/bootstrap or used as a partial', () => {
    const srcDir = join(root, 'src', 'bootstrap');
    const code = readdirSync(srcDir)
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.generated.ts'))
      .map((f) => readFileSync(join(srcDir, f), 'utf8'))
      .join('\n');
    const tplDir = join(srcDir, 'templates');
    const sources = gen
      .listTemplateNames()
      .map((n: string) => readFileSync(join(tplDir, `${n}.hbs`), 'utf8'))
      .join('\n');
    const reached = new Set<string>([
      ...[...code.matchAll(/renderTemplate\('([^']+)'/g)].map((m) => m[1] as string),
      ...[...sources.matchAll(/\{\{~?>\s*([\w./-]+)/g)].map((m) => m[1] as string),
    ]);
    expect(gen.listTemplateNames().filter((n: string) => !reached.has(n))).toEqual([]);
  });

  it('strict mode holds in both: a missing field fails naming the template and the field', () => {
    for (const source of ['precompiled', 'sources'] as const) {
      expect(() => withTemplateSource(source, () => renderTemplate('kube/containerd-config.toml', {}))).toThrow(
        /template kube\/containerd-config\.toml: "pauseImage" not defined/,
      );
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('render cache', () => {
  it('never serves a cached text for a context that differs only by a missing field', () => {
    expect(renderTemplate('kube/containerd-config.toml', { pauseImage: undefined })).not.toContain('undefined');
    expect(() => renderTemplate('kube/containerd-config.toml', {})).toThrow(/"pauseImage" not defined/);
    const a = renderTemplate('kube/containerd-config.toml', { pauseImage: 'registry.k8s.io/pause:3.10' });
    expect(renderTemplate('kube/containerd-config.toml', { pauseImage: 'mirror.example/pause:3.10' })).not.toBe(a);
    expect(renderTemplate('kube/containerd-config.toml', { pauseImage: 'registry.k8s.io/pause:3.10' })).toBe(a);
  });

  it('renders a worker group once per distinct settings, sharing a frozen result; labels and taints are not settings', () => {
    const a = renderWorkerUserData({ ...kube, labels: { 'example.org/pool': 'a' } });
    const again = renderWorkerUserData({
      ...kube,
      group: 'other',
      labels: { 'example.org/pool': 'b' },
      taints: [{ key: 'k', effect: 'NoSchedule' }],
    });
    const b = renderWorkerUserData({ ...kube, externalCloudProvider: true });
    expect(again).toBe(a);
    expect(Object.isFrozen(a) && Object.isFrozen(a.placeholders)).toBe(true);
    expect(b.text).not.toBe(a.text);
    expect(b.text.replaceAll('cloud-provider', 'x')).not.toBe(a.text); // the multipart boundary follows the content
    expect(() => renderWorkerUserData({ ...kube, labels: { 'example.org/pool': 'a' }, podCidr: '10.244.1.0/16' })).toThrow(
      /podCidr has host bits set/,
    );
  });

  it('stays bounded: starts over beyond its entry count or character budget, never keeps an oversized text', () => {
    const m = new BoundedMemo<string>(3, 100);
    for (const k of ['a', 'b', 'c']) m.set(k, 'x');
    expect(m.size).toBe(3);
    m.set('d', 'x');
    expect([m.size, m.get('a'), m.get('d')]).toEqual([1, undefined, 'x']);
    m.set('e', 'y'.repeat(98)); // 2 + 99 characters > 100
    expect([m.size, m.get('d'), m.has('e')]).toEqual([1, undefined, true]);
    m.set('f', 'z'.repeat(100));
    expect([m.has('f'), m.has('e')]).toEqual([false, true]);
    const objects = new BoundedMemo<{ text: string }>(10, 50);
    objects.set('k', { text: 'w'.repeat(60) });
    expect(objects.has('k')).toBe(false);
  });

  it('keys distinguish what Handlebars distinguishes', () => {
    const distinct = [
      { a: 0 },
      { a: -0 },
      { a: NaN },
      { a: null },
      { a: undefined },
      {},
      { a: '0' },
      { a: false },
      { a: [] },
      { a: {} },
      { a: [undefined] },
      { a: 1, b: 2 },
      { b: 2, a: 1 },
      { a: 'x"y' },
      { 'a"': 'y' },
    ].map(contextKey);
    expect(distinct.every((k) => typeof k === 'string')).toBe(true);
    expect(new Set(distinct).size).toBe(distinct.length);
    expect(contextKey({ a: [1, { b: 'c' }] })).toBe(contextKey({ a: [1, { b: 'c' }] }));
    expect(contextKey(Object.assign(Object.create(null), { a: 1 }))).toBe(contextKey({ a: 1 }));
  });

  it('gives no key (so no caching) for what is not plain data', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    class Box {
      a = 1;
    }
    const hidden = Object.defineProperty({}, 'a', { value: 1, enumerable: false });
    const sparse = [1, , 3];
    for (const v of [
      { d: new Date(0) },
      { f: () => 1 },
      new Box(),
      {
        get a() {
          return 1;
        },
      },
      cyclic,
      { [Symbol('s')]: 1 },
      { s: Symbol('s') },
      { n: 1n },
      hidden,
      { sparse },
      { m: new Map() },
    ]) {
      expect(contextKey(v)).toBeUndefined();
    }
  });
});
