import { describe, expect, it } from 'vitest';
import { App, Cluster, HeatStack, synthesize } from '../../src/index.js';
import { HotError } from '../../src/index.js';

function app(props: Record<string, unknown> = {}) {
  const a = new App();
  const stack = new HeatStack(a, 'bom');
  const c = new Cluster(stack, 'Cluster', { name: 'k8s', image: 'img', externalNetwork: 'public', keyName: 'k', ...props } as never);
  return { app: a, stack, cluster: c };
}

describe('bill of materials', () => {
  it('synth writes <stack>.bom.json and lists it in the manifest, with groups added after the cluster', async () => {
    const { app: a, cluster } = app();
    cluster.addWorkerGroup({ name: 'late', labels: { 'example.com/pool': 'late' } });
    const r = await synthesize(a, { write: false, checkers: [] });
    expect(r.manifest.stacks[0]!.artifacts).toEqual(['bom.bom.json']);
    const bom = JSON.parse(r.files.get('bom.bom.json')!);
    expect(bom.kubernetesVersion).toMatch(/^1\.\d+\.\d+$/);
    expect(bom.packages.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(['containerd', 'kubelet', 'kubeadm', 'kubectl']),
    );
    expect(bom.images.map((i: { image: string }) => i.image)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^registry\.k8s\.io\/kube-apiserver:v1\./)]),
    );
    expect(bom.etcd.install).toBe('download');
    expect(bom.etcd.urls.length).toBeGreaterThan(0);
    expect(bom.urls).toEqual(expect.arrayContaining(bom.etcd.urls));
  });

  it('points nowhere but the mirrors when a package mirror, an image registry and an etcd mirror are set', async () => {
    const { app: a } = app({
      packageSource: {
        mode: 'mirror',
        aptRepositoryUrl: 'https://mirror.example.org/k8s/deb/',
        aptKeyUrl: 'https://mirror.example.org/k8s/Release.key',
      },
      imageRegistry: 'registry.example.org/k8s',
      etcd: { install: { mode: 'download', baseUrl: 'https://mirror.example.org/etcd' } },
    });
    const r = await synthesize(a, { write: false, checkers: [] });
    const bom = JSON.parse(r.files.get('bom.bom.json')!);
    expect(bom.urls.length).toBeGreaterThan(2);
    for (const u of bom.urls) expect(u).toMatch(/^https:\/\/mirror\.example\.org\//);
    for (const i of bom.images) expect(i.image).toMatch(/^registry\.example\.org\/k8s\//);
    for (const p of bom.packages) if (p.origin === 'kubernetes') expect(p.repository).toBe('https://mirror.example.org/k8s/deb/');
  });

  it('rejects artifact names that are not plain file names', () => {
    const { stack } = app();
    expect(() => stack.addArtifact('../x.json', () => '')).toThrow(HotError);
    expect(() => stack.addArtifact('bom.json', () => '')).toThrow(/artifact bom.json is already added/);
    const nested = new HeatStack(stack, 'Nested');
    expect(() => nested.addArtifact('x.json', () => '')).toThrow(/artifacts belong to the root stack/);
  });
});
