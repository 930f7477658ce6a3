import { loadAll } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import {
  MASTER_PLACEHOLDERS,
  renderMasterKubeadmConfigs,
  renderMasterUserData,
  resolveMaster,
  type MasterUserDataContext,
} from '../../src/bootstrap/master.js';
import { findPlaceholders } from '../../src/bootstrap/render.js';
import { DEFAULT_KUBE_NODE_BOUNDS } from '../../src/bootstrap/kubeadm.js';

const base: MasterUserDataContext = { clusterName: 'demo', podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' };
const cloud = { authUrl: 'https://keystone.example:5000/v3', floatingNetworkId: 'net-1', subnetId: 'sub-1', controllerClusterName: 'demo' };
type Doc = Record<string, any>;

function kubeadm(ctx: MasterUserDataContext): { init: Doc; cluster: Doc; kubelet: Doc; join: Doc } {
  const { init, join } = renderMasterKubeadmConfigs(resolveMaster(ctx));
  const filled = (t: string): string => t.replaceAll('__ETCD_ENDPOINTS__', 'https://10.0.0.5:2379,https://10.0.0.6:2379');
  const [i, c, k] = loadAll(filled(init)) as Doc[];
  return { init: i!, cluster: c!, kubelet: k!, join: loadAll(join)[0] as Doc };
}

/** The multipart parts of rendered user-data, by file name. */
function parts(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/filename="([^"]+)"\n\n([\s\S]*?)\n--==hotk8s/g)) out[m[1]!] = m[2]!;
  return out;
}

