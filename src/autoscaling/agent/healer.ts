/**
 * Self-healing of worker groups (never masters or etcd: they are not in the output the agent reads). A member is
 * unhealthy when its node's Ready condition has not been True for `notReadySec`, or its Nova server has been gone or
 * in ERROR that long. One member at a time is replaced through Heat: named in `workers_<g>_remove` with the count kept,
 * so Heat deletes that server, its port and pool memberships and creates a new member. A group where more members are
 * unhealthy (or still being replaced) than `maxUnhealthy` allows is left alone: that is an outage for an operator, not
 * a node to recycle. A member already named in the removal list is never acted on again, and a node that recovers in
 * between starts its clock anew, so a flapping node is not replaced twice.
 *
 * Upkeep, on every round (healing or not): Node objects of removed members are deleted (the cloud-controller-manager
 * does it when there is one), and nodes without a provider id get `openstack:///<server id>` when no
 * cloud-controller-manager sets it (`providerIds`), so that the cluster-autoscaler can match nodes and instances.
 */
import type { GroupView, HealView } from './config.js';
import type { Kube, KubeNode } from './kube.js';
import { errorText, type OpenStack } from './openstack.js';
import { inProgress, listOf, memberOf, type Notify, type Snapshot, type Stack } from './stack.js';

interface Problem {
  readonly group: string;
  readonly name: string;
  readonly since: number;
  readonly reason: string;
}

/** How many unhealthy members a group of `size` tolerates: a number, or a percentage rounded down. */
export function unhealthyLimit(maxUnhealthy: string, size: number): number {
  const m = /^(\d+)(%?)$/.exec(maxUnhealthy.trim());
  if (!m) return 0;
  return m[2] ? Math.floor((size * Number(m[1])) / 100) : Number(m[1]);
}

export class Healer {
  /** When a server was first seen gone or in ERROR, by server name. */
  private readonly bad = new Map<string, number>();
  /** Groups whose pause was reported (reported again only after it lifted). */
  private readonly paused = new Set<string>();

  constructor(
    private readonly stack: Stack,
    private readonly cloud: OpenStack,
    private readonly kube: Kube,
    private readonly notify: Notify,
    private readonly log: (line: string) => void,
  ) {}

  /** One round: upkeep, then (when `healing`) at most one repair. */
  async round(healing: boolean, now = Date.now()): Promise<void> {
    const s = await this.stack.read(0);
    const nodes = new Map((await this.kube.nodes()).map((n) => [n.metadata.name, n]));
    await this.upkeep(s, nodes);
    const heal = s.view.heal;
    if (!healing || !heal || inProgress(s.status) || !this.stack.idle) return;
    const servers = await this.serverStates(s);
    let candidate: Problem | undefined;
    for (const [group, g] of Object.entries(s.view.groups)) {
      if (!g.heal) continue;
      const problems = this.problems(group, g, s, nodes, servers, heal, now);
      const replacing = Object.keys(g.servers ?? {}).filter((m) => this.stack.removing(g, g.prefix + m, s)).length;
      const size = Object.keys(g.servers ?? {}).length;
      const limit = unhealthyLimit(heal.maxUnhealthy, size);
      if (problems.length + replacing > limit) {
        if (!this.paused.has(group)) {
          this.notify(
            'Warning',
            'RepairPaused',
            `worker group ${group}: ${problems.length} unhealthy and ${replacing} being replaced of ${size}, more than maxUnhealthy ${heal.maxUnhealthy} allows (${limit}): no node is replaced until fewer are (${problems.map((p) => `${p.name}: ${p.reason}`).join('; ')})`,
          );
          this.paused.add(group);
        }
        continue;
      }
      this.paused.delete(group);
      for (const p of problems) if (!candidate || p.since < candidate.since) candidate = p;
    }
    if (candidate) await this.repair(candidate, nodes.get(candidate.name));
  }

