// summarize() on hand-made recordings: what counts as created, replaced, rebuilt, resized, updated, deleted, and
// how many servers of a role are out of service at once.
import { describe, expect, it } from 'vitest';
import { summarize, type TwinAction } from '../lib/twin.js';

let seq = 0;
function act(path: string, action: string, start: number, end: number, extra: Partial<TwinAction> = {}): TwinAction {
  const role = path.includes('etcd') ? 'etcd' : path.includes('master') ? 'master' : 'worker';
  return { seq: ++seq, type: 'OS::Nova::Server', physicalId: `${path}#1`, path, action, start, end, role, ...extra };
}
const ok = (path: string, t: number, physicalId = `${path}#1`) =>
  act(path, 'signal', t, t, { status: 'SUCCESS', accepted: true, httpStatus: 200, physicalId });

const etcd = (i: number) => `s/etcd/${i}/Server`;
const master = (i: number) => `s/masters/${i}/Server`;
const worker = (i: number) => `s/workers/${i}/Server`;

/** Three of each role created and in service at t=1..2. */
function created(): TwinAction[] {
  seq = 0;
  const out: TwinAction[] = [];
  for (const p of [etcd(0), etcd(1), etcd(2), master(0), master(1), master(2), worker(0), worker(1), worker(2)]) {
    out.push(act(p, 'create', 0, 1), ok(p, 2));
  }
  return out;
}

describe('summarize', () => {
  it('a create: every server created, none out of service (a node never in service is not "out")', () => {
    const all = created();
    const s = summarize(all);
    expect(s.created).toHaveLength(9);
    expect(s.maxOutOfService).toEqual({ etcd: 0, master: 0, worker: 0 });
    expect(s.serverOrder.map((a) => a.action)).toEqual(Array(9).fill('create'));
  });

  it('etcd members rebuilt one after the other: at most one out; overlapping master resizes: two', () => {
    const all = created();
    const since = all[all.length - 1].seq;
    all.push(act(etcd(0), 'rebuild', 10, 12), ok(etcd(0), 13));
    all.push(act(etcd(1), 'rebuild', 14, 16), ok(etcd(1), 17));
    all.push(act(master(0), 'resize', 10, 12), act(master(1), 'resize', 11, 13));
    all.push(act(master(0), 'node-ready', 12, 14), act(master(1), 'node-ready', 13, 15));
    const s = summarize(all, { since });
    expect(s.rebuilt).toEqual([etcd(0), etcd(1)]);
    expect(s.resized).toEqual([master(0), master(1)]);
    expect(s.maxOutOfService).toEqual({ etcd: 1, master: 2, worker: 0 });
    expect(s.serverOrder.map((a) => `${a.action} ${a.path}`)).toEqual([
      `rebuild ${etcd(0)}`,
      `resize ${master(0)}`,
      `resize ${master(1)}`,
      `rebuild ${etcd(1)}`,
    ]);
  });

  it('a replacement: the port moves to a new server; the node is out from the detach until the new server signals', () => {
    const all = created();
    const since = all[all.length - 1].seq;
    const p = worker(1);
    all.push(act(p, 'detach-port', 10, 11));
    all.push(act(p, 'create', 11, 12, { physicalId: `${p}#2`, replaces: `${p}#1` }));
    all.push(ok(p, 13, `${p}#2`));
    all.push(act(p, 'delete', 14, 15)); // the old server goes after the new one serves: no second outage
    const s = summarize(all, { since });
    expect(s.replaced).toEqual([p]);
    expect(s.created).toEqual([]);
    expect(s.deleted).toEqual([]);
    expect(s.resources[p]).toMatchObject({ replaced: 1, deleted: 1, physicalIds: [`${p}#1`, `${p}#2`] });
    expect(s.maxOutOfService).toEqual({ etcd: 0, master: 0, worker: 1 });
  });

  it('a node whose signal Heat refused stays out; a FAILURE does not bring it back', () => {
    const all = created();
    const since = all[all.length - 1].seq;
    all.push(act(master(2), 'rebuild', 10, 11), act(master(2), 'signal', 12, 12, { status: 'SUCCESS', accepted: false, httpStatus: 401 }));
    all.push(act(master(1), 'rebuild', 20, 21), act(master(1), 'signal', 22, 22, { status: 'FAILURE', accepted: true }));
    expect(summarize(all, { since }).maxOutOfService.master).toBe(2);
  });

  it('the window: an outage that began before it still counts; earlier ones do not', () => {
    const all = created();
    all.push(act(worker(0), 'rebuild', 10, 11), act(worker(1), 'rebuild', 10, 11), ok(worker(1), 12)); // worker 0 never comes back
    const since = all[all.length - 1].seq;
    all.push(act(worker(2), 'rebuild', 20, 21), ok(worker(2), 22));
    expect(summarize(all).maxOutOfService.worker).toBe(2);
    expect(summarize(all, { since }).maxOutOfService.worker).toBe(2); // worker 0 (still out) and worker 2
    expect(summarize(all, { since }).rebuilt).toEqual([worker(2)]);
  });

  it('the window opens with two workers out: two, even if the first event in it brings one back', () => {
    const all = created();
    all.push(act(worker(0), 'rebuild', 10, 11), act(worker(1), 'rebuild', 10, 11));
    const since = all[all.length - 1].seq;
    all.push(ok(worker(0), 20));
    expect(summarize(all, { since }).maxOutOfService.worker).toBe(2);
  });

  it('scale-down: the removed servers are deleted, listed as removed and out of service from then on', () => {
    const all = created();
    const since = all[all.length - 1].seq;
    all.push(act(worker(2), 'delete', 10, 11), act(worker(1), 'delete', 10, 11));
    all.push({ seq: ++seq, type: 'OS::Neutron::Port', physicalId: 'p2', path: 's/ports/2/Port', action: 'delete', start: 11, end: 11 });
    const s = summarize(all, { since });
    expect(s.deleted).toEqual(['s/ports/2/Port', worker(1), worker(2)]);
    expect(s.removed).toEqual([worker(1), worker(2)]);
    expect(s.maxOutOfService.worker).toBe(2);
  });

  it('in-place updates (metadata) and a generation change: updated, out while the node drains', () => {
    const all = created();
    const since = all[all.length - 1].seq;
    all.push(act(worker(0), 'update', 10, 10, { changed: { metadata: ['hotk8s-generation'] } }));
    all.push(act(worker(0), 'node-upgrade', 10, 10), ok(worker(0), 15));
    all.push({
      seq: ++seq,
      type: 'OS::Octavia::PoolMember',
      physicalId: 'm',
      path: 's/members/0/Member',
      action: 'update',
      start: 10,
      end: 11,
    });
    const s = summarize(all, { since });
    expect(s.updated).toEqual(['s/members/0/Member', worker(0)]);
    expect(s.maxOutOfService.worker).toBe(1);
  });
});
