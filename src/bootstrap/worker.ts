/**
 * Worker user-data: containerd and kubelet/kubeadm at the cluster version, then `kubeadm join`
 * through the control-plane endpoint with the bootstrap token and the cluster CA's hash, with the
 * worker group's labels (kubelet `--node-labels`) and taints (JoinConfiguration
 * nodeRegistration.taints). Workers get no CA key and no add-on manifest.
 *
 * Labels and taints are deploy-time values (`__NODE_LABELS__`, `__NODE_TAINTS__`, see {@link workerDeployValues}): the
 * rendered text does not depend on them, so worker groups that differ only in name, labels, taints, flavor or image
 * share one member template (synthesis writes identical templates once).
 *
 * Target images: Ubuntu 24.04 LTS and Debian 12 cloud images with cloud-init (see kubeadm.ts).
 */
import {
  BootstrapRenderError,
  buildMultipart,
  commonContext,
  commonTemplateFields,
  gzipBase64,
  placeholder,
  renderTemplate,
  userData,
  type RenderedUserData,
} from './render.js';
import {
  checkNodeLabels,
  checkTaints,
  commonNodeFiles,
  distroPackages,
  KUBE_NODE_LIBRARY_PATH,
  renderNodeLibrary,
  kubeletExtraArgs,
  nodeLabelsValue,
  NODE_PATHS,
  renderNodeCloudConfig,
  resolveKubeNode,
  taintObjects,
  type KubeNodeContext,
  type NodeTaint,
  type ResolvedKubeNode,
  type WriteFile,
} from './kubeadm.js';
import { upgradeAgentFiles } from './upgrade.js';
import { memoized } from './private/templates.js';

/** The node label naming a worker's group (set on every worker; a user's labels may not use it). */
export const WORKER_GROUP_LABEL = 'hotk8s.io/worker-group';

/** Synth-time settings of one worker group's user-data (deploy-time values: see {@link WORKER_PLACEHOLDERS}). */
export interface WorkerUserDataContext extends KubeNodeContext {
  /** The group's name, the value of the `hotk8s.io/worker-group` node label. @default 'default' */
  readonly group?: string;
  /** Labels of the group's nodes (kubelet --node-labels; NodeRestriction rules apply). @default {} */
  readonly labels?: Readonly<Record<string, string>>;
  /** Taints of the group's nodes. @default [] */
  readonly taints?: readonly NodeTaint[];
}

/** Deploy-time placeholders of a worker's user-data and what the construct must give Heat for each. */
export const WORKER_PLACEHOLDERS: Readonly<Record<string, string>> = {
  __NODE_NAME__: 'the server name (used in signal reasons)',
  __SIGNAL_CURL__: "the worker's WaitConditionHandle curl_cli",
  __NODE_ADDRESS__: "this worker's fixed IP (kubelet node-ip)",
  __API_ADDRESS__: 'the control-plane endpoint address (API load balancer VIP, or the single master)',
  __BOOTSTRAP_TOKEN__: 'the same kubeadm bootstrap token the masters get',
  __CA_CERT_HASH__: 'ClusterPki.discoveryHash (sha256:<hex>), hidden parameter',
  __NODE_LABELS__: "the group's kubelet --node-labels value (workerDeployValues)",
  __NODE_TAINTS__: "the group's taints as a JSON list (workerDeployValues)",
};

export interface ResolvedWorker {
  readonly node: ResolvedKubeNode;
  /** Every label of the group's nodes, the group label included. */
  readonly labels: Readonly<Record<string, string>>;
  readonly taints: readonly NodeTaint[];
}

export function resolveWorker(ctx: WorkerUserDataContext): ResolvedWorker {
  return { node: resolveKubeNode(ctx), ...workerLabelsAndTaints(ctx) };
}

/** The group's labels (the group label added) and taints, checked; they do not need the rest of the node settings. */
function workerLabelsAndTaints(ctx: WorkerUserDataContext): Omit<ResolvedWorker, 'node'> {
  const own = ctx.labels ?? {};
  const taints = ctx.taints ?? [];
  if (WORKER_GROUP_LABEL in own) {
    throw new BootstrapRenderError(`worker label ${WORKER_GROUP_LABEL} is set by hotk8s to the group's name; choose another key`);
  }
  const labels = { ...own, [WORKER_GROUP_LABEL]: ctx.group ?? 'default' };
  checkNodeLabels(labels, 'worker');
  checkTaints(taints, 'worker');
  return { labels, taints };
}

/**
 * The deploy-time values of a worker group's labels and taints: the `--node-labels` value (sorted `key=value` pairs,
 * never empty: the group label is always there) and the taints as a one-line JSON list (YAML flow syntax).
 */
export function workerDeployValues(ctx: WorkerUserDataContext): { readonly __NODE_LABELS__: string; readonly __NODE_TAINTS__: string } {
  const { labels, taints } = workerLabelsAndTaints(ctx);
  return { __NODE_LABELS__: nodeLabelsValue(labels), __NODE_TAINTS__: JSON.stringify(taintObjects(taints)) };
}

/** The worker's JoinConfiguration (placeholders left in, labels and taints among them). */
export function renderWorkerKubeadmConfig(w: ResolvedWorker): string {
  return renderTemplate('kube/kubeadm-join.yaml', {
    ...w.node,
    controlPlane: false,
    kubeletExtraArgs: [
      ...kubeletExtraArgs(w.node).filter((a) => a.name !== 'node-labels'),
      { name: 'node-labels', value: placeholder('NODE_LABELS') },
    ],
    hasMasterTaints: false,
    masterTaints: [],
    taintsText: placeholder('NODE_TAINTS'),
  });
}

export function workerFiles(w: ResolvedWorker): WriteFile[] {
  return [
    { path: KUBE_NODE_LIBRARY_PATH, permissions: '0644', encoding: 'gz+b64', defer: false, content: gzipBase64(renderNodeLibrary(w.node)) },
    ...commonNodeFiles(w.node),
    ...upgradeAgentFiles(w.node, 'worker'),
    { path: NODE_PATHS.kubeadmJoin, permissions: '0600', encoding: 'plain', defer: false, content: renderWorkerKubeadmConfig(w) },
  ];
}

/**
 * Renders one worker group's user-data (shared by every member of the group). Groups with the same settings get
 * the same (frozen) result, rendered once per process.
 */
export function renderWorkerUserData(ctx: WorkerUserDataContext): RenderedUserData {
  workerLabelsAndTaints(ctx); // checked here, though only their deploy-time values carry them
  const shape = Object.fromEntries(
    Object.entries(ctx).filter(([k]) => k !== 'group' && k !== 'labels' && k !== 'taints'),
  ) as WorkerUserDataContext;
  return memoized('worker user-data', shape, () => {
    const rendered = renderWorker(shape);
    Object.freeze(rendered.placeholders);
    return Object.freeze(rendered);
  });
}

function renderWorker(ctx: WorkerUserDataContext): RenderedUserData {
  const w = resolveWorker(ctx);
  const common = commonTemplateFields(commonContext('worker', w.node.podCidr));
  const cloudConfig = renderNodeCloudConfig('worker', distroPackages(w.node), workerFiles(w), common);
  const script = renderTemplate('worker/bootstrap.sh', { ...common, ...w.node, nodeLibPath: KUBE_NODE_LIBRARY_PATH });
  const text = buildMultipart([
    { filename: '10-hotk8s-worker.cfg', contentType: 'text/cloud-config', content: cloudConfig },
    { filename: '50-hotk8s-worker.sh', contentType: 'text/x-shellscript', content: script },
  ]);
  return userData('worker', text);
}
