import { gunzipSync } from 'node:zlib';
import { loadAll } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import {
  flannelNetConf,
  mirrorImage,
  renderCloudConf,
  resolveAddonImages,
  resolveCloudProvider,
  type CloudProviderConfig,
} from '../../src/bootstrap/addons.js';
import { billOfMaterials } from '../../src/bootstrap/bom.js';
import { masterAddonManifests, renderMasterUserData, type MasterUserDataContext } from '../../src/bootstrap/master.js';
import { renderWorkerUserData } from '../../src/bootstrap/worker.js';
import { resolveKubernetesVersion } from '../../src/bootstrap/kubernetes-versions.js';

const base = { clusterName: 'demo', podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' } as const;
const cloud: CloudProviderConfig = {
  authUrl: 'https://keystone.example:5000/v3',
  floatingNetworkId: 'net-1',
  subnetId: 'sub-1',
  controllerClusterName: 'demo',
};

type Doc = { apiVersion: string; kind: string; metadata: { name: string } } & Record<string, any>;
const docsOf = (text: string): Doc[] => (loadAll(text) as Doc[]).filter(Boolean);

/** Validates one object with the kubernetes-models class of its apiVersion/kind (offline OpenAPI schema). */
async function validateK8s(doc: Doc): Promise<void> {
  const [group, version] = doc.apiVersion.includes('/') ? doc.apiVersion.split('/') : ['', doc.apiVersion];
  const modulePath = group ? `kubernetes-models/${group}/${version}/${doc.kind}` : `kubernetes-models/${version}/${doc.kind}`;
  let mod: Record<string, new (d: unknown) => { validate(): void }>;
  try {
    mod = await import(modulePath);
  } catch {
    throw new Error(`no kubernetes-models class for ${doc.apiVersion} ${doc.kind}`);
  }
  const Cls = mod[doc.kind];
  if (!Cls) throw new Error(`kubernetes-models module ${modulePath} exports no ${doc.kind}`);
  new Cls(doc).validate();
}

describe('add-on manifests', () => {
  for (const [name, ctx] of Object.entries<MasterUserDataContext>({
    'flannel only': base,
    'with the cloud provider': { ...base, cloudProvider: cloud },
    'mirrored images': { ...base, cloudProvider: cloud, imageRegistry: 'registry.example.org:5000/k8s' },
  })) {
    it(`validate offline with kubernetes-models (${name})`, async () => {
      const manifests = masterAddonManifests(ctx);
      expect(manifests.map((m) => m.file)).toEqual(
        ctx.cloudProvider ? ['10-flannel.yaml', '20-openstack-cloud-controller-manager.yaml', '30-cinder-csi.yaml'] : ['10-flannel.yaml'],
      );
      let count = 0;
      for (const m of manifests) {
        for (const d of docsOf(m.text)) {
          await validateK8s(d);
          count++;
        }
      }
      expect(count).toBe(ctx.cloudProvider ? 6 + 5 + 10 : 6);
    });
  }

  it('the validator rejects a malformed object (it is not a rubber stamp)', async () => {
    const ds = docsOf(masterAddonManifests(base)[0]!.text).find((d) => d.kind === 'DaemonSet')!;
    ds.spec.template.spec.containers[0].image = 42;
    await expect(validateK8s(ds)).rejects.toThrow(/image must be string/);
    await expect(validateK8s({ apiVersion: 'example.org/v1', kind: 'Widget', metadata: { name: 'x' } })).rejects.toThrow(
      /no kubernetes-models class/,
    );
  });

  it('flannel net-conf Network is the podCidr, with the backend asked for and no SubnetLen', () => {
    for (const backend of ['vxlan', 'host-gw', 'udp'] as const) {
      const cm = docsOf(masterAddonManifests({ ...base, podCidr: '10.32.0.0/12', flannel: { backend } })[0]!.text).find(
        (d) => d.kind === 'ConfigMap',
      )!;
      const net = JSON.parse(cm.data['net-conf.json']);
      expect(net.Network).toBe('10.32.0.0/12');
      expect(net.Backend.Type).toBe(backend);
      expect(net.SubnetLen).toBeUndefined();
    }
    expect(flannelNetConf('10.244.0.0/16', { vxlanVni: 4096, port: 4789, directRouting: true }).Backend).toEqual({
      Type: 'vxlan',
      VNI: 4096,
      Port: 4789,
      DirectRouting: true,
    });
  });

  it('fails when flannel options do not fit the backend', () => {
    expect(() => flannelNetConf('10.244.0.0/16', { backend: 'host-gw', vxlanVni: 2 })).toThrow(
      /vxlanVni and directRouting apply to the vxlan backend only; backend is host-gw/,
    );
    expect(() => flannelNetConf('10.244.0.0/16', { backend: 'host-gw', port: 1 })).toThrow(
      /port applies to the vxlan and udp backends only/,
    );
    expect(() => flannelNetConf('10.244.0.0/16', { port: 70000 })).toThrow(/flannel.port must be an integer 1-65535; got 70000/);
    expect(() => flannelNetConf('10.244.0.0/16', { backend: 'wireguard' as never })).toThrow(
      /flannel.backend must be one of vxlan, host-gw, udp; got "wireguard"/,
    );
  });

  it('mirrors image references by replacing the registry host', () => {
    expect(mirrorImage('registry.k8s.io/pause:3.10', 'm.example:5000/k8s')).toBe('m.example:5000/k8s/pause:3.10');
    expect(mirrorImage('ghcr.io/flannel-io/flannel:v0.26.7', 'm.example/k8s/')).toBe('m.example/k8s/flannel-io/flannel:v0.26.7');
    expect(mirrorImage('busybox:1.36', 'm.example')).toBe('m.example/busybox:1.36');
    expect(mirrorImage('registry.k8s.io/pause:3.10', undefined)).toBe('registry.k8s.io/pause:3.10');
  });

  it('takes per-image overrides verbatim and rejects unknown or malformed ones', () => {
    const info = resolveKubernetesVersion('1.36').info;
    expect(resolveAddonImages(info, 'm.example', { flannel: 'other.example/f:1' }).flannel).toBe('other.example/f:1');
    expect(() => resolveAddonImages(info, undefined, { flanel: 'x/y:1' } as never)).toThrow(/images.flanel is not a known image/);
    expect(() => resolveAddonImages(info, undefined, { flannel: 'Not An Image' })).toThrow(
      /images.flannel must be an image reference .*; got "Not An Image"/,
    );
  });
});

describe('cloud provider configuration', () => {
  it('renders cloud.conf with the credential placeholders and the Octavia settings', () => {
    const conf = renderCloudConf(
      resolveCloudProvider({ ...cloud, region: 'RegionOne', monitor: { delaySec: 10, timeoutSec: 5, maxRetries: 3 } }),
    );
    expect(conf).toContain('application-credential-id=__OS_APPLICATION_CREDENTIAL_ID__\n');
    expect(conf).toContain('application-credential-secret=__OS_APPLICATION_CREDENTIAL_SECRET__\n');
    expect(conf).toContain('region=RegionOne\n');
    expect(conf).toContain('lb-provider=amphora\n');
    expect(conf).not.toContain('lb-method');
    expect(conf).toContain('manage-security-groups=false\n');
    expect(conf).toMatch(/create-monitor=true\nmonitor-delay=10s\nmonitor-timeout=5s\nmonitor-max-retries=3\n/);
  });

  it('defaults to managed security groups and SOURCE_IP_PORT with OVN', () => {
    const conf = renderCloudConf(resolveCloudProvider({ ...cloud, octaviaProvider: 'ovn' }));
    expect(conf).toContain('lb-method=SOURCE_IP_PORT\n');
    expect(conf).toContain('manage-security-groups=true\n');
    expect(conf).not.toContain('region=');
  });

  it('fails when the configuration is incomplete or contradictory', () => {
    expect(() => resolveCloudProvider({ ...cloud, subnetId: '' })).toThrow(/cloudProvider.subnetId is required .*; got ""/);
    expect(() => resolveCloudProvider({ ...cloud, monitor: { delaySec: 2, timeoutSec: 5 } })).toThrow(
      /timeoutSec \(5\) must not exceed delaySec \(2\)/,
    );
    expect(() => resolveCloudProvider({ ...cloud, octaviaProvider: 'f5' as never })).toThrow(
      /octaviaProvider must be amphora or ovn; got "f5"/,
    );
    expect(() => resolveCloudProvider({ ...cloud, controllerClusterName: 'my cluster' })).toThrow(/controllerClusterName must be letters/);
    expect(() => resolveCloudProvider({ ...cloud, authUrl: 'https://a\nb' })).toThrow(/authUrl must be one line/);
  });
});

describe('bill of materials', () => {
  it('lists the upstream repository, the pinned packages and every image', () => {
    const bom = billOfMaterials({ ...base, kubernetesVersion: '1.36.1', cloudProvider: cloud });
    expect(bom.urls).toEqual(['https://pkgs.k8s.io/core:/stable:/v1.36/deb/Release.key', 'https://pkgs.k8s.io/core:/stable:/v1.36/deb/']);
    expect(bom.packages.find((p) => p.name === 'kubeadm')).toMatchObject({ version: '1.36.1-1.1', origin: 'kubernetes' });
    expect(bom.packages.find((p) => p.name === 'kubectl')!.roles).toEqual(['master']);
    const images = bom.images.map((i) => i.image);
    expect(images).toContain('registry.k8s.io/kube-apiserver:v1.36.1');
    expect(images).toContain('registry.k8s.io/coredns/coredns:v1.12.1');
    expect(images).toContain('registry.k8s.io/provider-os/openstack-cloud-controller-manager:v1.36.0');
    // Every image a manifest names is in the list.
    for (const m of masterAddonManifests({ ...base, kubernetesVersion: '1.36.1', cloudProvider: cloud })) {
      for (const ref of m.text.match(/image: (\S+)/g) ?? []) expect(images).toContain(ref.slice('image: '.length));
    }
  });

  it('with a mirror configured, no entry and no rendered user-data points elsewhere', () => {
    const mirror = {
      ...base,
      packageSource: {
        mode: 'mirror',
        aptRepositoryUrl: 'https://mirror.example.org/k8s/deb',
        aptKeyUrl: 'https://mirror.example.org/k8s/deb/Release.key',
      },
      imageRegistry: 'registry.example.org/k8s',
    } as const;
    const bom = billOfMaterials({ ...mirror, cloudProvider: cloud }, [mirror]);
    for (const u of bom.urls) expect(u.startsWith('https://mirror.example.org/')).toBe(true);
    for (const p of bom.packages.filter((x) => x.origin === 'kubernetes')) expect(p.repository).toBe('https://mirror.example.org/k8s/deb/');
    for (const i of bom.images) expect(i.image.startsWith('registry.example.org/k8s/')).toBe(true);
    // The user-data itself, compressed files decoded: only the mirror, the registry and the cloud's own Keystone.
    const texts = [renderMasterUserData({ ...mirror, cloudProvider: cloud }).text, renderWorkerUserData(mirror).text];
    const decoded = texts.flatMap((t) => [
      t,
      ...[...t.matchAll(/content: (H4sI[A-Za-z0-9+/=]+)/g)].map((m) => gunzipSync(Buffer.from(m[1]!, 'base64')).toString('utf8')),
    ]);
    expect(decoded.length).toBeGreaterThan(4);
    const all = decoded.join('\n');
    for (const host of ['pkgs.k8s.io', 'registry.k8s.io', 'ghcr.io', 'docker.io', 'quay.io', 'github.com']) expect(all).not.toContain(host);
    for (const url of all.match(/https?:\/\/[A-Za-z0-9.-]+/g) ?? []) {
      // and the node itself, the cloud's metadata service (the masters' certificate renewal and the upgrade agent read it)
      expect([
        'https://mirror.example.org',
        'https://keystone.example',
        'http://127.0.0.1',
        'https://127.0.0.1',
        'http://169.254.169.254',
      ]).toContain(url);
    }
  });

  it('preinstalled packages fetch no URL', () => {
    const bom = billOfMaterials({ ...base, packageSource: { mode: 'preinstalled' } });
    expect(bom.urls).toEqual([]);
    expect(bom.packages).toEqual([]);
  });

  it('fails when a worker group disagrees with the masters on the source', () => {
    expect(() => billOfMaterials(base, [{ ...base, kubernetesVersion: '1.35' }])).toThrow(
      /worker group 0: kubernetesVersion must match the masters' \("1.36.4"\); got "1.35.9"/,
    );
  });
});
