/** The node bootstrap defects of issue 13 ("Bootstrap review"), each seen where it can be seen without a cloud. */
import { loadAll } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { HotTemplate } from '../../src/assertions/index.js';
import { DISTRO_PACKAGES, kubeNodeBudgetSec } from '../../src/bootstrap/kubeadm.js';
import { renderMasterUserData } from '../../src/bootstrap/master.js';
import { renderWorkerUserData } from '../../src/bootstrap/worker.js';
import { SERVER_BOOT_ALLOWANCE_SEC } from '../../src/k8s/etcd-cluster.js';
import { cluster } from './k8s-helpers.js';

type Doc = Record<string, any>;
const base = { clusterName: 'demo', podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' } as const;

/** The multipart parts of rendered user-data, by file name. */
function parts(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/filename="([^"]+)"\n\n([\s\S]*?)\n--==hotk8s/g)) out[m[1]!] = m[2]!;
  return out;
}
const cloudConfig = (text: string): Doc => {
  const cfg = Object.entries(parts(text)).find(([name]) => name.endsWith('.cfg'));
  return loadAll(cfg![1])[0] as Doc;
};

describe('bootstrap defects', () => {
  it('installs conntrack (kubeadm preflight needs it; the kubelet package no longer pulls it in)', () => {
    expect(DISTRO_PACKAGES).toContain('conntrack');
    expect(cloudConfig(renderMasterUserData(base).text).packages).toContain('conntrack');
    expect(cloudConfig(renderWorkerUserData(base).text).packages).toContain('conntrack');
  });

  it('gives masters and workers a WaitCondition timeout no shorter than their own bootstrap budget', () => {
    for (const bounds of [undefined, { apiWaitSec: 300, initSec: 1200, nodeReadySec: 100 }]) {
      const { cluster: c } = cluster({ bootstrapBounds: bounds });
      const master = Math.max(kubeNodeBudgetSec(bounds, 'first-master'), kubeNodeBudgetSec(bounds, 'master'));
      expect(c.masters.nodes.waitTimeoutSec).toBeGreaterThanOrEqual(SERVER_BOOT_ALLOWANCE_SEC + master);
      for (const g of c.workerGroups)
        expect(g.nodes.waitTimeoutSec).toBeGreaterThanOrEqual(SERVER_BOOT_ALLOWANCE_SEC + kubeNodeBudgetSec(bounds, 'worker'));
    }
  });

  it('retries kubeadm init like joins, resetting between attempts, within the init bound', () => {
    const script = parts(renderMasterUserData(base).text)['50-hotk8s-master.sh']!;
    expect(script).toMatch(/retry -m "kubeadm init did not succeed[^"]*" "\$HK_INIT_SEC" kubeadm_init_once/);
    const once = /kubeadm_init_once\(\) \{([\s\S]*?)\n\}/.exec(script)![1]!;
    expect(once).toContain('timeout "$(budget_left "$HK_INIT_DEADLINE")" kubeadm init');
    expect(once).toContain('reset_node "kubeadm init"');
  });

  it('signals SUCCESS only after the node is Ready and not tainted uninitialised (bounded), on every role', () => {
    const master = parts(renderMasterUserData(base).text)['50-hotk8s-master.sh']!;
    const worker = Object.entries(parts(renderWorkerUserData(base).text)).find(([n]) => n.endsWith('.sh'))![1];
    expect(master).toMatch(
      /\nwait_node_ready\nsystemctl enable --now hotk8s-upgrade\.timer \|\| fail [^\n]*\n(?:#[^\n]*\n)?install_health_marker "[^\n]*\/readyz"\nfinish\n/,
    );
    expect(worker).toMatch(/\nwait_node_ready\nsystemctl enable --now hotk8s-upgrade\.timer \|\| fail [^\n]*\nfinish\n/);
    expect(kubeNodeBudgetSec({ nodeReadySec: 1000 }, 'worker') - kubeNodeBudgetSec({ nodeReadySec: 100 }, 'worker')).toBe(900);
  });

  it('monitors the API pool by HTTPS GET /readyz (amphora), TCP where the provider offers nothing else (ovn)', () => {
    const amphora = HotTemplate.fromStack(cluster().stack);
    amphora.hasResourceProperties('OS::Octavia::HealthMonitor', { type: 'HTTPS', url_path: '/readyz', expected_codes: '200' });
    const ovn = HotTemplate.fromStack(cluster({ loadBalancer: { provider: 'ovn' } }).stack);
    ovn.hasResourceProperties('OS::Octavia::HealthMonitor', { type: 'TCP' });
  });
});
