/**
 * The OpenStack side: a Keystone token from the application credential (renewed before it expires, and once more on a
 * 401), then plain JSON calls to Heat (this stack only) and Nova (flavors and the group's servers, read only).
 */

export interface OpenStackSettings {
  /** Keystone v3, e.g. https://keystone.example.org:5000/v3 */
  readonly authUrl: string;
  readonly credentialId: string;
  readonly credentialSecret: string;
  /** @default - any region */
  readonly region?: string;
  /** Catalog interface. @default 'public' */
  readonly interface?: string;
}

export interface Reply {
  readonly status: number;
  /** Parsed JSON, or the text when the body is not JSON. */
  readonly body: unknown;
}

interface Token {
  readonly id: string;
  readonly expires: number;
  readonly endpoints: Readonly<Record<'heat' | 'nova', string | undefined>>;
}

/** A failed call, with what the service said. */
export class CloudError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const TIMEOUT_MS = 20_000;

/** The message of an OpenStack error body (`{"error": {"message"}}`, `{"itemNotFound": {"message"}}`, or text). */
export function errorText(body: unknown): string {
  if (typeof body === 'string') return body.slice(0, 400);
  const b = (body ?? {}) as Record<string, { message?: unknown } | undefined>;
  const inner = b.error ?? Object.values(b).find((v) => typeof v === 'object' && v !== null);
  return String(inner?.message ?? JSON.stringify(body)).slice(0, 400);
}

async function reply(r: Response): Promise<Reply> {
  const text = await r.text();
  try {
    return { status: r.status, body: JSON.parse(text) };
  } catch {
    return { status: r.status, body: text };
  }
}

export class OpenStack {
  private token?: Token;

  constructor(private readonly s: OpenStackSettings) {}

  private async auth(): Promise<Token> {
    if (this.token && this.token.expires > Date.now() + 300_000) return this.token;
    const r = await fetch(`${this.s.authUrl.replace(/\/+$/, '')}/auth/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        auth: {
          identity: {
            methods: ['application_credential'],
            application_credential: { id: this.s.credentialId, secret: this.s.credentialSecret },
          },
        },
      }),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    const { status, body } = await reply(r);
    const id = r.headers.get('x-subject-token');
    if (status !== 201 || !id) throw new CloudError(status, `Keystone refused the application credential: ${status} ${errorText(body)}`);
    const t = (body as { token: { expires_at: string; catalog?: Catalog[] } }).token;
    const find = (type: string): string | undefined =>
      t.catalog
        ?.find((c) => c.type === type)
        ?.endpoints.find((e) => e.interface === (this.s.interface ?? 'public') && (!this.s.region || e.region_id === this.s.region))
        ?.url.replace(/\/+$/, '');
    this.token = { id, expires: Date.parse(t.expires_at), endpoints: { heat: find('orchestration'), nova: find('compute') } };
    return this.token;
  }

  /** One call to `service`; `path` is relative to its catalog endpoint. Retries once with a new token on 401. */
  async call(service: 'heat' | 'nova', method: string, path: string, body?: unknown): Promise<Reply> {
    for (let attempt = 0; ; attempt++) {
      const t = await this.auth();
      const base = t.endpoints[service];
      if (!base)
        throw new CloudError(
          0,
          `the Keystone catalog has no ${this.s.interface ?? 'public'} ${service === 'heat' ? 'orchestration' : 'compute'} endpoint`,
        );
      const r = await fetch(base + path, {
        method,
        headers: {
          'x-auth-token': t.id,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      if (r.status === 401 && attempt === 0) {
        this.token = undefined;
        continue;
      }
      return reply(r);
    }
  }
}

interface Catalog {
  readonly type: string;
  readonly endpoints: readonly { readonly interface: string; readonly region_id?: string; readonly url: string }[];
}
