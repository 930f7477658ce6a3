/**
 * Boot simulation per role (issue 5, test layer 2): the real cloud-init runs each role's rendered
 * user-data, with Heat's str_replace values substituted as Heat would, in a throwaway overlay root
 * in its own namespaces (see sim/boot-sim.ts). Asserts the calls and their order, the files written
 * (kubeadm config endpoints and cert paths, flannel net-conf vs podSubnet, modes and owners) and the
 * Heat signal; then injects a failure into each step and asserts a FAILURE signal naming the phase.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAll } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateClusterPki, type ClusterPki } from '../../src/bootstrap/pki.js';
import { renderMasterUserData, type MasterUserDataContext } from '../../src/bootstrap/master.js';
import { renderWorkerUserData, workerDeployValues, type WorkerUserDataContext } from '../../src/bootstrap/worker.js';
import type { RenderedUserData } from '../../src/bootstrap/render.js';
import { ensureRootfs, orderProblem, simulateBoot, simulationPrerequisites, type BootResult } from './sim/boot-sim.js';

// Small bounds so that an injected failure ends the boot within seconds.
const BOUNDS = { packagesSec: 3, containerdSec: 2, etcdWaitSec: 2, initSec: 10, apiWaitSec: 2, joinSec: 3, addonsSec: 3, nodeReadySec: 2 };
const BASE = { clusterName: 'demo', podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12', kubernetesVersion: '1.36.4', bounds: BOUNDS };
const CLOUD = {
  authUrl: 'https://keystone.example.test:5000/v3',
  region: 'RegionOne',
  floatingNetworkId: 'f1a7e2c0-0000-4000-8000-000000000001',
  subnetId: '__LB_SUBNET_ID__',
  controllerClusterName: 'demo',
  octaviaProvider: 'ovn' as const,
};
const ETCD = 'https://10.0.0.5:2379,https://10.0.0.6:2379,https://10.0.0.7:2379';
const TOKEN = 'abcdef.0123456789abcdef';
const timings: Record<string, number> = {};

let pki: ClusterPki;
let stateDir: string;
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

interface SimNode {
  name: string;
  index?: number;
  address: string;
  /** Values a construct feeds through member parameters (a worker group's labels and taints). */
  values?: Record<string, string>;
}

function heatValues(ud: RenderedUserData, node: SimNode): Record<string, string> {
  const all: Record<string, string> = {
    ...node.values,
    __NODE_NAME__: node.name,
    __NODE_INDEX__: String(node.index ?? 0),
    __NODE_ADDRESS__: node.address,
    __API_ADDRESS__: '10.0.0.100',
    __ETCD_ENDPOINTS__: ETCD,
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
    __OS_APPLICATION_CREDENTIAL_ID__: 'appcred-id-123',
    __OS_APPLICATION_CREDENTIAL_SECRET__: 'appcred-secret-456',
    __LB_SUBNET_ID__: '5b0c1f2e-0000-4000-8000-000000000002',
  };
  const out: Record<string, string> = {};
  for (const p of ud.placeholders) {
    if (p === '__SIGNAL_CURL__') continue;
    const v = all[p];
    if (v === undefined) throw new Error(`the test has no Heat value for placeholder ${p}`);
    out[p] = v;
  }
  return out;
}

function boot(key: string, ud: RenderedUserData, node: SimNode, fail: string[] = []): BootResult {
  const r = simulateBoot({ userData: ud, values: heatValues(ud, node), nodeName: node.name, fail });
  timings[key] = r.wallMs;
  return r;
}

function expectCleanCloudInit(r: BootResult): void {
  expect(r.stages, r.console).toEqual({ init: 0, 'modules --mode config': 0, 'modules --mode final': 0 });
  expect(r.cloudInitErrors).toEqual([]);
  // The real cloud-init validated our cloud-config during the boot and found nothing to say.
  expect(r.cloudInitLog).not.toMatch(/Invalid cloud-config provided/);
}

