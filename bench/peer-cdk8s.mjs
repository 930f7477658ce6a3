// The synth bench's peer: the same shape of program written with cdk8s (2.70, a devDependency), synthesized to YAML.
// Usage: node bench/peer-cdk8s.mjs OUTDIR   (BENCH_GROUPS groups, as bench/cluster-program.mjs reads it)
//
// Mapping (what stands for what): hotk8s writes, per worker group, about 9 entries into the root template (4
// parameters, a condition, 3 resources, an output) and about 4.5 KB of YAML; here each group is a Deployment, a
// Service and a ConfigMap, about 4.5 KB of YAML together (the ConfigMap carries a settings text standing for the
// group's properties and descriptions). The cluster's fixed part (etcd, masters, network, load balancer, about 55 KB
// of root template and nested templates) is a Namespace, two Deployments with their Services and one large ConfigMap.
// All objects are in one Chart, written as one multi-document file, as hotk8s writes one root template.
import { App, ApiObject, Chart } from 'cdk8s';

const outdir = process.argv[2];
if (!outdir) {
  console.error('usage: node bench/peer-cdk8s.mjs OUTDIR');
  process.exit(2);
}
const groups = Number(process.env.BENCH_GROUPS ?? 1);

const app = new App({ outdir });
const chart = new Chart(app, 'bench', { namespace: 'bench', labels: { 'app.kubernetes.io/part-of': 'bench' } });

// a settings text of about `bytes` characters, different for each owner (as descriptions name their group)
function settings(owner, bytes) {
  const lines = [];
  let n = 0;
  for (let i = 0; n < bytes; i++) {
    const line = `${owner}.setting${i}: value of setting ${i} of ${owner}, changing it replaces only what uses it`;
    lines.push(line);
    n += line.length + 5;
  }
  return lines.join('\n');
}

function component(name, replicas, settingsBytes) {
  const labels = { app: name };
  new ApiObject(chart, `${name}-config`, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `${name}-config` },
    data: { 'settings.yaml': settings(name, settingsBytes), 'group.name': name, replicas: String(replicas) },
  });
  new ApiObject(chart, `${name}-deployment`, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels },
        spec: {
          nodeSelector: { 'node.kubernetes.io/pool': name },
          tolerations: [{ key: 'pool', operator: 'Equal', value: name, effect: 'NoSchedule' }],
          volumes: [{ name: 'config', configMap: { name: `${name}-config` } }],
          containers: [
            {
              name: 'main',
              image: 'registry.example/worker:1.31.0',
              args: ['--config', '/etc/config/settings.yaml', `--group=${name}`],
              ports: [{ containerPort: 10250, name: 'kubelet' }],
              env: [
                { name: 'GROUP', value: name },
                { name: 'CLUSTER', value: 'bench' },
                { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
                ...Array.from({ length: 10 }, (_, i) => ({ name: `SETTING_${i}`, value: `${name}-value-${i}` })),
              ],
              resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } },
              readinessProbe: { httpGet: { path: '/healthz', port: 10250 }, periodSeconds: 10 },
              volumeMounts: [{ name: 'config', mountPath: '/etc/config', readOnly: true }],
            },
          ],
        },
      },
    },
  });
  new ApiObject(chart, `${name}-service`, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, labels },
    spec: { selector: labels, ports: [{ name: 'kubelet', port: 10250, targetPort: 10250 }] },
  });
}

new ApiObject(chart, 'namespace', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } });
component('etcd', 3, 30_000);
component('control', 1, 40_000);
new ApiObject(chart, 'cluster-settings', {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'cluster-settings' },
  data: Object.fromEntries(Array.from({ length: 1300 }, (_, i) => [`setting${i}`, `value of cluster setting ${i}`])),
});
for (let i = 0; i < groups; i++) component(`pool${i}`, 1, 2_000);
app.synth();
