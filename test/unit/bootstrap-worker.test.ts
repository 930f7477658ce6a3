import { loadAll } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import {
  renderWorkerKubeadmConfig,
  renderWorkerUserData,
  resolveWorker,
  WORKER_PLACEHOLDERS,
  workerDeployValues,
  type WorkerUserDataContext,
} from '../../src/bootstrap/worker.js';

const base: WorkerUserDataContext = { clusterName: 'demo', podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' };
type Doc = Record<string, any>;

/** The JoinConfiguration as a node gets it: labels and taints substituted as Heat's str_replace does. */
function joinConfig(ctx: WorkerUserDataContext): Doc {
  let text = renderWorkerKubeadmConfig(resolveWorker(ctx));
  for (const [k, v] of Object.entries(workerDeployValues(ctx))) text = text.replaceAll(k, v);
  return loadAll(text)[0] as Doc;
}

describe('worker user-data', () => {
  it('has exactly the documented placeholders: no CA key, no etcd, no secrets beyond the token and CA hash', () => {
    const ud = renderWorkerUserData(base);
    expect([...ud.placeholders]).toEqual(Object.keys(WORKER_PLACEHOLDERS).sort());
    expect(ud.text).not.toMatch(/KEY_B64|ETCD|ENCRYPTION|addons|cloud\.conf/);
  });

  it('joins with the token, CA hash, labels and taints', () => {
    const join = joinConfig({
      ...base,
      group: 'gpu',
      externalCloudProvider: true,
      labels: { 'node.kubernetes.io/pool': 'gpu', 'example.org/team': 'ml' },
      taints: [
        { key: 'nvidia.com/gpu', effect: 'NoSchedule' },
        { key: 'example.org/spot', value: 'yes', effect: 'PreferNoSchedule' },
      ],
    });
    expect(join.kind).toBe('JoinConfiguration');
    expect(join.discovery.bootstrapToken).toEqual({
      apiServerEndpoint: '__API_ADDRESS__:6443',
      token: '__BOOTSTRAP_TOKEN__',
      caCertHashes: ['__CA_CERT_HASH__'],
    });
    expect(join.controlPlane).toBeUndefined();
    expect(join.nodeRegistration.taints).toEqual([
      { key: 'nvidia.com/gpu', effect: 'NoSchedule' },
      { key: 'example.org/spot', value: 'yes', effect: 'PreferNoSchedule' },
    ]);
    expect(join.nodeRegistration.kubeletExtraArgs).toEqual([
      { name: 'node-ip', value: '__NODE_ADDRESS__' },
      { name: 'cloud-provider', value: 'external' },
      { name: 'node-labels', value: 'example.org/team=ml,hotk8s.io/worker-group=gpu,node.kubernetes.io/pool=gpu' },
    ]);
  });

  it('an untainted group registers with an empty taint list (not kubeadm defaults)', () => {
    const join = joinConfig(base);
    expect(join.nodeRegistration.taints).toEqual([]);
    // never an empty --node-labels: the group label is always there
    expect(join.nodeRegistration.kubeletExtraArgs).toContainEqual({ name: 'node-labels', value: 'hotk8s.io/worker-group=default' });
  });

  it('installs kubelet and kubeadm only, from the configured source', () => {
    const text = renderWorkerUserData({ ...base, packageSource: { mode: 'preinstalled' } }).text;
    expect(text).toContain('install_kube_packages kubelet kubeadm\n');
    expect(text).not.toContain('packages:\n');
  });

  it('fails on labels the kubelet may not set and on malformed taints', () => {
    expect(() => renderWorkerUserData({ ...base, labels: { 'node-role.kubernetes.io/worker': '' } })).toThrow(
      /worker label node-role.kubernetes.io\/worker: a kubelet may not set labels under node-role.kubernetes.io/,
    );
    expect(() => renderWorkerUserData({ ...base, labels: { 'bad key!': 'x' } })).toThrow(
      /worker label key must be \[prefix\/\]name .*; got "bad key!"/,
    );
    expect(() => renderWorkerUserData({ ...base, labels: { team: 'has space' } })).toThrow(
      /worker label team: value must be .*; got "has space"/,
    );
    expect(() => renderWorkerUserData({ ...base, taints: [{ key: 'a', effect: 'Sometimes' as never }] })).toThrow(
      /worker taint a: effect must be NoSchedule, PreferNoSchedule or NoExecute; got "Sometimes"/,
    );
  });
});
