/**
 * The cluster-autoscaler's externalgrpc CloudProvider service over this stack's worker groups (those with
 * `autoscale`): a node group per worker group, its range the count parameter's, its instances the group's members
 * (`openstack:///<server id>`, the provider id the OpenStack cloud-controller-manager gives nodes). Increase raises
 * `workers_<g>_count`; delete names the members in `workers_<g>_remove` and lowers the count as much. Messages and
 * field numbers: `../externalgrpc.proto`.
 */
import type { GroupView } from './config.js';
import { RpcError, type Handler } from './grpc.js';
import type { KubeNode } from './kube.js';
import { CloudError, errorText, type OpenStack } from './openstack.js';
import { cat, fBytes, fInt, fMap, fMsg, fStr, int, msgs, raw, str, type Fields } from './proto.js';
import { memberOf, type Snapshot, type Stack } from './stack.js';

export const SERVICE = 'clusterautoscaler.cloudprovider.v1.externalgrpc.CloudProvider';
const PROVIDER_ID = 'openstack:///';
/** The id of a member whose server Nova has not given yet. */
const pendingId = (group: string, member: string): string => `hotk8s:///${group}/${member}`;

interface Flavor {
  readonly id: string;
  readonly name: string;
  readonly vcpus: number;
  readonly ram: number;
  readonly disk: number;
}

export interface ProviderOptions {
  readonly stack: Stack;
  readonly cloud: OpenStack;
  /** Names of the registered nodes (to refuse a target decrease that would delete one). */
  readonly nodes: () => Promise<readonly KubeNode[]>;
  /** Whether this process may change the stack (it holds the lease). */
  readonly leader: () => boolean;
  /** How long a change may wait for Heat before the call returns with the change queued. */
  readonly acceptWaitMs: number;
  readonly log: (line: string) => void;
}

