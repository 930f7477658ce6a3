/**
 * Values as Heat substitutes them at deploy time (str_replace), for tests: realistic in shape and
 * size (real PEM certificates and keys, a Keystone-sized token in the signal command), so sizes
 * measured after substitution are what Nova will receive.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreateClusterPki, type ClusterPki } from '../../../src/bootstrap/pki.js';
import { substitutePlaceholders } from '../../../src/bootstrap/render.js';

/** A fresh cluster PKI in a temporary state directory (deleted at once; the values stay in memory). */
export async function throwawayPki(clusterName = 'demo'): Promise<ClusterPki> {
  const dir = mkdtempSync(join(tmpdir(), 'hk8s-pki-'));
  try {
    return await loadOrCreateClusterPki(dir, clusterName);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The WaitConditionHandle `curl_cli` attribute as Heat renders it (token signal transport): a
 * Fernet token is ~180-250 characters; the URL names the project, stack and resource.
 */
export function curlCli(url: string, token: string): string {
  return `curl -i -X POST -H 'X-Auth-Token: ${token}' -H 'Content-Type: application/json' -H 'Accept: application/json' ${url}`;
}

/** A worst-case-sized curl_cli (long token, long stack and resource names). */
export function realisticCurlCli(): string {
  const token = `gAAAAA${'Bn7x'.repeat(60)}`;
  const url = `https://orchestration.region-one.cloud.example.org:8004/v1/${'a1b2c3d4'.repeat(4)}/stacks/hotk8s-production-cluster-etcd-0-abcdefghijkl/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/resources/wait_condition_handle/signal`;
  return curlCli(url, token);
}

/** The initial cluster string for n members at consecutive addresses. */
export function initialCluster(addresses: readonly string[], prefix = 'etcd-'): string {
  return addresses.map((a, i) => `${prefix}${i}=https://${a}:2380`).join(',');
}

/**
 * Realistic values for every placeholder the etcd and common templates use, sized for the worst
 * case (7 members, 15-character addresses). Pass `extra` for other roles' placeholders.
 */
export function realisticHeatValues(pki: ClusterPki, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  const addresses = Array.from({ length: 7 }, (_, i) => `192.168.255.${240 + i}`);
  return {
    __NODE_NAME__: 'etcd-6',
    __SIGNAL_CURL__: realisticCurlCli(),
    __ETCD_ADDRESS__: addresses[6] as string,
    __ETCD_INITIAL_CLUSTER__: initialCluster(addresses),
    __ETCD_CA_CERT__: pki.etcdCa.certPem.trim(),
    __ETCD_CA_KEY__: pki.etcdCa.keyPem.trim(),
    __ETCD_VOLUME_ID__: '6f1b4a52-9c3e-4d7a-8e0f-1a2b3c4d5e6f',
    __ETCD_BACKUP_VOLUME_ID__: '7a2c5b63-0d4f-4e8b-9f10-2b3c4d5e6f70',
    // what Heat gives: '<cluster>-etcd-' and the root stack's id (OS::stack_id)
    __ETCD_CLUSTER_TOKEN__: 'prod-cluster-01-etcd-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0',
    // OS::Swift::Container's RootURL (the project's storage URL) and the name Heat made for it
    __ETCD_BACKUP_SWIFT_URL__:
      'https://object-store.region-one.example.org:8080/v1/AUTH_0123456789abcdef0123456789abcdef/prod-cluster-01-ClusterEtcdBackupContainer2963CE90-x2kq7d4mzjvb',
    __ETCD_BACKUP_SWIFT_KEY__: '9f'.repeat(32),
    ...extra,
  };
}

/**
 * Substitutes as Heat would, using only the values for placeholders the text contains; fails
 * naming any placeholder without a value.
 */
export function substituteAsHeat(text: string, placeholders: readonly string[], values: Readonly<Record<string, string>>): string {
  const missing = placeholders.filter((p) => values[p] === undefined);
  if (missing.length > 0) throw new Error(`no Heat value for placeholder(s) ${missing.join(', ')}`);
  const used: Record<string, string> = {};
  for (const p of placeholders) used[p] = values[p] as string;
  const out = substitutePlaceholders(text, used);
  const left = /__[A-Z](?:[A-Z0-9_]*?[A-Z0-9])?__/.exec(out);
  if (left) throw new Error(`placeholder ${left[0]} is still present after substitution`);
  return out;
}
