/**
 * Static layer for masters and workers: the rendered user-data as cloud-init splits it, every
 * cloud-config against cloud-init's schema (unknown keys rejected), every script (shell parts and
 * scripts in write_files, decoded) through shellcheck, and the size Nova receives after Heat's
 * substitutions with realistic values (real PEM, a Keystone-sized signal command).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderMasterUserData, MASTER_PLACEHOLDERS, type MasterUserDataContext } from '../../src/bootstrap/master.js';
import { renderWorkerUserData, workerDeployValues, WORKER_PLACEHOLDERS, type WorkerUserDataContext } from '../../src/bootstrap/worker.js';
import type { ClusterPki } from '../../src/bootstrap/pki.js';
import { renderAccessManifest, renderAgentManifest } from '../../src/autoscaling/manifests.js';
import {
  NOVA_USER_DATA_LIMIT,
  novaSize,
  realisticHeatValues,
  requireTool,
  staticCheckUserData,
  substituteAsHeat,
  throwawayPki,
} from './lib/index.js';

const base = {
  clusterName: 'prod-cluster-01',
  kubernetesVersion: '1.36.1',
  podCidr: '10.244.0.0/16',
  serviceCidr: '10.96.0.0/12',
} as const;
const cloudProvider = {
  authUrl: 'https://identity.region-one.cloud.example.org:5000/v3',
  region: 'region-one',
  floatingNetworkId: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0',
  subnetId: '__LB_SUBNET_ID__',
  controllerClusterName: 'prod-cluster-01',
};
const masters: Record<string, MasterUserDataContext> = {
  'upstream packages, vxlan': { ...base },
  'cloud provider (CCM + Cinder CSI), host-gw': {
    ...base,
    flannel: { backend: 'host-gw' },
    cloudProvider,
    apiServerCertSans: ['__API_FLOATING_IP__', 'k8s.example.org'],
  },
  'mirror + registry, cloud provider': {
    ...base,
    cloudProvider: { ...cloudProvider, octaviaProvider: 'ovn' },
    packageSource: {
      mode: 'mirror',
      aptRepositoryUrl: 'https://mirror.example.org/k8s/v1.36/deb/',
      aptKeyUrl: 'https://mirror.example.org/k8s/v1.36/deb/Release.key',
    },
    imageRegistry: 'registry.example.org:5000/k8s',
  },
  'preinstalled (air-gapped image)': { ...base, packageSource: { mode: 'preinstalled' }, imageRegistry: 'registry.example.org/k8s' },
  // the largest master: everything above plus the autoscaling agent and its access Secret (src/autoscaling)
  'mirror + registry, cloud provider, autoscaling and healing': {
    ...base,
    cloudProvider: { ...cloudProvider, octaviaProvider: 'ovn' },
    packageSource: {
      mode: 'mirror',
      aptRepositoryUrl: 'https://mirror.example.org/k8s/v1.36/deb/',
      aptKeyUrl: 'https://mirror.example.org/k8s/v1.36/deb/Release.key',
    },
    imageRegistry: 'registry.example.org:5000/k8s',
    extraAddons: [
      {
        file: '40-hotk8s-autoscaler-access.yaml',
        text: renderAccessManifest({ region: 'region-one', endpointInterface: 'public' }),
        images: [],
      },
      {
        file: '41-hotk8s-autoscaler.yaml',
        text: renderAgentManifest({
          autoscaler: {
            image: 'registry.example.org:5000/k8s/autoscaling/cluster-autoscaler:v1.36.1',
            args: ['--cloud-provider=externalgrpc'],
          },
          healing: true,
          agentImage: 'registry.example.org:5000/k8s/library/node:22-alpine',
          region: 'region-one',
          endpointInterface: 'public',
        }),
        images: [],
      },
    ],
  },
};
const workers: Record<string, WorkerUserDataContext> = {
  plain: { ...base },
  'labels, taints, cloud provider': {
    ...base,
    externalCloudProvider: true,
    labels: { 'node.kubernetes.io/pool': 'gpu', 'example.org/team': 'ml' },
    taints: [{ key: 'nvidia.com/gpu', value: 'present', effect: 'NoSchedule' }],
  },
};

let pki: ClusterPki;
const sizes: Record<string, { raw: number; base64: number }> = {};
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

function kubeValues(p: ClusterPki, nodeName: string): Record<string, string> {
  const etcd = Array.from({ length: 7 }, (_, i) => `https://192.168.255.${240 + i}:2379`).join(',');
  return realisticHeatValues(p, {
    __NODE_NAME__: nodeName,
    __NODE_INDEX__: '12',
    __NODE_ADDRESS__: '192.168.255.250',
    __API_ADDRESS__: '192.168.255.254',
    __API_FLOATING_IP__: '203.0.113.254',
    __ETCD_ENDPOINTS__: etcd,
    __BOOTSTRAP_TOKEN__: 'abcdef.0123456789abcdef',
    __CA_CERT_HASH__: p.discoveryHash,
    __K8S_CA_CERT_B64__: b64(p.clusterCa.certPem),
    __K8S_CA_KEY_B64__: b64(p.clusterCa.keyPem),
    __FRONT_PROXY_CA_CERT_B64__: b64(p.frontProxyCa.certPem),
    __FRONT_PROXY_CA_KEY_B64__: b64(p.frontProxyCa.keyPem),
    __SA_KEY_B64__: b64(p.serviceAccount.privateKeyPem),
    __SA_PUB_B64__: b64(p.serviceAccount.publicKeyPem),
    __ETCD_CA_CERT_B64__: b64(p.etcdCa.certPem),
    __APISERVER_ETCD_CLIENT_CERT_B64__: b64(p.apiserverEtcdClient.certPem),
    __APISERVER_ETCD_CLIENT_KEY_B64__: b64(p.apiserverEtcdClient.keyPem),
    __ENCRYPTION_KEY__: p.encryptionKey,
    __OS_APPLICATION_CREDENTIAL_ID__: 'a'.repeat(32),
    __OS_APPLICATION_CREDENTIAL_SECRET__: 'S'.repeat(86),
    __LB_SUBNET_ID__: '6f1b4a52-9c3e-4d7a-8e0f-1a2b3c4d5e6f',
    __AUTOSCALER_AUTH_URL__: 'https://identity.region-one.cloud.example.org:5000/v3',
    __AUTOSCALER_CREDENTIAL_ID__: 'b'.repeat(32),
    __AUTOSCALER_CREDENTIAL_SECRET__: 'T'.repeat(86),
    __AUTOSCALER_STACK__: 'prod-cluster-01/8a7b6c5d-4e3f-4a1b-9c8d-7e6f5a4b3c2d',
  });
}

beforeAll(async () => {
  for (const tool of ['cloud-init', 'shellcheck', '/usr/bin/python3']) requireTool(tool);
  pki = await throwawayPki('prod-cluster-01');
});

describe('master and worker user-data, static checks', () => {
  for (const [name, ctx] of Object.entries(masters)) {
    it(`master (${name}): cloud-init splits it, schema and shellcheck pass, fits Nova after substitution`, () => {
      const ud = renderMasterUserData(ctx);
      for (const p of ud.placeholders) {
        if (!p.startsWith('__LB_') && !p.startsWith('__API_FLOATING') && !p.startsWith('__AUTOSCALER_'))
          expect(MASTER_PLACEHOLDERS, `undocumented placeholder ${p}`).toHaveProperty(p);
      }
      const raw = substituteAsHeat(ud.text, ud.placeholders, kubeValues(pki, 'prod-cluster-01-master-12'));
      const report = staticCheckUserData(raw, `master(${name})`);
      expect(report.problems).toEqual([]);
      expect(report.parts.map((p) => [p.contentType, p.filename])).toEqual([
        ['text/cloud-config', '10-hotk8s-master.cfg'],
        ['text/x-shellscript', '50-hotk8s-master.sh'],
      ]);
      // The role script, both libraries and the certificate renewal, decoded from write_files, went through shellcheck.
      expect(report.scriptsChecked.map((s) => s.replace(/^.*:/, ''))).toEqual(
        expect.arrayContaining([
          '/usr/local/lib/hotk8s/lib.sh',
          '/usr/local/lib/hotk8s/kube-node.sh',
          '/usr/local/sbin/hotk8s-cert-renew',
          '/usr/local/lib/hotk8s/upgrade-agent.sh',
        ]),
      );
      expect(report.scriptsChecked).toHaveLength(5);
      sizes[`master (${name})`] = { raw: Buffer.byteLength(raw), base64: novaSize(raw) };
      expect(novaSize(raw)).toBeLessThanOrEqual(NOVA_USER_DATA_LIMIT);
    });
  }
  for (const [name, ctx] of Object.entries(workers)) {
    it(`worker (${name}): cloud-init splits it, schema and shellcheck pass, fits Nova after substitution`, () => {
      const ud = renderWorkerUserData(ctx);
      expect(Object.keys(WORKER_PLACEHOLDERS).sort()).toEqual([...ud.placeholders]);
      const raw = substituteAsHeat(ud.text, ud.placeholders, {
        ...kubeValues(pki, 'prod-cluster-01-gpu-pool-12'),
        ...workerDeployValues(ctx),
      });
      const report = staticCheckUserData(raw, `worker(${name})`);
      expect(report.problems).toEqual([]);
      expect(report.scriptsChecked).toHaveLength(4);
      // Workers get no CA key, no manifest, no cloud.conf.
      expect(raw).not.toContain('PRIVATE KEY');
      expect(raw).not.toContain('/etc/kubernetes/hotk8s/addons');
      expect(raw).not.toContain('cloud.conf');
      sizes[`worker (${name})`] = { raw: Buffer.byteLength(raw), base64: novaSize(raw) };
      expect(novaSize(raw)).toBeLessThanOrEqual(NOVA_USER_DATA_LIMIT);
    });
  }

  it('the checker fails on a broken master script (it is not a rubber stamp)', () => {
    const ud = renderMasterUserData(masters['upstream packages, vxlan']!);
    const raw = substituteAsHeat(ud.text, ud.placeholders, kubeValues(pki, 'm')).replace(
      'check_master_inputs\nprepare_host',
      'check_master_inputs\necho "$hk_undefined_value"\nprepare_host',
    );
    const report = staticCheckUserData(raw, 'broken');
    expect(report.problems.join('\n')).toMatch(/hk_undefined_value is referenced but not assigned.*SC2154/);
  });

  afterAll(() => {
    // The closing note quotes these.
    console.log(`user-data sizes after Heat substitution (bytes): ${JSON.stringify(sizes)}`);
  });
});
