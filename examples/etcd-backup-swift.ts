/**
 * etcd backups on every member's own Cinder volume, each snapshot also uploaded to a Swift container the stack
 * creates (README "etcd backups"): the members sign their upload URLs with the container's temp URL key and hold no
 * OpenStack credentials; Swift deletes each copy after 14 days.
 */
import { App, Cluster, HeatStack } from 'hotk8s';

export default function (): App {
  const app = new App();
  const stack = new HeatStack(app, 'etcd-backup-swift');
  new Cluster(stack, 'Cluster', {
    name: 'backed-up',
    etcd: {
      dataVolume: { sizeGiB: 20 },
      backup: { schedule: 'hourly', retain: 24, volumeSizeGiB: 20, swift: { deleteAfterDays: 14 } },
    },
  });
  return app;
}