  /** Members of `g` unhealthy for longer than the grace period, not being replaced already. */
  private problems(
    group: string,
    g: GroupView,
    s: Snapshot,
    nodes: ReadonlyMap<string, KubeNode>,
    servers: ReadonlyMap<string, string> | undefined,
    heal: HealView,
    now: number,
  ): Problem[] {
    const out: Problem[] = [];
    for (const [m, server] of Object.entries(g.servers ?? {})) {
      const name = g.prefix + m;
      const node = nodes.get(name);
      if (this.stack.removing(g, name, s) || node?.metadata.annotations?.['hotk8s.io/auto-repair'] === 'false') continue;
      const state = server && servers ? (servers.get(server) ?? 'gone') : undefined;
      let since: number | undefined;
      let reason = '';
      if (state === 'gone' || state === 'ERROR') {
        if (!this.bad.has(name)) this.bad.set(name, now);
        since = this.bad.get(name)!;
        reason = state === 'gone' ? `server ${server} is gone` : `server ${server} is in ERROR`;
      } else {
        this.bad.delete(name);
        const ready = node?.status?.conditions?.find((c) => c.type === 'Ready');
        if (ready && ready.status !== 'True') {
          since = Date.parse(ready.lastTransitionTime ?? '') || now;
          reason = `Ready is ${ready.status} since ${ready.lastTransitionTime}`;
        }
      }
      if (since !== undefined && now - since >= heal.notReadySec * 1000) out.push({ group, name, since, reason });
    }
    return out;
  }

  /** Nova's view of the cluster's servers (id -> status), or undefined when Nova cannot be asked. */
  private async serverStates(s: Snapshot): Promise<Map<string, string> | undefined> {
    try {
      const r = await this.cloud.call('nova', 'GET', `/servers/detail?name=${encodeURIComponent(`^${s.view.cluster}-`)}`);
      if (r.status !== 200) throw new Error(`${r.status} ${errorText(r.body)}`);
      return new Map((r.body as { servers: { id: string; status: string }[] }).servers.map((v) => [v.id, v.status]));
    } catch (e) {
      this.log(`warning: Nova servers not read (${(e as Error).message}); judging nodes by their Ready condition only`);
      return undefined;
    }
  }

  private async repair(p: Problem, node: KubeNode | undefined): Promise<void> {
    const about = { kind: 'Node', name: p.name };
    this.notify(
      'Warning',
      'NodeRepair',
      `replacing ${p.name} of worker group ${p.group} (${p.reason}): removed from the stack, count kept`,
      about,
    );
    if (node && !node.spec?.unschedulable) {
      await this.kube
        .patchNode(p.name, { spec: { unschedulable: true } })
        .catch((e: Error) => this.log(`warning: cordon ${p.name}: ${e.message}`));
    }
    this.stack
      .change(p.group, 0, [p.name], `repair ${p.name}`, 0, true)
      .catch((e: Error) => this.notify('Warning', 'NodeRepairFailed', `${p.name} not replaced: ${e.message}`, about));
  }

  private async upkeep(s: Snapshot, nodes: ReadonlyMap<string, KubeNode>): Promise<void> {
    for (const g of Object.values(s.view.groups)) {
      if (!inProgress(s.status)) {
        for (const name of listOf(s.params[g.remove])) {
          if (nodes.has(name) && memberOf(g, name) === undefined) {
            await this.kube
              .deleteNode(name)
              .then(() => this.notify('Normal', 'NodeDeleted', `deleted Node ${name}: its server was removed from the stack`))
              .catch((e: Error) => this.log(`warning: delete Node ${name}: ${e.message}`));
          }
        }
      }
      if (!s.view.providerIds) continue;
      for (const [m, server] of Object.entries(g.servers ?? {})) {
        const node = nodes.get(g.prefix + m);
        if (server && node && !node.spec?.providerID) {
          await this.kube
            .patchNode(node.metadata.name, { spec: { providerID: `openstack:///${server}` } })
            .then(() => this.log(`set providerID of ${node.metadata.name} to openstack:///${server}`))
            .catch((e: Error) => this.log(`warning: providerID of ${node.metadata.name}: ${e.message}`));
        }
      }
    }
  }
}