function expectFile(r: BootResult, path: string, mode: number): string {
  const st = r.stat(path);
  expect(st, `${path} was not written`).toBeDefined();
  expect((st!.mode & 0o777).toString(8), `${path} mode`).toBe(mode.toString(8));
  expect([st!.uid, st!.gid], `${path} owner`).toEqual([0, 0]);
  return r.read(path)!;
}

/** Files the boot left under `dir` (a node path) whose content includes one of `needles`, as node paths. */
function filesHolding(r: BootResult, dir: string, needles: readonly string[]): string[] {
  const root = join(r.upper, dir.replace(/^\/+/, ''));
  if (!existsSync(root)) return [];
  const found: string[] = [];
  for (const e of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const file = join(e.parentPath, e.name);
    const text = readFileSync(file).toString('latin1');
    if (needles.some((n) => text.includes(n))) found.push(file.slice(r.upper.length));
  }
  return found;
}

function docs(text: string): Array<Record<string, any>> {
  return loadAll(text) as Array<Record<string, any>>;
}

const missing = simulationPrerequisites().filter((m) => !m.includes('debootstrapped root'));

describe('boot simulation', () => {
  beforeAll(async () => {
    if (missing.length === 0) ensureRootfs();
    stateDir = mkdtempSync(join(tmpdir(), 'hotk8s-sim-state-'));
    pki = await loadOrCreateClusterPki(stateDir, 'demo');
  });
  afterAll(() => {
    rmSync(stateDir, { recursive: true, force: true });
    // The closing note quotes these.
    console.log(`boot simulation wall times (ms): ${JSON.stringify(timings)}`);
  });

  it('has what it needs on this machine', () => {
    expect(simulationPrerequisites()).toEqual([]);
  });

  describe('first master (index 0)', () => {
    let r: BootResult;
    const ctx: MasterUserDataContext = { ...BASE, flannel: { backend: 'vxlan' } };
    beforeAll(() => {
      r = boot('master-0', renderMasterUserData(ctx), { name: 'demo-master-0', index: 0, address: '10.0.0.10' });
    });
    afterAll(() => r?.cleanup());

    it('runs every cloud-init stage cleanly and signals SUCCESS once', () => {
      expectCleanCloudInit(r);
      expect(r.signals).toHaveLength(1);
      expect(r.signals[0]!.path).toBe('/v1/signal/demo-master-0');
      expect(r.signals[0]!.body.status).toBe('SUCCESS');
      expect(r.signals[0]!.body.data).toMatch(/wait-etcd;.*kubeadm-init;.*api-ready;.*addons;/);
    });

    it("leaves no copy of the CA key or the join token in cloud-init's saved user-data, and keeps its semaphores", () => {
      const keyB64 = b64(pki.clusterCa.keyPem);
      const keyBody = pki.clusterCa.keyPem.split('\n')[1] as string;
      expect(filesHolding(r, '/var/lib/cloud', [keyB64.slice(0, 64), keyBody, TOKEN])).toEqual([]);
      expect(filesHolding(r, '/run', [keyB64.slice(0, 64), keyBody, TOKEN])).toEqual([]);
      expect(r.read('/var/lib/cloud/instances/sim-demo-master-0/sem/config_scripts_user')).toBeDefined();
      expect(r.stat('/etc/systemd/system/hotk8s-scrub-user-data.service')).toBeDefined();
      expect(r.calls).toContain('systemctl enable hotk8s-scrub-user-data.service');
      expect(r.calls.at(-1)).toBe('systemctl start --no-block hotk8s-scrub-user-data.service');
    });

    it('installs, configures and initialises in order', () => {
      const problem = orderProblem(r.calls, [
        'apt-get --option=Dpkg::Options::=--force-confold --option=Dpkg::options::=--force-unsafe-io --assume-yes --quiet update',
        'apt-get --option=Dpkg::Options::=--force-confold --option=Dpkg::options::=--force-unsafe-io --assume-yes --quiet install ca-certificates conntrack containerd curl',
        'modprobe br_netfilter',
        'sysctl --system',
        'swapoff -a',
        'curl --fail --silent --show-error --location --max-time 60 --output /etc/apt/keyrings/hotk8s-kubernetes.asc.tmp https://pkgs.k8s.io/core:/stable:/v1.36/deb/Release.key',
        'apt-get -q -y',
        'apt-get -q -y -o Dpkg::Options::=--force-confold -o Acquire::Retries=3 -o Acquire::http::Timeout=30 install --no-install-recommends kubelet=1.36.4-1.1 kubeadm=1.36.4-1.1 kubectl=1.36.4-1.1',
        'apt-mark hold kubelet kubeadm kubectl',
        'systemctl restart containerd',
        'systemctl enable kubelet',
        'curl --silent --fail --max-time 10 --cacert /etc/kubernetes/pki/etcd/ca.crt --cert /etc/kubernetes/pki/apiserver-etcd-client.crt --key /etc/kubernetes/pki/apiserver-etcd-client.key https://10.0.0.5:2379/health',
        'kubeadm init --config /etc/kubernetes/hotk8s/kubeadm-init.yaml',
        'kubectl --kubeconfig=/etc/kubernetes/admin.conf --request-timeout=30s get --raw=/readyz',
        'kubectl --kubeconfig=/etc/kubernetes/admin.conf --request-timeout=30s apply -f /etc/kubernetes/hotk8s/addons/10-flannel.yaml',
        'kubectl --kubeconfig=/etc/kubernetes/kubelet.conf --request-timeout=20s get node ',
        'systemctl enable --now hotk8s-upgrade.timer',
        'curl -i -X POST',
      ]);
      expect(problem).toBeUndefined();
      expect(r.calls.filter((c) => c.startsWith('kubeadm join'))).toEqual([]);
      // the in-place upgrade agent (kube/upgrade-agent.sh) and its units, written by cloud-init
      expect(expectFile(r, '/usr/local/lib/hotk8s/upgrade-agent.sh', 0o700)).toMatch(/^#!\/bin\/bash\n[\s\S]*HK_UP_ROLE='master'/);
      expect(expectFile(r, '/etc/systemd/system/hotk8s-upgrade.timer', 0o644)).toContain('OnUnitInactiveSec=60');
      // No cloud provider: no cloud.conf, no secret, no CCM/CSI manifests.
      expect(r.calls.filter((c) => c.includes('create secret') || c.includes('cinder'))).toEqual([]);
      expect(r.stat('/etc/kubernetes/cloud.conf')).toBeUndefined();
    });

    it('writes the kubeadm configuration with the external etcd, the endpoint and the cert paths', () => {
      const [init, cluster, kubelet] = docs(expectFile(r, '/etc/kubernetes/hotk8s/kubeadm-init.yaml', 0o600));
      expect(init!.kind).toBe('InitConfiguration');
      expect(init!.bootstrapTokens[0].token).toBe(TOKEN);
      expect(init!.bootstrapTokens[0].ttl).toBe('0s');
      expect(init!.localAPIEndpoint.advertiseAddress).toBe('10.0.0.10');
      expect(cluster!.kind).toBe('ClusterConfiguration');
      expect(cluster!.controlPlaneEndpoint).toBe('10.0.0.100:6443');
      expect(cluster!.etcd.external.endpoints).toEqual(ETCD.split(','));
      expect(cluster!.networking).toEqual({ podSubnet: '10.244.0.0/16', serviceSubnet: '10.96.0.0/12', dnsDomain: 'cluster.local' });
      expect(cluster!.controllerManager.extraArgs).toContainEqual({ name: 'node-cidr-mask-size', value: '24' });
      expect(kubelet!.kind).toBe('KubeletConfiguration');
      expect(kubelet!.shutdownGracePeriod).toBe('60s');
      // Every file the configuration names exists, with the delivered content and a private mode for keys.
      const { caFile, certFile, keyFile } = cluster!.etcd.external;
      expect(expectFile(r, caFile, 0o644)).toBe(pki.etcdCa.certPem);
      expect(expectFile(r, certFile, 0o644)).toBe(pki.apiserverEtcdClient.certPem);
      expect(expectFile(r, keyFile, 0o600)).toBe(pki.apiserverEtcdClient.keyPem);
      expect(expectFile(r, '/etc/kubernetes/pki/ca.crt', 0o644)).toBe(pki.clusterCa.certPem);
      expect(expectFile(r, '/etc/kubernetes/pki/ca.key', 0o600)).toBe(pki.clusterCa.keyPem);
      expect(expectFile(r, '/etc/kubernetes/pki/sa.key', 0o600)).toBe(pki.serviceAccount.privateKeyPem);
      expect(expectFile(r, '/etc/kubernetes/pki/front-proxy-ca.key', 0o600)).toBe(pki.frontProxyCa.keyPem);
      const encArg = cluster!.apiServer.extraArgs.find((a: { name: string }) => a.name === 'encryption-provider-config');
      const [enc] = docs(expectFile(r, encArg.value, 0o600));
      expect(enc!.resources[0].providers[0].secretbox.keys[0].secret).toBe(pki.encryptionKey);
    });

    it('writes flannel with a net-conf that agrees with kubeadm podSubnet', () => {
      const manifest = expectFile(r, '/etc/kubernetes/hotk8s/addons/10-flannel.yaml', 0o644);
      const cm = docs(manifest).find((d) => d.kind === 'ConfigMap')!;
      const netConf = JSON.parse(cm.data['net-conf.json']);
      const [, cluster] = docs(r.read('/etc/kubernetes/hotk8s/kubeadm-init.yaml')!);
      expect(netConf.Network).toBe(cluster!.networking.podSubnet);
      expect(netConf.Backend.Type).toBe('vxlan');
      expect(netConf.SubnetLen).toBeUndefined();
    });

    it('writes containerd configuration after the package (deferred) and the node library', () => {
      expect(expectFile(r, '/etc/containerd/config.toml', 0o644)).toMatch(/SystemdCgroup = true/);
      // write_files_deferred ran in the final stage, after package-update-upgrade-install.
      const pkg = r.cloudInitLog.indexOf('config-package-update-upgrade-install');
      const deferred = r.cloudInitLog.indexOf('config-write-files-deferred');
      expect(pkg).toBeGreaterThan(0);
      expect(deferred).toBeGreaterThan(pkg);
      expect(expectFile(r, '/usr/local/lib/hotk8s/kube-node.sh', 0o644)).toMatch(/^#!\/bin\/bash/);
      expect(expectFile(r, '/etc/apt/sources.list.d/hotk8s-kubernetes.list', 0o644)).toBe(
        'deb [signed-by=/etc/apt/keyrings/hotk8s-kubernetes.asc] https://pkgs.k8s.io/core:/stable:/v1.36/deb/ /\n',
      );
    });
  });

  describe('first master with the OpenStack cloud provider', () => {
    let r: BootResult;
    beforeAll(() => {
      r = boot('master-0-cloud', renderMasterUserData({ ...BASE, cloudProvider: CLOUD }), {
        name: 'demo-master-0',
        index: 0,
        address: '10.0.0.10',
      });
    });
    afterAll(() => r?.cleanup());

    it('writes cloud.conf 0600 with the deploy-time credential and subnet', () => {
      expectCleanCloudInit(r);
      const conf = expectFile(r, '/etc/kubernetes/cloud.conf', 0o600);
      expect(conf).toContain('application-credential-id=appcred-id-123\n');
      expect(conf).toContain('application-credential-secret=appcred-secret-456\n');
      expect(conf).toContain('subnet-id=5b0c1f2e-0000-4000-8000-000000000002\n');
      expect(conf).toContain('lb-provider=ovn\n');
      expect(conf).toContain('lb-method=SOURCE_IP_PORT\n');
      expect(conf).toContain('manage-security-groups=true\n');
      expect(conf).not.toMatch(/__[A-Z_]+__/);
    });

    it('creates the cloud-config secret, then applies flannel, the CCM and Cinder CSI', () => {
      expect(r.signals.map((s) => s.body.status)).toEqual(['SUCCESS']);
      const apply = 'kubectl --kubeconfig=/etc/kubernetes/admin.conf --request-timeout=30s';
      expect(
        orderProblem(r.calls, [
          `${apply} -n kube-system create secret generic cloud-config --from-file=cloud.conf=/etc/kubernetes/cloud.conf --dry-run=client -o yaml`,
          `${apply} apply -f /etc/kubernetes/hotk8s/addons/10-flannel.yaml`,
          `${apply} apply -f /etc/kubernetes/hotk8s/addons/20-openstack-cloud-controller-manager.yaml`,
          `${apply} apply -f /etc/kubernetes/hotk8s/addons/30-cinder-csi.yaml`,
        ]),
      ).toBeUndefined();
      const csi = docs(expectFile(r, '/etc/kubernetes/hotk8s/addons/30-cinder-csi.yaml', 0o644));
      const sc = csi.find((d) => d.kind === 'StorageClass')!;
      expect(sc.metadata.annotations['storageclass.kubernetes.io/is-default-class']).toBe('true');
      const ccm = docs(expectFile(r, '/etc/kubernetes/hotk8s/addons/20-openstack-cloud-controller-manager.yaml', 0o644));
      expect(ccm.find((d) => d.kind === 'DaemonSet')!.spec.template.spec.containers[0].env).toContainEqual({
        name: 'CLUSTER_NAME',
        value: 'demo',
      });
    });

    it('runs kubelet with --cloud-provider=external', () => {
      const [init] = docs(r.read('/etc/kubernetes/hotk8s/kubeadm-init.yaml')!);
      expect(init!.nodeRegistration.kubeletExtraArgs).toContainEqual({ name: 'cloud-provider', value: 'external' });
    });
  });

  describe('further master (index 2)', () => {
    let r: BootResult;
    beforeAll(() => {
      r = boot('master-2', renderMasterUserData(BASE), { name: 'demo-master-2', index: 2, address: '10.0.0.12' });
    });
    afterAll(() => r?.cleanup());

    it('waits for the API through the endpoint, joins as control plane and applies nothing', () => {
      expectCleanCloudInit(r);
      expect(r.signals.map((s) => s.body.status)).toEqual(['SUCCESS']);
      expect(
        orderProblem(r.calls, [
          'systemctl restart containerd',
          'curl --silent --fail --insecure --max-time 10 --output /dev/null https://10.0.0.100:6443/readyz',
          'kubeadm join --config /etc/kubernetes/hotk8s/kubeadm-join.yaml',
          'kubectl --kubeconfig=/etc/kubernetes/kubelet.conf --request-timeout=20s get node ',
          'curl -i -X POST',
        ]),
      ).toBeUndefined();
      expect(r.calls.filter((c) => c.startsWith('kubeadm init') || (c.startsWith('kubectl') && !c.includes(' get node ')))).toEqual([]);
      const [join] = docs(expectFile(r, '/etc/kubernetes/hotk8s/kubeadm-join.yaml', 0o600));
      expect(join!.discovery.bootstrapToken).toEqual({
        apiServerEndpoint: '10.0.0.100:6443',
        token: TOKEN,
        caCertHashes: [pki.discoveryHash],
      });
      expect(join!.controlPlane.localAPIEndpoint.advertiseAddress).toBe('10.0.0.12');
      expect(expectFile(r, '/etc/kubernetes/pki/ca.key', 0o600)).toBe(pki.clusterCa.keyPem);
    });
  });

  describe('worker', () => {
    let r: BootResult;
    const ctx: WorkerUserDataContext = {
      ...BASE,
      group: 'general',
      labels: { 'node.kubernetes.io/pool': 'general', 'example.com/tier': 'web' },
      taints: [{ key: 'example.com/dedicated', value: 'web', effect: 'NoSchedule' }],
    };
    beforeAll(() => {
      r = boot('worker', renderWorkerUserData(ctx), { name: 'demo-general-0', address: '10.0.0.20', values: workerDeployValues(ctx) });
    });
    afterAll(() => r?.cleanup());

    it('joins through the endpoint with labels and taints, and gets no CA key', () => {
      expectCleanCloudInit(r);
      expect(r.signals.map((s) => s.body.status)).toEqual(['SUCCESS']);
      expect(
        orderProblem(r.calls, [
          'apt-get -q -y -o Dpkg::Options::=--force-confold -o Acquire::Retries=3 -o Acquire::http::Timeout=30 install --no-install-recommends kubelet=1.36.4-1.1 kubeadm=1.36.4-1.1',
          'systemctl restart containerd',
          'curl --silent --fail --insecure --max-time 10 --output /dev/null https://10.0.0.100:6443/readyz',
          'kubeadm join --config /etc/kubernetes/hotk8s/kubeadm-join.yaml',
        ]),
      ).toBeUndefined();
      expect(r.calls.some((c) => c.includes('kubectl='))).toBe(false);
      const [join] = docs(expectFile(r, '/etc/kubernetes/hotk8s/kubeadm-join.yaml', 0o600));
      expect(join!.controlPlane).toBeUndefined();
      expect(join!.nodeRegistration.taints).toEqual([{ key: 'example.com/dedicated', value: 'web', effect: 'NoSchedule' }]);
      expect(join!.nodeRegistration.kubeletExtraArgs).toContainEqual({
        name: 'node-labels',
        value: 'example.com/tier=web,hotk8s.io/worker-group=general,node.kubernetes.io/pool=general',
      });
      expect(join!.nodeRegistration.kubeletExtraArgs).toContainEqual({ name: 'node-ip', value: '10.0.0.20' });
      expect(r.stat('/etc/kubernetes/pki/ca.key')).toBeUndefined();
      expect(r.stat('/etc/kubernetes/hotk8s/addons')).toBeUndefined();
      // the join token is gone from cloud-init's copies of the user-data
      expect(filesHolding(r, '/var/lib/cloud', [TOKEN])).toEqual([]);
    });
  });

  it('a malformed deploy-time value fails check-inputs without echoing the secret', () => {
    const ud = renderWorkerUserData(BASE);
    const values = {
      ...heatValues(ud, { name: 'demo-general-1', address: '10.0.0.21', values: workerDeployValues(BASE) }),
      __BOOTSTRAP_TOKEN__: 'NOT-A-TOKEN-secret',
    };
    const r = simulateBoot({ userData: ud, values, nodeName: 'demo-general-1' });
    timings['fail worker check-inputs (bad token)'] = r.wallMs;
    try {
      expect(r.signals.map((s) => s.body.status)).toEqual(['FAILURE']);
      expect(r.signals[0]!.body.reason).toBe(
        'demo-general-1: check-inputs: bootstrap token is not shaped [a-z0-9]{6}.[a-z0-9]{16} (as kubeadm requires)',
      );
      expect(JSON.stringify(r.signals)).not.toContain('NOT-A-TOKEN-secret');
      expect(r.calls.filter((c) => c.startsWith('apt-get -q') || c.startsWith('kubeadm'))).toEqual([]);
    } finally {
      r.cleanup();
    }
  });

  describe('injected failures signal FAILURE naming the phase', () => {
    const masterUd = (): RenderedUserData => renderMasterUserData({ ...BASE, cloudProvider: CLOUD });
    const cases: Array<{
      role: 'master-0' | 'master-1' | 'worker';
      fail: string;
      phase: string;
      reason: RegExp;
      notCalled?: string;
      alsoCalled?: string;
    }> = [
      { role: 'master-0', fail: 'modprobe br_netfilter', phase: 'prepare-host', reason: /cannot load kernel module br_netfilter/ },
      {
        role: 'master-0',
        fail: 'Release.key',
        phase: 'packages',
        reason: /cannot fetch the Kubernetes apt key .* after \d+ s/,
        notCalled: 'kubeadm',
      },
      {
        role: 'master-0',
        fail: 'install --no-install-recommends kubelet',
        phase: 'packages',
        reason: /cannot install kubelet=1\.36\.4-1\.1 .* after \d+ s/,
      },
      { role: 'master-0', fail: 'systemctl restart containerd', phase: 'containerd', reason: /systemctl restart containerd failed/ },
      {
        role: 'master-0',
        fail: '2379/health',
        phase: 'wait-etcd',
        reason: /etcd did not report healthy .* after 2 s/,
        notCalled: 'kubeadm init',
      },
      {
        role: 'master-0',
        fail: 'kubeadm init',
        phase: 'kubeadm-init',
        reason: /kubeadm init did not succeed .* after 10 s/,
        notCalled: 'kubectl',
        alsoCalled: 'kubeadm reset --force',
      },
      { role: 'master-0', fail: 'get node ', phase: 'node-ready', reason: /node \S+ not Ready after 2 s: the API did not return node/ },
      { role: 'master-1', fail: 'get node ', phase: 'node-ready', reason: /node \S+ not Ready after 2 s/ },
      { role: 'worker', fail: 'get node ', phase: 'node-ready', reason: /node \S+ not Ready after 2 s/ },
      {
        role: 'master-0',
        fail: 'get --raw=/readyz',
        phase: 'api-ready',
        reason: /the API did not answer through 10\.0\.0\.100:6443 after 2 s/,
      },
      { role: 'master-0', fail: 'create secret generic cloud-config', phase: 'addons', reason: /cloud-config secret/ },
      {
        role: 'master-0',
        fail: 'apply -f /etc/kubernetes/hotk8s/addons/30-cinder-csi.yaml',
        phase: 'addons',
        reason: /30-cinder-csi\.yaml did not succeed/,
      },
      {
        role: 'master-1',
        fail: '6443/readyz',
        phase: 'wait-api',
        reason: /the API did not answer at https:\/\/10\.0\.0\.100:6443\/readyz after 2 s/,
        notCalled: 'kubeadm join',
      },
      {
        role: 'master-1',
        fail: 'kubeadm join',
        phase: 'kubeadm-join',
        reason: /kubeadm join through 10\.0\.0\.100:6443 did not succeed after 3 s/,
      },
      { role: 'worker', fail: 'kubeadm join', phase: 'kubeadm-join', reason: /kubeadm join .* did not succeed after 3 s/ },
    ];
    it.each(cases)('$role: "$fail" fails -> FAILURE in $phase', ({ role, fail, phase, reason, notCalled, alsoCalled }) => {
      const node =
        role === 'worker'
          ? { name: 'demo-general-0', address: '10.0.0.20', values: workerDeployValues(BASE) }
          : { name: `demo-${role}`, index: role === 'master-0' ? 0 : 1, address: role === 'master-0' ? '10.0.0.10' : '10.0.0.11' };
      const ud = role === 'worker' ? renderWorkerUserData(BASE) : masterUd();
      const r = boot(`fail ${role} ${phase} (${fail})`, ud, node, [fail]);
      try {
        expect(
          r.calls.some((c) => c.includes(fail)),
          `the injected step "${fail}" never ran`,
        ).toBe(true);
        expect(r.signals, r.console).toHaveLength(1);
        const s = r.signals[0]!.body;
        expect(s.status).toBe('FAILURE');
        expect(s.reason).toMatch(new RegExp(`^${node.name}: ${phase}: `));
        expect(s.reason).toMatch(reason);
        expect(s.data).toContain(`failed ${phase}`);
        // The secrets never appear in the reason.
        expect(s.reason).not.toContain(TOKEN);
        if (notCalled) expect(r.calls.filter((c) => c.startsWith(notCalled))).toEqual([]);
        if (alsoCalled) expect(r.calls.filter((c) => c.startsWith(alsoCalled)).length).toBeGreaterThan(0);
      } finally {
        r.cleanup();
      }
    });
  });
});