describe('master user-data', () => {
  it('has exactly the documented placeholders (plus the credential ones with the cloud provider)', () => {
    const plain = renderMasterUserData(base).placeholders;
    const creds = ['__OS_APPLICATION_CREDENTIAL_ID__', '__OS_APPLICATION_CREDENTIAL_SECRET__'];
    expect([...plain]).toEqual(
      Object.keys(MASTER_PLACEHOLDERS)
        .filter((p) => !creds.includes(p))
        .sort(),
    );
    expect([...renderMasterUserData({ ...base, cloudProvider: cloud }).placeholders]).toEqual(Object.keys(MASTER_PLACEHOLDERS).sort());
  });

  it('is deterministic', () => {
    expect(renderMasterUserData({ ...base, cloudProvider: cloud }).text).toBe(renderMasterUserData({ ...base, cloudProvider: cloud }).text);
  });

  it('puts the script after the cloud-config, and the first-master test is a deploy-time index comparison', () => {
    const p = parts(renderMasterUserData(base).text);
    expect(Object.keys(p)).toEqual(['10-hotk8s-master.cfg', '50-hotk8s-master.sh']);
    expect(p['50-hotk8s-master.sh']).toContain("HK_NODE_INDEX='__NODE_INDEX__'");
    expect(p['50-hotk8s-master.sh']).toMatch(
      /if \[ "\$HK_NODE_INDEX" = 0 \]; then\n\s+init_first_master\nelse\n\s+wait_for_api\n\s+kubeadm_join/,
    );
  });

  it('configures kubeadm: external etcd, endpoint, CIDRs, node mask, encryption, graceful shutdown', () => {
    const { init, cluster, kubelet, join } = kubeadm({
      ...base,
      nodeCidrMaskSize: 26,
      encryptionProvider: 'aescbc',
      gracefulShutdown: { totalSec: 120, criticalPodsSec: 30 },
    });
    expect(init.bootstrapTokens[0]).toMatchObject({ token: '__BOOTSTRAP_TOKEN__', ttl: '0s' });
    expect(cluster.kubernetesVersion).toBe('v1.36.4');
    expect(cluster.encryptionAlgorithm).toBe('ECDSA-P256');
    expect(cluster.controlPlaneEndpoint).toBe('__API_ADDRESS__:6443');
    expect(cluster.etcd.external.endpoints).toEqual(['https://10.0.0.5:2379', 'https://10.0.0.6:2379']);
    expect(cluster.networking.podSubnet).toBe('10.244.0.0/16');
    expect(cluster.controllerManager.extraArgs).toContainEqual({ name: 'node-cidr-mask-size', value: '26' });
    expect(cluster.apiServer.extraArgs).toContainEqual({
      name: 'encryption-provider-config',
      value: '/etc/kubernetes/encryption/config.yaml',
    });
    expect(kubelet).toMatchObject({ cgroupDriver: 'systemd', shutdownGracePeriod: '120s', shutdownGracePeriodCriticalPods: '30s' });
    expect(join.controlPlane.localAPIEndpoint.advertiseAddress).toBe('__NODE_ADDRESS__');
    expect(join.discovery.bootstrapToken.caCertHashes).toEqual(['__CA_CERT_HASH__']);
    // Masters keep kubeadm's default control-plane taint unless told otherwise.
    expect(init.nodeRegistration.taints).toBeUndefined();
    const text = renderMasterUserData({ ...base, encryptionProvider: 'aescbc' }).text;
    expect(text).toMatch(/- aescbc:\n\s+keys:\n\s+- name: hotk8s-key-1\n\s+secret: "__ENCRYPTION_KEY__"/);
  });

  it('uses a mirror registry for kubeadm and the pause image, and the cloud provider for kubelet', () => {
    const { init, cluster } = kubeadm({
      ...base,
      imageRegistry: 'registry.example.org/k8s',
      cloudProvider: cloud,
      taints: [],
      apiServerCertSans: ['__API_FLOATING_IP__'],
    });
    expect(cluster.imageRepository).toBe('registry.example.org/k8s');
    expect(cluster.apiServer.certSANs).toEqual(['__API_FLOATING_IP__']);
    expect(init.nodeRegistration.kubeletExtraArgs).toContainEqual({ name: 'cloud-provider', value: 'external' });
    expect(init.nodeRegistration.taints).toEqual([]);
    expect(renderMasterUserData({ ...base, imageRegistry: 'registry.example.org/k8s' }).text).toContain(
      'sandbox_image = "registry.example.org/k8s/pause:3.10.1"',
    );
  });

  it('never compresses a file that holds a placeholder, and keeps secrets in b64 placeholders only', () => {
    const text = renderMasterUserData({ ...base, cloudProvider: cloud }).text;
    for (const m of text.matchAll(/encoding: gz\+b64\n\s+content: (\S+)/g)) expect(findPlaceholders(m[1]!)).toEqual([]);
    expect(text).toMatch(
      /path: "\/etc\/kubernetes\/pki\/ca.key"\n\s+owner: root:root\n\s+permissions: "0600"\n\s+encoding: b64\n\s+content: __K8S_CA_KEY_B64__\n/,
    );
    expect(text).toMatch(/path: "\/etc\/kubernetes\/cloud.conf"\n\s+owner: root:root\n\s+permissions: "0600"\n/);
    expect(text).toMatch(/path: "\/etc\/containerd\/config.toml"[\s\S]*?defer: true/);
  });

  it('uses the bounds given, and defaults otherwise', () => {
    const script = parts(renderMasterUserData({ ...base, bounds: { etcdWaitSec: 123, initSec: 456 } }).text)['50-hotk8s-master.sh']!;
    expect(script).toContain('HK_ETCD_WAIT_SEC=123\n');
    expect(script).toContain('HK_INIT_SEC=456\n');
    expect(script).toContain(`HK_ADDONS_SEC=${DEFAULT_KUBE_NODE_BOUNDS.addonsSec}\n`);
  });

  it('fails when values are out of range or contradictory, naming the field and the value', () => {
    expect(() => renderMasterUserData({ ...base, nodeCidrMaskSize: 16 })).toThrow(
      /nodeCidrMaskSize must be an integer longer than the podCidr prefix \(\/16\) and at most 30; got 16/,
    );
    expect(() => renderMasterUserData({ ...base, serviceCidr: '10.244.128.0/20' })).toThrow(
      /podCidr 10.244.0.0\/16 and serviceCidr 10.244.128.0\/20 must not overlap/,
    );
    expect(() => renderMasterUserData({ ...base, podCidr: '10.244.0.1/16' })).toThrow(/podCidr has host bits set .*; got "10.244.0.1\/16"/);
    expect(() => renderMasterUserData({ ...base, kubernetesVersion: '1.25.3' })).toThrow(
      /Kubernetes 1.25 is not supported \(supported minors, maintained on 2026-12-04: 1.35, 1.36, 1.37\); got "1.25.3"/,
    );
    expect(() => renderMasterUserData({ ...base, kubernetesVersion: '1.36.999' })).toThrow(
      /1.36.999 is not a known patch release of Kubernetes 1.36 \(known on 2026-12-04: 1.36.0, 1.36.1, 1.36.2, 1.36.3, 1.36.4\); got "1.36.999"/,
    );
    expect(() => renderMasterUserData({ ...base, kubernetesVersion: 1.36 as unknown as string })).toThrow(
      /kubernetesVersion must be a string like '1.36' or '1.36.4' .*; got number 1.36/,
    );
    expect(() => renderMasterUserData({ ...base, externalCloudProvider: true })).toThrow(
      /externalCloudProvider \(true\) contradicts cloudProvider \(not set\)/,
    );
    expect(() => renderMasterUserData({ ...base, labels: { 'node-role.kubernetes.io/control-plane': '' } })).toThrow(
      /a kubelet may not set labels under node-role.kubernetes.io/,
    );
    expect(() => renderMasterUserData({ ...base, gracefulShutdown: { totalSec: 10, criticalPodsSec: 10 } })).toThrow(
      /gracefulShutdown: totalSec must be an integer greater than criticalPodsSec/,
    );
    expect(() => renderMasterUserData({ ...base, bounds: { joinSec: 0 } })).toThrow(
      /bounds.joinSec must be an integer number of seconds 1-86400; got 0/,
    );
    expect(() => renderMasterUserData({ ...base, apiServerCertSans: ['a b'] })).toThrow(/apiServerCertSans entries must be .*; got "a b"/);
    expect(() =>
      renderMasterUserData({ ...base, packageSource: { mode: 'mirror', aptRepositoryUrl: 'ftp://x', aptKeyUrl: 'https://k' } }),
    ).toThrow(/packageSource.aptRepositoryUrl must be an http\(s\) URL .*; got "ftp:\/\/x"/);
    expect(() => renderMasterUserData({ ...base, clusterName: 'Demo' })).toThrow(/clusterName must be a DNS label .*; got "Demo"/);
  });
});

