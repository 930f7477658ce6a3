/**
 * Autoscaling and self-healing: the upstream cluster-autoscaler grows the `general` group from 2 up to 12 workers when
 * pods do not fit, and shrinks it when nodes stay unneeded for 10 minutes; the `gpu` group scales from zero (the
 * autoscaler learns its flavor's size from Nova). A worker NotReady for 5 minutes is replaced, one at a time, in any
 * group but `batch`. Both act through `openstack stack update` with PATCH semantics on this stack's own parameters
 * (`workers_<group>_count`, `workers_<group>_remove`), with the application credential given at create time:
 *
 *   openstack application credential create autoscaler-prod   # as the user that creates the stack
 *   openstack stack create ... --parameter autoscaler_application_credential_id=ID \
 *     --parameter autoscaler_application_credential_secret=SECRET
 */
import { App, Cluster, HeatStack } from 'hotk8s';

export default function (): App {
  const app = new App();
  const stack = new HeatStack(app, 'prod', { description: 'hotk8s: a cluster that scales its workers and replaces failed ones' });
  new Cluster(stack, 'Cluster', {
    name: 'prod',
    workerGroups: [
      { name: 'general', size: 2, minSize: 2, maxSize: 12 },
      { name: 'gpu', size: 0, minSize: 0, maxSize: 4, taints: [{ key: 'nvidia.com/gpu', value: 'present', effect: 'NoSchedule' }] },
      { name: 'batch', size: 1, minSize: 1, maxSize: 6, labels: { 'example.org/pool': 'batch' } },
    ],
    autoscaling: { authUrl: 'https://keystone.example.org:5000/v3', scaleDownUnneededSec: 600 },
    autoHealing: { notReadySec: 300, maxUnhealthy: '40%', excludeGroups: ['batch'] },
  });
  return app;
}
