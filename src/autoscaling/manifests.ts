/**
 * The Kubernetes objects of autoscaling and healing, as two add-on files the masters apply with the other add-ons:
 *
 * - `40-hotk8s-autoscaler-access.yaml`: the Secret with the Keystone application credential and this stack's identity.
 *   Its values are deploy-time placeholders (Heat substitutes the hidden parameters), so the file travels uncompressed
 *   and is written mode 0600;
 * - `41-hotk8s-autoscaler.yaml`: RBAC, the ConfigMap holding the agent's loader and the autoscaler's cloud config, and
 *   one Deployment on the control plane: the upstream cluster-autoscaler (`--cloud-provider=externalgrpc`, plaintext
 *   gRPC to 127.0.0.1) beside the agent on a public Node image. Synth-time only, so it travels compressed. The agent
 *   program itself is not here: the loader reads it from the stack (resource AutoscalerProgram), which keeps the
 *   masters' user-data small and lets a stack update bring a new agent.
 */
import { createHash } from 'node:crypto';
import { dump } from 'js-yaml';
import { AUTOSCALER_LOADER } from './agent.generated.js';

/** Where the agent's gRPC server listens, inside the pod. */
export const AGENT_GRPC_ADDRESS = '127.0.0.1:8086';
/** The deploy-time placeholders of the access file. */
export const ACCESS_PLACEHOLDERS = {
  authUrl: '__AUTOSCALER_AUTH_URL__',
  credentialId: '__AUTOSCALER_CREDENTIAL_ID__',
  credentialSecret: '__AUTOSCALER_CREDENTIAL_SECRET__',
  stack: '__AUTOSCALER_STACK__',
} as const;

export interface AgentManifestInput {
  /** The cluster-autoscaler container, when autoscaling is on. */
  readonly autoscaler?: { readonly image: string; readonly args: readonly string[] };
  /** Whether the agent repairs nodes (upkeep runs either way). */
  readonly healing: boolean;
  readonly agentImage: string;
  /** Keystone region of the catalog endpoints. @default - any */
  readonly region?: string;
  /** Catalog interface. */
  readonly endpointInterface: string;
}

const NAME = 'hotk8s-autoscaler';
const NS = 'kube-system';
const CONFIG_DIR = '/etc/hotk8s-autoscaler';

const yaml = (docs: readonly object[]): string => docs.map((d) => dump(d, { lineWidth: -1, noRefs: true })).join('---\n');

/** The access Secret (placeholders left in: JSON-quoted values, each checked by its parameter's pattern). */
export function renderAccessManifest(input: Pick<AgentManifestInput, 'region' | 'endpointInterface'>): string {
  const data: Record<string, string> = {
    OS_AUTH_URL: ACCESS_PLACEHOLDERS.authUrl,
    OS_APPLICATION_CREDENTIAL_ID: ACCESS_PLACEHOLDERS.credentialId,
    OS_APPLICATION_CREDENTIAL_SECRET: ACCESS_PLACEHOLDERS.credentialSecret,
    OS_INTERFACE: input.endpointInterface,
    HOTK8S_STACK: ACCESS_PLACEHOLDERS.stack,
  };
  if (input.region) data.OS_REGION_NAME = input.region;
  return [
    '# hotk8s autoscaling agent: the Keystone application credential (used only to update this stack) and the stack',
    '# (<name>/<id>); Heat writes the values from the stack hidden parameters',
    dump(
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: `${NAME}-access`, namespace: NS }, type: 'Opaque', stringData: data },
      { lineWidth: -1, forceQuotes: true, quotingType: '"' },
    ),
  ].join('\n');
}

const READ = ['get', 'list', 'watch'];

