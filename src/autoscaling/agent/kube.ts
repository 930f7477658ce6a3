/**
 * The Kubernetes side, in-cluster: the service account's token (read again for every call: it is rotated), the API
 * server's address from the environment (`NODE_EXTRA_CA_CERTS` points Node at the service account's CA). Nodes,
 * core/v1 Events and a coordination.k8s.io Lease for the leader election.
 */
import { readFileSync } from 'node:fs';

export interface KubeNode {
  readonly metadata: { readonly name: string; readonly annotations?: Record<string, string>; readonly labels?: Record<string, string> };
  readonly spec?: { readonly providerID?: string; readonly unschedulable?: boolean };
  readonly status?: {
    readonly conditions?: readonly { readonly type: string; readonly status: string; readonly lastTransitionTime?: string }[];
  };
}

/** What an Event is about. */
export interface ObjectRef {
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
  readonly apiVersion?: string;
}

const SA = '/var/run/secrets/kubernetes.io/serviceaccount';

/** RFC 3339 with microseconds (a Lease's MicroTime). */
const microTime = (d: Date): string => d.toISOString().replace(/Z$/, '000Z');
/** RFC 3339 to the second (an Event's timestamps). */
const time = (d: Date): string => d.toISOString().replace(/\.\d+Z$/, 'Z');

export class Kube {
  private readonly base: string;

  constructor(
    env: NodeJS.ProcessEnv,
    private readonly component: string,
    private readonly instance: string,
  ) {
    this.base = env.HOTK8S_KUBE_API ?? `https://${env.KUBERNETES_SERVICE_HOST}:${env.KUBERNETES_SERVICE_PORT ?? 443}`;
  }

  async req(method: string, path: string, body?: unknown, type = 'application/json'): Promise<{ status: number; body: unknown }> {
    let token = '';
    try {
      token = readFileSync(process.env.HOTK8S_KUBE_TOKEN_FILE ?? `${SA}/token`, 'utf8').trim();
    } catch {
      // no token (a test API that needs none)
    }
    const r = await fetch(this.base + path, {
      method,
      headers: {
        accept: 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body ? { 'content-type': type } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(20_000),
    });
    const text = await r.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // keep the text
    }
    return { status: r.status, body: parsed };
  }

  private async ok(method: string, path: string, body?: unknown, type?: string): Promise<unknown> {
    const r = await this.req(method, path, body, type);
    if (r.status >= 300 && !(method === 'DELETE' && r.status === 404)) {
      throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
    }
    return r.body;
  }

  async nodes(): Promise<KubeNode[]> {
    return ((await this.ok('GET', '/api/v1/nodes')) as { items: KubeNode[] }).items;
  }

  /** A JSON merge patch of a node (cordon, provider id). */
  patchNode(name: string, patch: unknown): Promise<unknown> {
    return this.ok('PATCH', `/api/v1/nodes/${name}`, patch, 'application/merge-patch+json');
  }

  deleteNode(name: string): Promise<unknown> {
    return this.ok('DELETE', `/api/v1/nodes/${name}`);
  }

  /** A core/v1 Event about `about`; failures are the caller's log line, never an exception. */
  async event(about: ObjectRef, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const now = time(new Date());
    const ns = about.namespace ?? 'default';
    await this.ok('POST', `/api/v1/namespaces/${ns}/events`, {
      metadata: { generateName: `${about.name}.`, namespace: ns },
      involvedObject: {
        apiVersion: about.apiVersion ?? 'v1',
        kind: about.kind,
        name: about.name,
        ...(about.namespace ? { namespace: ns } : {}),
      },
      reason,
      message: message.slice(0, 1000),
      type,
      source: { component: this.component },
      reportingComponent: this.component,
      reportingInstance: this.instance,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    });
  }

  /**
   * Takes or renews the Lease `namespace/name` for `this.instance`: true while we hold it. A lease held by another whose
   * renewal is older than its duration is taken over; a conflicting write (someone else got there first) is a no.
   */
  async lease(namespace: string, name: string, durationSec: number): Promise<boolean> {
    const path = `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`;
    const now = new Date();
    const got = await this.req('GET', `${path}/${name}`);
    if (got.status === 404) {
      const spec = {
        holderIdentity: this.instance,
        leaseDurationSeconds: durationSec,
        acquireTime: microTime(now),
        renewTime: microTime(now),
        leaseTransitions: 0,
      };
      return (
        (await this.req('POST', path, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec }))
          .status === 201
      );
    }
    if (got.status !== 200) throw new Error(`GET lease ${namespace}/${name}: ${got.status}`);
    const lease = got.body as { spec?: Record<string, unknown> };
    const spec = (lease.spec ??= {});
    const mine = spec.holderIdentity === this.instance;
    const renewed = Date.parse(String(spec.renewTime ?? '')) || 0;
    if (!mine && renewed + Number(spec.leaseDurationSeconds ?? durationSec) * 1000 > now.getTime()) return false;
    if (!mine) {
      spec.acquireTime = microTime(now);
      spec.leaseTransitions = Number(spec.leaseTransitions ?? 0) + 1;
    }
    Object.assign(spec, { holderIdentity: this.instance, leaseDurationSeconds: durationSec, renewTime: microTime(now) });
    return (await this.req('PUT', `${path}/${name}`, lease)).status === 200;
  }
}
