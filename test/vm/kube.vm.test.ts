/**
 * Real boots (issue 17, scenario e): a master VM and a worker VM boot the library's master and worker
 * user-data under systemd and the real cloud-init (Debian 12, qemu TCG). No Kubernetes package or API is
 * reachable here, so kubeadm, kubelet, kubectl, containerd, apt-get and apt-mark are the boot
 * simulation's recording stubs (scripts/vm-image kube), run by real systemd units where the bootstrap
 * starts them; curl reaches only the fake Heat and answers the rest itself. Every phase must run in order
 * and each node must signal SUCCESS; the services the bootstrap enables must be really active.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderMasterUserData } from '../../src/bootstrap/master.js';
import type { ClusterPki } from '../../src/bootstrap/pki.js';
import { substitutePlaceholders, type RenderedUserData } from '../../src/bootstrap/render.js';
import { renderWorkerUserData, workerDeployValues } from '../../src/bootstrap/worker.js';
import { throwawayPki } from '../bootstrap/lib/heat-values.js';
import { orderProblem } from '../bootstrap/sim/boot-sim.js';
import { ensureImage, Vm, VmLab, vmPrerequisites, waitUntil, type Signal } from './lib/vm.js';

const BOUNDS = { packagesSec: 60, containerdSec: 60, etcdWaitSec: 60, initSec: 120, apiWaitSec: 60, joinSec: 120, addonsSec: 60 };
const BASE = { clusterName: 'demo', podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12', kubernetesVersion: '1.36.4', bounds: BOUNDS };
const TOKEN = 'abcdef.0123456789abcdef';
const API = '10.77.0.100';
const timings: Record<string, number> = {};
let pki: ClusterPki;
let lab: VmLab;
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

function heatValues(ud: RenderedUserData, node: { name: string; index: number; address: string; values?: Record<string, string> }) {
  const all: Record<string, string> = {
    ...node.values,
    __NODE_NAME__: node.name,
    __SIGNAL_CURL__: lab.signalCurl(node.name),
    __NODE_INDEX__: String(node.index),
    __NODE_ADDRESS__: node.address,
    __API_ADDRESS__: API,
    __ETCD_ENDPOINTS__: 'https://10.77.0.10:2379,https://10.77.0.11:2379,https://10.77.0.12:2379',
    __BOOTSTRAP_TOKEN__: TOKEN,
    __CA_CERT_HASH__: pki.discoveryHash,
    __K8S_CA_CERT_B64__: b64(pki.clusterCa.certPem),
    __K8S_CA_KEY_B64__: b64(pki.clusterCa.keyPem),
    __FRONT_PROXY_CA_CERT_B64__: b64(pki.frontProxyCa.certPem),
    __FRONT_PROXY_CA_KEY_B64__: b64(pki.frontProxyCa.keyPem),
    __SA_KEY_B64__: b64(pki.serviceAccount.privateKeyPem),
    __SA_PUB_B64__: b64(pki.serviceAccount.publicKeyPem),
    __ETCD_CA_CERT_B64__: b64(pki.etcdCa.certPem),
    __APISERVER_ETCD_CLIENT_CERT_B64__: b64(pki.apiserverEtcdClient.certPem),
    __APISERVER_ETCD_CLIENT_KEY_B64__: b64(pki.apiserverEtcdClient.keyPem),
    __ENCRYPTION_KEY__: pki.encryptionKey,
  };
  const out: Record<string, string> = {};
  for (const p of ud.placeholders) {
    const v = all[p];
    if (v === undefined) throw new Error(`the test has no Heat value for placeholder ${p}`);
    out[p] = v;
  }
  return substitutePlaceholders(ud.text, out);
}

function signalsOf(node: string): Signal[] {
  return lab.signals().filter((s) => s.node === node);
}

let master: Vm;
let worker: Vm;

beforeAll(async () => {
  const missing = vmPrerequisites();
  if (missing.length > 0) throw new Error(`prerequisite missing: ${missing.join('; ')}`);
  const image = ensureImage('kube');
  pki = await throwawayPki('demo');
  lab = new VmLab(image);
  const masterUd = renderMasterUserData({ ...BASE, flannel: { backend: 'vxlan' } });
  master = new Vm(lab, {
    name: 'demo-master-0',
    index: 20,
    userData: heatValues(masterUd, { name: 'demo-master-0', index: 0, address: lab.address(20) }),
    instanceId: 'i-master-0',
  });
  const workerCtx = { ...BASE, group: 'general', labels: { 'node.kubernetes.io/pool': 'general' } };
  worker = new Vm(lab, {
    name: 'demo-general-0',
    index: 30,
    userData: heatValues(renderWorkerUserData(workerCtx), {
      name: 'demo-general-0',
      index: 0,
      address: lab.address(30),
      values: workerDeployValues(workerCtx),
    }),
    instanceId: 'i-worker-0',
  });
  const started = Date.now();
  master.start();
  worker.start();
  await waitUntil('master and worker signalled', 2700, () =>
    signalsOf('demo-master-0').length > 0 && signalsOf('demo-general-0').length > 0 ? true : undefined,
  );
  timings['(e) master + worker: both signalled'] = (Date.now() - started) / 1000;
});

afterAll(async () => {
  const problems = lab ? await lab.cleanup() : [];
  console.log(`real-boot timings (s): ${JSON.stringify(timings)}`);
  expect(problems).toEqual([]);
});

describe('(e) a master and a worker under systemd', () => {
  it('each signals SUCCESS with its own token, every phase recorded in order', () => {
    const m = signalsOf('demo-master-0');
    expect(
      m.map((s) => [s.status, s.tokenOk]),
      JSON.stringify(m),
    ).toEqual([['SUCCESS', true]]);
    expect(m[0]?.data).toMatch(/prepare-host;.*packages;.*containerd;.*wait-etcd;.*kubeadm-init;.*api-ready;.*addons;.*complete;/);
    const w = signalsOf('demo-general-0');
    expect(
      w.map((s) => [s.status, s.tokenOk]),
      JSON.stringify(w),
    ).toEqual([['SUCCESS', true]]);
    expect(w[0]?.data).toMatch(/prepare-host;.*packages;.*containerd;.*kubeadm-join;.*complete;/);
  });

  it('the master ran its steps in order, with real systemd units for containerd and kubelet', async () => {
    const calls = (await master.sh('cat /var/log/hotk8s-sim/calls.log')).out.trim().split('\n');
    expect(
      orderProblem(calls, [
        'apt-get -q -y -o Dpkg::Options::=--force-confold -o Acquire::Retries=3 -o Acquire::http::Timeout=30 install --no-install-recommends kubelet=1.36.4-1.1 kubeadm=1.36.4-1.1 kubectl=1.36.4-1.1',
        'apt-mark hold kubelet kubeadm kubectl',
        'containerd',
        'curl --silent --fail --max-time 10 --cacert /etc/kubernetes/pki/etcd/ca.crt',
        'kubeadm init --config /etc/kubernetes/hotk8s/kubeadm-init.yaml',
        'kubectl --kubeconfig=/etc/kubernetes/admin.conf --request-timeout=30s get --raw=/readyz',
        'kubectl --kubeconfig=/etc/kubernetes/admin.conf --request-timeout=30s apply -f /etc/kubernetes/hotk8s/addons/10-flannel.yaml',
      ]),
    ).toBeUndefined();
    const units = await master.sh(
      'systemctl show containerd.service -p ActiveState -p ExecMainStatus; systemctl is-enabled kubelet.service hotk8s-block-metadata.service; lsmod | grep -c "^br_netfilter "; sysctl -n net.ipv4.ip_forward',
    );
    // containerd.service really ran (the stub, through systemd); the kubelet and the metadata block are enabled
    // for every later boot; the kernel module and the sysctl are really set.
    expect(units.out).toContain('ActiveState=active');
    expect(units.out).toContain('ExecMainStatus=0');
    expect(units.out.split('\n').filter((l) => l === 'enabled')).toHaveLength(2);
    expect(units.out).toMatch(/\n1\n1\n?$/);
    // The first boot applies the metadata block from the bootstrap itself (the unit runs it at later boots).
    const nft = await master.sh('nft list table ip hotk8s_metadata');
    expect(nft.out).toContain('ip daddr 169.254.169.254');
  });

  it('the worker joined through the API endpoint after containerd, and enabled the kubelet', async () => {
    const calls = (await worker.sh('cat /var/log/hotk8s-sim/calls.log')).out.trim().split('\n');
    expect(
      orderProblem(calls, [
        'apt-get -q -y -o Dpkg::Options::=--force-confold -o Acquire::Retries=3 -o Acquire::http::Timeout=30 install --no-install-recommends kubelet=1.36.4-1.1 kubeadm=1.36.4-1.1',
        'containerd',
        `curl --silent --fail --insecure --max-time 10 --output /dev/null https://${API}:6443/readyz`,
        'kubeadm join --config /etc/kubernetes/hotk8s/kubeadm-join.yaml',
      ]),
    ).toBeUndefined();
    expect(calls.some((c) => c.startsWith('kubeadm init'))).toBe(false);
    expect((await worker.sh('systemctl is-enabled kubelet.service')).out.trim()).toBe('enabled');
  });
});
