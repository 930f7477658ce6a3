import { HotError } from '../core/errors.js';
import { controllerLoadBalancerPrefix } from '../k8s/teardown.js';
import { OpenStackCli } from './openstack.js';
import { reportError, type Io } from './report.js';

export interface TeardownArgs {
  readonly stack: string;
  /** The cloud-controller-manager's `--cluster-name`. @default - from the stack's `service_load_balancer_prefix` output */
  readonly cluster?: string;
  /** Also delete the Cinder volumes the CSI driver made for the cluster's PersistentVolumes. */
  readonly volumes?: boolean;
  /** List what would be deleted; delete nothing. */
  readonly dryRun?: boolean;
  /** Delete without asking (required unless --dry-run). */
  readonly yes?: boolean;
  readonly openstack?: string;
  readonly json?: boolean;
  readonly debug?: boolean;
}

/** The stack output naming the controller's load balancer prefix (`CloudProvider`). */
export const PREFIX_OUTPUT = 'service_load_balancer_prefix';
/** The volume property cinder-csi-plugin sets to its `--cluster` on every volume it creates. */
export const CSI_CLUSTER_PROPERTY = 'cinder.csi.openstack.org/cluster';

export interface TeardownItem {
  readonly kind: 'load balancer' | 'floating ip' | 'stack' | 'security group' | 'volume';
  readonly id: string;
  readonly name: string;
  readonly when: 'before-stack-delete' | 'stack-delete' | 'after-stack-delete';
}

const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v));
/** A row's field under any of the client's spellings (`ID`/`id`, `Name`/`name`). */
const field = (row: Record<string, unknown>, ...keys: string[]): string => str(keys.map((k) => row[k]).find((v) => v !== undefined));

/** `head...tail` match of a description the controller wrote. */
const describedFor = (description: string, head: string, tail: string): boolean =>
  description.startsWith(head) && description.endsWith(tail) && description.length >= head.length + tail.length;

/** A volume's properties: a JSON object (newer clients) or `key='value', ...` text (older ones). */
function volumeProperty(row: Record<string, unknown>, key: string): string | undefined {
  const p = row.Properties ?? row.properties ?? row.metadata;
  if (p && typeof p === 'object') return str((p as Record<string, unknown>)[key]) || undefined;
  if (typeof p === 'string') {
    for (const m of p.matchAll(/([^\s=,']+)='([^']*)'/g)) if (m[1] === key) return m[2];
  }
  return undefined;
}

/** The controller's cluster name: the one given, else the stack's load balancer prefix output; undefined without a cloud provider. */
async function controllerCluster(os: OpenStackCli, args: TeardownArgs): Promise<string | undefined> {
  if (args.cluster) return args.cluster;
  const outputs = await os.list(['stack', 'output', 'list', args.stack]);
  if (!outputs.some((o) => field(o, 'output_key', 'Output Key') === PREFIX_OUTPUT)) return undefined;
  const prefix = await os.stackOutput(args.stack, PREFIX_OUTPUT);
  const m = /^kube_service_(.+)_$/.exec(prefix);
  if (!m)
    throw new HotError(
      args.stack,
      `unexpected ${PREFIX_OUTPUT} output ${JSON.stringify(prefix)}: give the controller's cluster name with --cluster`,
    );
  return m[1];
}

/** What the teardown deletes, in order. Only reads the cloud. */
export async function teardownPlan(os: OpenStackCli, args: TeardownArgs): Promise<{ cluster?: string; items: TeardownItem[] }> {
  const cluster = await controllerCluster(os, args);
  const items: TeardownItem[] = [];
  if (cluster !== undefined) {
    const prefix = controllerLoadBalancerPrefix(cluster);
    for (const lb of await os.list(['loadbalancer', 'list', '-c', 'id', '-c', 'name'])) {
      const name = field(lb, 'name', 'Name');
      if (name.startsWith(prefix)) items.push({ kind: 'load balancer', id: field(lb, 'id', 'ID'), name, when: 'before-stack-delete' });
    }
    for (const ip of await os.list(['floating', 'ip', 'list', '--long', '-c', 'ID', '-c', 'Floating IP Address', '-c', 'Description'])) {
      if (describedFor(field(ip, 'Description'), 'Floating IP for Kubernetes external service ', ` from cluster ${cluster}`)) {
        items.push({ kind: 'floating ip', id: field(ip, 'ID'), name: field(ip, 'Floating IP Address'), when: 'before-stack-delete' });
      }
    }
  }
  items.push({ kind: 'stack', id: args.stack, name: args.stack, when: 'stack-delete' });
  if (cluster !== undefined) {
    for (const sg of await os.list(['security', 'group', 'list', '-c', 'ID', '-c', 'Name', '-c', 'Description'])) {
      if (describedFor(field(sg, 'Description'), 'Security Group for ', ` Service LoadBalancer in cluster ${cluster}`)) {
        items.push({ kind: 'security group', id: field(sg, 'ID'), name: field(sg, 'Name'), when: 'after-stack-delete' });
      }
    }
    if (args.volumes) {
      for (const v of await os.list(['volume', 'list', '--long'])) {
        if (volumeProperty(v, CSI_CLUSTER_PROPERTY) === cluster) {
          items.push({ kind: 'volume', id: field(v, 'ID', 'id'), name: field(v, 'Name', 'name'), when: 'after-stack-delete' });
        }
      }
    }
  }
  return { cluster, items };
}

/** The openstack arguments that delete one item. */
export function deleteCommand(item: TeardownItem): string[] {
  switch (item.kind) {
    case 'load balancer':
      return ['loadbalancer', 'delete', '--cascade', '--wait', item.id];
    case 'floating ip':
      return ['floating', 'ip', 'delete', item.id];
    case 'stack':
      return ['stack', 'delete', '--yes', '--wait', item.id];
    case 'security group':
      return ['security', 'group', 'delete', item.id];
    case 'volume':
      return ['volume', 'delete', item.id];
  }
}

export async function runTeardown(args: TeardownArgs, io: Io): Promise<number> {
  try {
    const os = new OpenStackCli(args.openstack);
    const { cluster, items } = await teardownPlan(os, args);
    const line = (i: TeardownItem) => `${i.kind} ${i.name}${i.name !== i.id ? ` (${i.id})` : ''}`;
    if (args.dryRun || !args.yes) {
      if (args.json) {
        io.out(JSON.stringify({ ok: !!args.dryRun, dryRun: true, cluster: cluster ?? null, items }));
      } else {
        io.out(
          `teardown of ${args.stack}${cluster !== undefined ? ` (cloud-controller-manager cluster ${cluster})` : ' (no cloud provider output: the stack only)'}:`,
        );
        for (const i of items) io.out(`  ${args.dryRun ? 'would delete' : 'to delete'} ${line(i)}`);
        if (!args.volumes && cluster !== undefined)
          io.out("  (the CSI driver's Cinder volumes stay: --volumes deletes them, with their data)");
      }
      if (args.dryRun) return 0;
      io.err('hotk8s: teardown deletes the above: run it again with --yes (or --dry-run to only list)');
      return 1;
    }
    const done: TeardownItem[] = [];
    for (const i of items) {
      if (!args.json) io.err(`deleting ${line(i)}...`);
      await os.run(deleteCommand(i));
      done.push(i);
    }
    if (args.json) io.out(JSON.stringify({ ok: true, dryRun: false, cluster: cluster ?? null, items: done }));
    else io.out(`deleted ${done.length} item(s): ${args.stack} is gone`);
    return 0;
  } catch (e) {
    return reportError(e, io, { debug: args.debug, json: args.json });
  }
}