/** RBAC, ConfigMap and Deployment (no placeholder). */
export function renderAgentManifest(input: AgentManifestInput): string {
  const cloudConfig = `address: ${AGENT_GRPC_ADDRESS}\ngrpc_timeout: 30s\n`;
  const digest = createHash('sha256').update(AUTOSCALER_LOADER).update(cloudConfig).digest('hex').slice(0, 16);
  const rules = [
    { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch', 'update'] },
    { apiGroups: [''], resources: ['nodes'], verbs: [...READ, 'update', 'patch', 'delete'] },
    { apiGroups: [''], resources: ['pods/eviction'], verbs: ['create'] },
    { apiGroups: [''], resources: ['pods/status'], verbs: ['update'] },
    {
      apiGroups: [''],
      resources: ['namespaces', 'pods', 'services', 'replicationcontrollers', 'persistentvolumeclaims', 'persistentvolumes', 'configmaps'],
      verbs: READ,
    },
    { apiGroups: ['apps'], resources: ['daemonsets', 'replicasets', 'statefulsets'], verbs: READ },
    { apiGroups: ['batch'], resources: ['jobs', 'cronjobs'], verbs: READ },
    { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: READ },
    {
      apiGroups: ['storage.k8s.io'],
      resources: ['storageclasses', 'csinodes', 'csidrivers', 'csistoragecapacities', 'volumeattachments'],
      verbs: READ,
    },
    { apiGroups: ['resource.k8s.io'], resources: ['resourceclaims', 'resourceslices', 'deviceclasses'], verbs: READ },
  ];
  const namespaced = [
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
    { apiGroups: [''], resources: ['configmaps'], verbs: ['create', 'update', 'patch', 'delete'] },
  ];
  const subject = [{ kind: 'ServiceAccount', name: NAME, namespace: NS }];
  const agentEnv = [
    ...(input.autoscaler ? [{ name: 'HOTK8S_GRPC_LISTEN', value: AGENT_GRPC_ADDRESS }] : []),
    { name: 'HOTK8S_HEAL', value: String(input.healing) },
    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
    { name: 'NODE_EXTRA_CA_CERTS', value: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt' },
  ];
  const hardened = { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } };
  const mount = [{ name: 'config', mountPath: CONFIG_DIR, readOnly: true }];
  const containers = [
    ...(input.autoscaler
      ? [
          {
            name: 'cluster-autoscaler',
            image: input.autoscaler.image,
            command: ['/cluster-autoscaler'],
            args: [...input.autoscaler.args, `--cloud-config=${CONFIG_DIR}/cloud-config.yaml`],
            resources: { requests: { cpu: '50m', memory: '200Mi' }, limits: { memory: '600Mi' } },
            securityContext: hardened,
            volumeMounts: mount,
          },
        ]
      : []),
    {
      name: 'agent',
      image: input.agentImage,
      command: ['node', `${CONFIG_DIR}/loader.mjs`],
      env: agentEnv,
      envFrom: [{ secretRef: { name: `${NAME}-access` } }],
      resources: { requests: { cpu: '10m', memory: '48Mi' }, limits: { memory: '160Mi' } },
      securityContext: hardened,
      volumeMounts: mount,
    },
  ];
  return yaml([
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: NAME, namespace: NS } },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: `hotk8s:${NAME}` }, rules },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: `hotk8s:${NAME}` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `hotk8s:${NAME}` },
      subjects: subject,
    },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: `hotk8s:${NAME}`, namespace: NS }, rules: namespaced },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: `hotk8s:${NAME}`, namespace: NS },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `hotk8s:${NAME}` },
      subjects: subject,
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: NAME, namespace: NS },
      data: { 'loader.mjs': AUTOSCALER_LOADER, 'cloud-config.yaml': cloudConfig },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: NAME, namespace: NS, labels: { app: NAME } },
      spec: {
        // one pod at a time: only one agent may change the stack (the Lease makes sure of it, Recreate avoids the wait)
        replicas: 1,
        strategy: { type: 'Recreate' },
        selector: { matchLabels: { app: NAME } },
        template: {
          metadata: { labels: { app: NAME }, annotations: { 'hotk8s.io/agent-sha256': digest } },
          spec: {
            serviceAccountName: NAME,
            priorityClassName: 'system-cluster-critical',
            nodeSelector: { 'node-role.kubernetes.io/control-plane': '' },
            tolerations: [
              { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' },
              { key: 'node.cloudprovider.kubernetes.io/uninitialized', value: 'true', effect: 'NoSchedule' },
            ],
            securityContext: { runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534, seccompProfile: { type: 'RuntimeDefault' } },
            containers,
            volumes: [{ name: 'config', configMap: { name: NAME } }],
          },
        },
      },
    },
  ]);
}