describe('bootstrap budgets', () => {
  it('derives each role budget from the bounds on its path, first master longest', async () => {
    const { kubeNodeBudgetSec, ATTEMPT_OVERSHOOT_SEC, CLOUD_INIT_ALLOWANCE_SEC } = await import('../../src/bootstrap/kubeadm.js');
    const b = DEFAULT_KUBE_NODE_BOUNDS;
    const first = kubeNodeBudgetSec(undefined, 'first-master');
    expect(first).toBe(
      CLOUD_INIT_ALLOWANCE_SEC +
        60 +
        b.packagesSec +
        b.containerdSec +
        b.etcdWaitSec +
        b.initSec +
        b.apiWaitSec +
        b.addonsSec +
        b.nodeReadySec +
        7 * ATTEMPT_OVERSHOOT_SEC +
        b.signalSec,
    );
    expect(kubeNodeBudgetSec(undefined, 'worker')).toBe(kubeNodeBudgetSec(undefined, 'master'));
    expect(kubeNodeBudgetSec({ apiWaitSec: 100 }, 'worker')).toBe(kubeNodeBudgetSec(undefined, 'worker') - (b.apiWaitSec - 100));
    expect(() => kubeNodeBudgetSec({ initSec: -1 }, 'first-master')).toThrow(
      /bounds.initSec must be an integer number of seconds 1-86400; got -1/,
    );
  });
});
