/**
 * The creation critical path of a HOT bundle (root template plus nested templates) under a simple latency model,
 * computed from the dependency graph Heat builds: `depends_on`, `get_resource` and `get_attr` edges.
 *
 * Model (from the topology issue): 90 s per server boot, 120 s per Octavia load balancer, 10 s per listener, pool,
 * member or health monitor, 2-5 s per Neutron resource (`neutronSec`, 5 by default: the upper bound), 300 s per
 * bootstrap round. A wait condition completes `bootstrapSec` after the last server that signals its handle (the
 * servers whose properties refer to the handle) is ACTIVE. A ResourceGroup or template resource takes as long as
 * its member template's own critical path (members are created in parallel). Resources the model does not name
 * (handles, random strings, server groups, values) take 0 s; Cinder volumes take `volumeSec`.
 */

export interface LatencyModel {
  readonly serverSec: number;
  readonly loadBalancerSec: number;
  readonly octaviaChildSec: number;
  readonly neutronSec: number;
  readonly bootstrapSec: number;
  readonly volumeSec: number;
}

export const ISSUE_LATENCY_MODEL: LatencyModel = {
  serverSec: 90,
  loadBalancerSec: 120,
  octaviaChildSec: 10,
  neutronSec: 5,
  bootstrapSec: 300,
  volumeSec: 10,
};

export interface PathStep {
  /** Template file the resource is in. */
  readonly file: string;
  readonly logicalId: string;
  readonly type: string;
  readonly startSec: number;
  readonly finishSec: number;
}

export interface CriticalPath {
  readonly totalSec: number;
  /** From the first resource to the last to finish, in creation order (nested members spliced in). */
  readonly steps: readonly PathStep[];
}

type Doc = Record<string, unknown>;

/** Logical ids a value refers to through get_resource / get_attr. */
function references(value: unknown, out: Set<string>): void {
  if (Array.isArray(value)) {
    for (const v of value) references(v, out);
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Doc)) {
      if (k === 'get_resource' && typeof v === 'string') out.add(v);
      else if (k === 'get_attr' && Array.isArray(v) && typeof v[0] === 'string') {
        out.add(v[0]);
        references(v.slice(1), out);
      } else references(v, out);
    }
  }
}

function baseDuration(type: string, m: LatencyModel): number {
  if (type === 'OS::Nova::Server') return m.serverSec;
  if (type === 'OS::Octavia::LoadBalancer') return m.loadBalancerSec;
  if (/^OS::Octavia::(Listener|Pool|PoolMember|HealthMonitor)$/.test(type)) return m.octaviaChildSec;
  if (type.startsWith('OS::Neutron::')) return m.neutronSec;
  if (type === 'OS::Cinder::Volume' || type === 'OS::Cinder::VolumeAttachment') return m.volumeSec;
  return 0;
}

/**
 * Critical path of `file` within `files` (file name -> parsed HOT document).
 */
export function criticalPath(files: ReadonlyMap<string, unknown>, file: string, model: LatencyModel = ISSUE_LATENCY_MODEL): CriticalPath {
  const memo = new Map<string, CriticalPath>();
  const visiting = new Set<string>();

  const pathOf = (name: string): CriticalPath => {
    const cached = memo.get(name);
    if (cached) return cached;
    if (visiting.has(name)) throw new Error(`template ${name} uses itself`);
    const doc = files.get(name) as Doc | undefined;
    if (!doc) throw new Error(`template ${name} is not in the bundle`);
    visiting.add(name);
    const resources = (doc.resources ?? {}) as Record<string, Doc>;
    const deps = new Map<string, Set<string>>();
    for (const [id, r] of Object.entries(resources)) {
      const set = new Set<string>();
      const dependsOn = r.depends_on;
      for (const d of Array.isArray(dependsOn) ? dependsOn : dependsOn ? [dependsOn] : []) set.add(String(d));
      references(r.properties, set);
      set.delete(id);
      deps.set(id, new Set([...set].filter((d) => d in resources)));
    }
    // Servers that signal each handle: servers whose properties refer to it.
    const signallers = new Map<string, string[]>();
    for (const [id, r] of Object.entries(resources)) {
      if (r.type !== 'OS::Nova::Server') continue;
      const refs = new Set<string>();
      references(r.properties, refs);
      for (const h of refs) signallers.set(h, [...(signallers.get(h) ?? []), id]);
    }
    const finish = new Map<string, number>();
    const pred = new Map<string, string | undefined>();
    const inner = new Map<string, CriticalPath>();
    const done = new Set<string>();
    const stack: string[] = [];
    const evalRes = (id: string): number => {
      if (done.has(id)) return finish.get(id)!;
      if (stack.includes(id)) throw new Error(`dependency cycle in ${name}: ${[...stack, id].join(' -> ')}`);
      stack.push(id);
      const r = resources[id]!;
      const type = String(r.type);
      let start = 0;
      let p: string | undefined;
      for (const d of [...deps.get(id)!].sort()) {
        const f = evalRes(d);
        if (p === undefined || f > start) {
          start = f;
          p = d;
        }
      }
      let f = start + baseDuration(type, model);
      let nestedName: string | undefined;
      if (type === 'OS::Heat::ResourceGroup') nestedName = String(((r.properties as Doc)?.resource_def as Doc)?.type ?? '');
      else if (files.has(type)) nestedName = type;
      if (nestedName && files.has(nestedName)) {
        const cp = pathOf(nestedName);
        inner.set(id, cp);
        f = start + cp.totalSec;
      }
      if (type === 'OS::Heat::WaitCondition') {
        const handle = [...deps.get(id)!].find((d) => resources[d]?.type === 'OS::Heat::WaitConditionHandle');
        for (const s of handle ? (signallers.get(handle) ?? []) : []) {
          const sf = evalRes(s) + model.bootstrapSec;
          if (sf > f) {
            f = sf;
            p = s;
          }
        }
      }
      finish.set(id, f);
      pred.set(id, p);
      done.add(id);
      stack.pop();
      return f;
    };
    let last: string | undefined;
    let total = 0;
    for (const id of Object.keys(resources).sort()) {
      const f = evalRes(id);
      if (last === undefined || f > total) {
        total = f;
        last = id;
      }
    }
    const chain: string[] = [];
    for (let cur = last; cur !== undefined; cur = pred.get(cur)) chain.unshift(cur);
    const steps: PathStep[] = [];
    for (const id of chain) {
      const f = finish.get(id)!;
      const sub = inner.get(id);
      const type = String(resources[id]!.type);
      if (sub) {
        const start = f - sub.totalSec;
        steps.push({ file: name, logicalId: id, type, startSec: start, finishSec: f });
        for (const s of sub.steps) steps.push({ ...s, startSec: s.startSec + start, finishSec: s.finishSec + start });
      } else {
        const prevFinish = steps.length > 0 ? steps[steps.length - 1]!.finishSec : 0;
        const dur = type === 'OS::Heat::WaitCondition' ? f - prevFinish : baseDuration(type, model);
        steps.push({ file: name, logicalId: id, type, startSec: f - dur, finishSec: f });
      }
    }
    visiting.delete(name);
    const result = { totalSec: total, steps };
    memo.set(name, result);
    return result;
  };
  return pathOf(file);
}