export function providerHandlers(o: ProviderOptions): Record<string, Handler> {
  const flavors = new Map<string, Flavor>();
  const snapshot = async (): Promise<Snapshot> => {
    try {
      return await o.stack.read();
    } catch (e) {
      throw new RpcError(14, (e as Error).message);
    }
  };
  const groupOf = async (req: Fields, field = 1): Promise<[string, GroupView, Snapshot]> => {
    const s = await snapshot();
    const id = str(req, field);
    const g = s.view.groups[id];
    if (!g?.autoscale) throw new RpcError(5, `no autoscaled worker group ${JSON.stringify(id)}`);
    return [id, g, s];
  };
  const nodeGroup = (id: string, g: GroupView): Uint8Array =>
    cat([fStr(1, id), fInt(2, g.min), fInt(3, g.max), fStr(4, `worker group ${id}: ${g.count} in ${g.min}..${g.max}`)]);
  const mutate = async <T>(action: () => Promise<T>): Promise<T> => {
    if (!o.leader()) throw new RpcError(14, 'this agent does not hold the lease; another one changes the stack');
    return action();
  };
  const submit = async (group: string, add: number, remove: string[], why: string): Promise<Uint8Array> => {
    const how = await o.stack.change(group, add, remove, why, o.acceptWaitMs);
    o.log(`${why}: ${how}`);
    return new Uint8Array(0);
  };
  /** The member a node (by provider id, pending id or name) stands for in `g`. */
  const memberFor = (group: string, g: GroupView, node: Fields): string | undefined => {
    const pid = str(node, 1);
    const name = str(node, 2);
    for (const [m, server] of Object.entries(g.servers ?? {})) {
      if ((server && pid === PROVIDER_ID + server) || pid === pendingId(group, m) || name === pendingId(group, m)) return m;
    }
    return memberOf(g, name);
  };

  return {
    NodeGroups: async () => {
      const s = await snapshot();
      return cat(Object.entries(s.view.groups).flatMap(([id, g]) => (g.autoscale ? [fMsg(1, nodeGroup(id, g))] : [])));
    },
    NodeGroupForNode: async (req) => {
      const s = await snapshot();
      const node = msgs(req, 1)[0] ?? new Map();
      for (const [id, g] of Object.entries(s.view.groups)) {
        if (g.autoscale && memberFor(id, g, node) !== undefined) return fMsg(1, nodeGroup(id, g));
      }
      return fMsg(1); // id "": not ours (masters, other groups)
    },
    NodeGroupTargetSize: async (req) => {
      const [id, , s] = await groupOf(req);
      return fInt(1, o.stack.target(id, s));
    },
    NodeGroupIncreaseSize: (req) =>
      mutate(async () => {
        const [id, g, s] = await groupOf(req, 2);
        const delta = int(req, 1);
        const target = o.stack.target(id, s);
        if (delta <= 0) throw new RpcError(3, `delta must be positive; got ${delta}`);
        if (target + delta > g.max) throw new RpcError(9, `worker group ${id}: ${target} + ${delta} exceeds its maximum ${g.max}`);
        return submit(id, delta, [], `scale up ${id} by ${delta}`);
      }),
    NodeGroupDeleteNodes: (req) =>
      mutate(async () => {
        const [id, g, s] = await groupOf(req, 2);
        const names: string[] = [];
        for (const node of msgs(req, 1)) {
          const m = memberFor(id, g, node);
          if (m === undefined) throw new RpcError(5, `node ${str(node, 2) || str(node, 1)} is not a member of worker group ${id}`);
          names.push(g.prefix + m);
        }
        const fresh = names.filter((n) => !o.stack.removing(g, n, s));
        if (o.stack.target(id, s) - fresh.length < g.min) {
          throw new RpcError(9, `worker group ${id}: deleting ${fresh.length} would go below its minimum ${g.min}`);
        }
        return fresh.length ? submit(id, 0, fresh, `delete ${fresh.join(', ')} from ${id}`) : new Uint8Array(0);
      }),
    NodeGroupDecreaseTargetSize: (req) =>
      mutate(async () => {
        const [id, g, s] = await groupOf(req, 2);
        const delta = int(req, 1);
        if (delta >= 0) throw new RpcError(3, `delta must be negative; got ${delta}`);
        const left = -delta - o.stack.unqueue(id, -delta);
        if (!left) return new Uint8Array(0);
        // Heat lowers a count by removing the highest-numbered members: the newest, which must not have registered yet
        const registered = new Set((await o.nodes()).map((n) => n.metadata.name));
        const newest = Object.keys(g.servers ?? {})
          .map(Number)
          .sort((a, b) => b - a)
          .slice(0, left)
          .map((m) => g.prefix + m);
        const taken = newest.filter((n) => registered.has(n));
        if (taken.length || newest.length < left) {
          throw new RpcError(
            9,
            `worker group ${id}: lowering the target by ${left} would delete registered nodes (${taken.join(', ') || 'none left'})`,
          );
        }
        if (o.stack.target(id, s) - left < g.min) throw new RpcError(9, `worker group ${id}: below its minimum ${g.min}`);
        return submit(id, -left, [], `lower the target of ${id} by ${left}`);
      }),
    NodeGroupNodes: async (req) => {
      const [id, g, s] = await groupOf(req);
      const failed = o.stack.lastFailure;
      // after a failed update: a member it brought that has no registered Node, or any member without a server, is a
      // failed creation. The autoscaler sees it as creating with an error, counts a failed scale-up, backs the group
      // off and deletes the instance (by the id given here), instead of waiting for it until its provisioning timeout.
      const registered = failed ? new Set((await o.nodes().catch(() => [])).map((n) => n.metadata.name)) : new Set<string>();
      const added = new Set(failed?.added[id] ?? []);
      return cat(
        Object.entries(g.servers ?? {}).map(([m, server]) => {
          const removing = o.stack.removing(g, g.prefix + m, s);
          const broken = !!failed && !removing && (!server || (added.has(m) && !registered.has(g.prefix + m)));
          // 1 running, 2 creating, 3 deleting
          const state = removing ? 3 : server && !broken ? 1 : 2;
          const error = broken && failed ? fMsg(2, fStr(1, 'HEAT_UPDATE_FAILED'), fStr(2, failed.reason), fInt(3, 99)) : new Uint8Array(0);
          return fMsg(1, fStr(1, server ? PROVIDER_ID + server : pendingId(id, m)), fMsg(2, fInt(1, state), error));
        }),
      );
    },
    NodeGroupTemplateNodeInfo: async (req) => {
      const [id, g, s] = await groupOf(req);
      const wanted = s.params[g.flavor] ?? '';
      let f = flavors.get(wanted);
      if (!f) {
        const r = await o.cloud.call('nova', 'GET', '/flavors/detail').catch((e: Error) => ({ status: 0, body: e.message }));
        if (r.status !== 200) throw new RpcError(14, `Nova flavors: ${r.status} ${errorText(r.body)}`);
        f = (r.body as { flavors: Flavor[] }).flavors.find((x) => x.id === wanted || x.name === wanted);
        if (!f) throw new RpcError(14, `flavor ${wanted} of worker group ${id} is not in Nova's list`);
        flavors.set(wanted, f);
      }
      const node = templateNode(`${g.prefix}template`, g, f);
      // field 1 for autoscalers up to 1.34 (a Node message), field 2 from 1.34 on (its bytes): the same encoding
      return cat([fBytes(1, node), fBytes(2, node)]);
    },
    // echo the defaults the autoscaler sent: every version's fields come back as it wrote them
    NodeGroupGetOptions: async (req) => {
      await groupOf(req);
      return fBytes(1, raw(req, 2) ?? new Uint8Array(0));
    },
    GPULabel: () => new Uint8Array(0),
    GetAvailableGPUTypes: () => new Uint8Array(0),
    Cleanup: () => new Uint8Array(0),
    Refresh: async () => {
      try {
        await o.stack.read(0);
      } catch (e) {
        throw new RpcError(14, e instanceof CloudError ? e.message : `refresh: ${(e as Error).message}`);
      }
      return new Uint8Array(0);
    },
  };
}

/** A Kubernetes v1.Node (protobuf, k8s.io/api/core/v1 field numbers) as a new member of `g` would register. */
export function templateNode(name: string, g: GroupView, f: Flavor): Uint8Array {
  const quantity = (v: string): Uint8Array => fStr(1, v);
  const memory = Math.max(f.ram - 100, 0); // kubelet's default hard eviction threshold: memory.available<100Mi
  const capacity: Record<string, Uint8Array> = { cpu: quantity(String(f.vcpus)), memory: quantity(`${f.ram}Mi`), pods: quantity('110') };
  if (f.disk > 0) capacity['ephemeral-storage'] = quantity(`${f.disk}Gi`);
  const labels = { ...g.labels, 'kubernetes.io/hostname': name, 'node.kubernetes.io/instance-type': f.name };
  return cat([
    fMsg(1, fStr(1, name), fMap(11, labels)),
    fMsg(2, ...g.taints.map((t) => fMsg(5, fStr(1, t.key), fStr(2, t.value), fStr(3, t.effect)))),
    fMsg(
      3,
      fMap(1, capacity),
      fMap(2, { ...capacity, memory: quantity(`${memory}Mi`) }),
      fStr(3, 'Running'),
      fMsg(4, fStr(1, 'Ready'), fStr(2, 'True')),
    ),
  ]);
}
