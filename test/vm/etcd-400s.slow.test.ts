/**
 * Real boots, the slow scenario of issue 17: (b) three etcd members, the first booting 400 s before the
 * other two, still form a cluster (etcd's unit has no start timeout; the bootstrap's own health bound
 * decides). About 20 minutes of TCG time, so not part of `npm test`: run it with `npm run test:vm-slow`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderEtcdUserData, type EtcdUserDataContext } from '../../src/bootstrap/etcd.js';
import type { ClusterPki } from '../../src/bootstrap/pki.js';
import { substitutePlaceholders } from '../../src/bootstrap/render.js';
import { throwawayPki } from '../bootstrap/lib/heat-values.js';
import { ensureImage, Vm, VmLab, vmPrerequisites, waitUntil } from './lib/vm.js';

let pki: ClusterPki;
let image: string;
let lab: VmLab | undefined;

const CTX: EtcdUserDataContext = {
  clusterName: 'vmslow',
  kubernetesVersion: '1.33',
  podCidr: '10.244.0.0/16',
  install: { mode: 'preinstalled', etcdPath: '/usr/bin/etcd', etcdctlPath: '/usr/bin/etcdctl' },
};

function memberUserData(l: VmLab, i: number): string {
  const ud = renderEtcdUserData(CTX);
  return substitutePlaceholders(ud.text, {
    __NODE_NAME__: `etcd-${i}`,
    __SIGNAL_CURL__: l.signalCurl(`etcd-${i}`),
    __ETCD_ADDRESS__: l.address(i),
    __ETCD_INITIAL_CLUSTER__: [0, 1, 2].map((m) => `etcd-${m}=https://${l.address(m)}:2380`).join(','),
    __ETCD_CLUSTER_TOKEN__: `vmslow-etcd-${l.id}`,
    __ETCD_CA_CERT__: pki.etcdCa.certPem.trim(),
    __ETCD_CA_KEY__: pki.etcdCa.keyPem.trim(),
  });
}

beforeAll(async () => {
  const missing = vmPrerequisites();
  if (missing.length > 0) throw new Error(`prerequisite missing: ${missing.join('; ')}`);
  image = ensureImage();
  pki = await throwawayPki('vmslow');
});

afterAll(async () => {
  const problems = lab ? await lab.cleanup() : [];
  expect(problems).toEqual([]);
});

describe('(b) etcd members booting 400 s apart', () => {
  it('form a cluster: every member signals SUCCESS', async () => {
    const l = new VmLab(image);
    lab = l;
    const vms = [0, 1, 2].map((i) => new Vm(l, { name: `etcd-${i}`, index: i, userData: memberUserData(l, i), instanceId: `i-slow-${i}` }));
    const of = (i: number) => l.signals().filter((s) => s.node === `etcd-${i}`);
    const started = Date.now();
    vms[0]!.start();
    await new Promise((r) => setTimeout(r, 400_000));
    expect(of(0), 'the first member gave up before its peers booted').toEqual([]);
    vms[1]!.start();
    vms[2]!.start();
    await waitUntil('every member signalled', 2700, () => ([0, 1, 2].every((i) => of(i).length > 0) ? true : undefined));
    console.log(`(b) 400 s apart: all signalled after ${(Date.now() - started) / 1000} s`);
    for (let i = 0; i < 3; i++) expect(of(i).map((s) => s.status)).toEqual(['SUCCESS']);
  }, 3_600_000);
});
