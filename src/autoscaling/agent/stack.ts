/**
 * This stack as the agent sees it (status, parameters, the autoscaling output), and the one path by which the agent
 * changes it: a queue of group changes applied as PATCH stack updates, one at a time. A change waits while the stack
 * is *_IN_PROGRESS (a user's update, or our previous one) and is then computed from the parameters Heat holds at that
 * moment, so a user's own parameters are never overwritten: the PATCH names only the count and removal list of the
 * groups it changes, and a removal list keeps every name already in it.
 */
import { AUTOSCALING_OUTPUT, type AutoscalingView, type GroupView } from './config.js';
import { RpcError } from './grpc.js';
import { CloudError, errorText, type OpenStack } from './openstack.js';
import type { ObjectRef } from './kube.js';

export interface Snapshot {
  readonly status: string;
  readonly reason: string;
  readonly params: Record<string, string>;
  readonly view: AutoscalingView;
  readonly at: number;
}

/** A group change: `add` to the count, and server names to remove (the count drops by as many unless `replace`). */
interface Change {
  readonly group: string;
  readonly add: number;
  readonly remove: readonly string[];
  /** Keep the count: the removed members are replaced by new ones. */
  readonly replace: boolean;
  readonly why: string;
  readonly done: (error?: Error) => void;
}

export type Notify = (type: 'Normal' | 'Warning', reason: string, message: string, about?: ObjectRef) => void;

export const inProgress = (status: string): boolean => status.endsWith('_IN_PROGRESS');

