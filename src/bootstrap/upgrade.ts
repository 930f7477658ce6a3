/**
 * The in-place Kubernetes upgrade agent (template `kube/upgrade-agent.sh`): every master and worker gets it with a
 * systemd timer. `openstack stack update` with a re-synthesized stack of the next minor changes the servers'
 * metadata key {@link UPGRADE_METADATA_KEY} in place (Nova's `metadata` is updated without a rebuild; the new
 * user-data is ignored by running servers), and the agent upgrades the node with kubeadm, one node at a time.
 */
import { BootstrapRenderError, gzipBase64, renderTemplate } from './render.js';
import { DEFAULT_KUBERNETES_VERSION, resolveKubernetesVersion } from './kubernetes-versions.js';
import { NODE_PATHS, type ResolvedKubeNode, type WriteFile } from './kubeadm.js';

/** The server metadata key that carries the cluster's target Kubernetes version (e.g. `1.37.1`). */
export const UPGRADE_METADATA_KEY = 'hotk8s-kubernetes-version';

/** Where the agent and its systemd units are written. */
export const UPGRADE_AGENT_PATHS = {
  script: '/usr/local/lib/hotk8s/upgrade-agent.sh',
  service: '/etc/systemd/system/hotk8s-upgrade.service',
  timer: '/etc/systemd/system/hotk8s-upgrade.timer',
} as const;

/** The agent's script for a role (placeholder-free bash). */
export function renderUpgradeAgent(node: ResolvedKubeNode, role: 'master' | 'worker'): string {
  const prefix = `${node.kubernetesVersion}-`;
  if (!node.packageVersion.startsWith(prefix)) {
    throw new BootstrapRenderError(`package version ${node.packageVersion} does not start with ${prefix}`);
  }
  return renderTemplate('kube/upgrade-agent.sh', {
    ...node,
    role,
    packageRevision: node.packageVersion.slice(prefix.length),
    paths: NODE_PATHS,
  });
}

/** The agent, its oneshot service and its timer (every 60 s, first run 5 minutes after boot). */
export function upgradeAgentFiles(node: ResolvedKubeNode, role: 'master' | 'worker'): WriteFile[] {
  return [
    { path: UPGRADE_AGENT_PATHS.script, permissions: '0700', encoding: 'gz+b64', defer: false, content: gzipAgent(node, role) },
    {
      path: UPGRADE_AGENT_PATHS.service,
      permissions: '0644',
      encoding: 'plain',
      defer: false,
      content: renderTemplate('kube/upgrade-agent.service', UPGRADE_AGENT_PATHS),
    },
    {
      path: UPGRADE_AGENT_PATHS.timer,
      permissions: '0644',
      encoding: 'plain',
      defer: false,
      content: renderTemplate('kube/upgrade-agent.timer', {}),
    },
  ];
}

function gzipAgent(node: ResolvedKubeNode, role: 'master' | 'worker'): string {
  return gzipBase64(renderUpgradeAgent(node, role));
}

/** The server metadata of a master or worker: the cluster's Kubernetes version, which the upgrade agent reads. */
export function upgradeMetadata(kubernetesVersion: string | undefined): Record<string, string> {
  return { [UPGRADE_METADATA_KEY]: resolveKubernetesVersion(kubernetesVersion ?? DEFAULT_KUBERNETES_VERSION).version };
}