/** A removal list parameter's names ('a,b' or '' as Heat shows a comma_delimited_list). */
export const listOf = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** The member a server name stands for in `g`, when it is one. */
export function memberOf(g: GroupView, name: string): string | undefined {
  const m = name.startsWith(g.prefix) ? name.slice(g.prefix.length) : '';
  return /^\d+$/.test(m) && g.servers && m in g.servers ? m : undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class Stack {
  snap?: Snapshot;
  /** Changes not yet sent, in arrival order. */
  private pending: Change[] = [];
  private running = false;
  private reading?: Promise<Snapshot>;
  /** Counts our own PATCHes: a read begun before one must not replace the snapshot that one wrote. */
  private generation = 0;
  /** Set while our update runs; the outcome of the last one. */
  busy = false;
  /**
   * The last update of ours that failed (cleared when one completes): Heat's reason, and per group the members that
   * update brought (in the output after it, not before). On a cloud a failed worker usually has its server (Nova built
   * it; its bootstrap signalled FAILURE or never signalled), so a member's server id alone does not tell it is healthy.
   */
  lastFailure?: { readonly at: number; readonly reason: string; readonly added: Readonly<Record<string, readonly string[]>> };

  constructor(
    private readonly cloud: OpenStack,
    /** `<name>/<id>` */
    readonly id: string,
    private readonly notify: Notify,
    private readonly retryMs = 5000,
  ) {}

  /** A snapshot no older than `maxAgeMs` (concurrent callers share one read). */
  async read(maxAgeMs = 5000): Promise<Snapshot> {
    if (this.snap && Date.now() - this.snap.at < maxAgeMs) return this.snap;
    this.reading ??= this.fetch().finally(() => (this.reading = undefined));
    return this.reading;
  }

  /**
   * Heat's status and parameters of the stack alone. heat-api answers this from its database; the output, by
   * contrast, makes heat-engine load every worker group's nested stack to resolve the members' server ids, which on
   * the Heat twin took 0.3 to 6.5 s per read while an update ran (and slowed that update). So an update is watched
   * with this, and the output is read once it ended.
   */
  private async state(): Promise<Pick<Snapshot, 'status' | 'reason' | 'params'>> {
    const s = await this.cloud.call('heat', 'GET', `/stacks/${this.id}?resolve_outputs=false`);
    if (s.status !== 200) throw new CloudError(s.status, `GET stack ${this.id}: ${s.status} ${errorText(s.body)}`);
    const st = (s.body as { stack: { stack_status: string; stack_status_reason?: string; parameters: Record<string, string> } }).stack;
    return { status: st.stack_status, reason: st.stack_status_reason ?? '', params: st.parameters };
  }

  private async fetch(): Promise<Snapshot> {
    for (;;) {
      const generation = this.generation;
      const st = await this.state();
      const o = await this.cloud.call('heat', 'GET', `/stacks/${this.id}/outputs/${AUTOSCALING_OUTPUT}`);
      const out = (o.body as { output?: { output_value?: AutoscalingView; output_error?: string } })?.output;
      if (o.status !== 200 || !out?.output_value?.groups) {
        throw new CloudError(o.status, `GET output ${AUTOSCALING_OUTPUT}: ${o.status} ${out?.output_error ?? errorText(o.body)}`);
      }
      // Our own update was sent while this read ran (the output takes seconds while heat-engine is busy): what it
      // read may predate that update, and would hand the autoscaler the old count. Read again.
      if (generation !== this.generation) continue;
      this.snap = { ...st, view: out.output_value, at: Date.now() };
      return this.snap;
    }
  }

  /** The count the autoscaler should see: Heat's, plus what is queued. */
  target(group: string, s: Snapshot): number {
    const g = s.view.groups[group]!;
    return this.pending
      .filter((c) => c.group === group)
      .reduce((n, c) => n + c.add - (c.replace ? 0 : c.remove.length), Number(s.params[g.count]));
  }

  /** Queued additions to a group (not yet sent to Heat). */
  queuedAdd(group: string): number {
    return this.pending.filter((c) => c.group === group).reduce((n, c) => n + c.add, 0);
  }

  /** Drops up to `n` queued additions of a group; returns how many were dropped. */
  unqueue(group: string, n: number): number {
    let left = n;
    this.pending = this.pending.flatMap((c) => {
      if (c.group !== group || c.add <= 0 || left === 0 || c.remove.length) return [c];
      const cut = Math.min(left, c.add);
      left -= cut;
      if (cut === c.add) {
        c.done();
        return [];
      }
      return [{ ...c, add: c.add - cut }];
    });
    return n - left;
  }

  /** Whether a server name is queued for removal or already in its group's removal list. */
  removing(g: GroupView, name: string, s: Snapshot): boolean {
    return listOf(s.params[g.remove]).includes(name) || this.pending.some((c) => c.remove.includes(name));
  }

  /**
   * Queues a change; resolves once Heat accepted the update that carries it, rejects when Heat or a range check refuses
   * it. `waitMs` bounds the wait: after it the change stays queued (resolved 'queued'). With `replace` the named members
   * are replaced (the count kept), else removed (the count lowered as much).
   */
  change(
    group: string,
    add: number,
    remove: readonly string[],
    why: string,
    waitMs: number,
    replace = false,
  ): Promise<'accepted' | 'queued'> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        settled = true;
        resolve('queued');
      }, waitMs);
      this.pending.push({
        group,
        add,
        remove,
        replace,
        why,
        done: (error) => {
          clearTimeout(timer);
          if (!settled) {
            settled = true;
            if (error) reject(error);
            else resolve('accepted');
          }
        },
      });
      void this.run();
    });
  }

  private async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    let waiting = '';
    try {
      while (this.pending.length) {
        let status: string;
        let s: Snapshot | undefined;
        try {
          // while an update runs only its status is polled; the output is read when a change can go
          status = (await this.state()).status;
          if (!inProgress(status)) {
            s = await this.read(0);
            status = s.status;
          }
        } catch (e) {
          this.notify('Warning', 'StackUnreadable', (e as Error).message);
          await sleep(this.retryMs);
          continue;
        }
        if (!s || inProgress(status)) {
          if (waiting !== status) this.notify('Normal', 'StackBusy', `stack is ${status}: ${this.pending.length} change(s) wait for it`);
          waiting = status;
          await sleep(this.retryMs);
          continue;
        }
        waiting = '';
        await this.apply(s);
      }
    } finally {
      this.running = false;
    }
  }

  /** One PATCH carrying every queued change that fits its group's range. */
  private async apply(s: Snapshot): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    const params: Record<string, string> = {};
    const sent: Change[] = [];
    for (const c of batch) {
      const g = s.view.groups[c.group];
      if (!g) {
        c.done(new RpcError(5, `no worker group ${c.group} in stack ${this.id}`));
        continue;
      }
      const list = listOf(params[g.remove] ?? s.params[g.remove]);
      const names = c.remove.filter((n) => !list.includes(n));
      const stranger = names.find((n) => memberOf(g, n) === undefined);
      // a name listed already is being removed by an earlier update: nothing more to do for it, count included
      const count = Number(params[g.count] ?? s.params[g.count]) + c.add - (c.replace ? 0 : names.length);
      if (stranger !== undefined) c.done(new RpcError(5, `${stranger} is not a member of worker group ${c.group}`));
      else if (count < g.min || count > g.max)
        c.done(new RpcError(9, `worker group ${c.group} would hold ${count} workers, outside its range ${g.min}..${g.max}`));
      else if (!c.add && !names.length)
        c.done(); // nothing left to change
      else {
        params[g.count] = String(count);
        if (names.length) params[g.remove] = [...list, ...names].join(',');
        sent.push(c);
      }
    }
    if (!sent.length) return;
    const what = Object.entries(params)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    let r;
    this.generation++;
    try {
      r = await this.cloud.call('heat', 'PATCH', `/stacks/${this.id}`, { parameters: params });
    } catch (e) {
      r = { status: 0, body: (e as Error).message };
    }
    if (r.status === 409 || r.status === 0 || r.status >= 500) {
      // in progress after all (another client was quicker), or Heat unreachable: try again after the pause
      this.notify('Warning', 'StackUpdateRetry', `stack update ${what} not accepted yet: ${r.status} ${errorText(r.body)}`);
      this.pending.unshift(...sent);
      await sleep(this.retryMs);
      return;
    }
    if (r.status !== 202) {
      const error = new RpcError(9, `Heat refused stack update ${what}: ${r.status} ${errorText(r.body)}`);
      this.notify('Warning', 'StackUpdateRefused', error.message);
      for (const c of sent) c.done(error);
      return;
    }
    // Heat holds the new parameters from now on; what we read next must not count the changes twice
    this.generation++;
    this.snap = { ...s, status: 'UPDATE_IN_PROGRESS', params: { ...s.params, ...params }, at: Date.now() };
    for (const c of sent) c.done();
    this.notify('Normal', 'StackUpdate', `stack update ${what} (${sent.map((c) => c.why).join('; ')})`);
    await this.watch(what, s);
  }

  /** Waits for our update to end and reports how it ended. */
  private async watch(what: string, before: Snapshot): Promise<void> {
    this.busy = true;
    try {
      for (;;) {
        await sleep(this.retryMs);
        let s: Pick<Snapshot, 'status' | 'reason'>;
        try {
          s = await this.state();
        } catch {
          continue;
        }
        if (inProgress(s.status)) continue;
        // the members changed: one read of the output for the autoscaler's next questions
        const after = await this.read(0).catch(() => undefined);
        if (s.status.endsWith('_COMPLETE')) {
          this.lastFailure = undefined;
          this.notify('Normal', 'StackUpdateComplete', `stack update ${what}: ${s.status}`);
        } else {
          const added: Record<string, string[]> = {};
          for (const [id, g] of Object.entries(after?.view.groups ?? {})) {
            const old = before.view.groups[id]?.servers ?? {};
            added[id] = Object.keys(g.servers ?? {}).filter((m) => !(m in old));
          }
          this.lastFailure = { at: Date.now(), reason: s.reason, added };
          this.notify('Warning', 'StackUpdateFailed', `stack update ${what}: ${s.status}: ${s.reason}`);
        }
        return;
      }
    } finally {
      this.busy = false;
    }
  }

  /** Nothing queued and no update of ours running. */
  get idle(): boolean {
    return !this.running && !this.pending.length;
  }
}
