/** IPv4 address and CIDR arithmetic for synth-time cross-checks. Pure functions; errors are plain strings for the caller to wrap. */

export interface Ipv4Cidr {
  /** The CIDR as written. */
  readonly text: string;
  /** Network address as an unsigned 32-bit number. */
  readonly network: number;
  readonly prefix: number;
  /** Number of addresses in the block. */
  readonly size: number;
}

const ADDRESS = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Parses a dotted-quad IPv4 address; undefined when malformed. */
export function parseIpv4(text: string): number | undefined {
  if (typeof text !== 'string') return undefined;
  const m = ADDRESS.exec(text);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  if (octets.some((o, i) => o > 255 || (m[i + 1]!.length > 1 && m[i + 1]!.startsWith('0')))) return undefined;
  return octets.reduce((a, o) => a * 256 + o, 0);
}

export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(value / 2 ** s) % 256).join('.');
}

/**
 * Parses `a.b.c.d/n`. Returns a reason string when it is not a valid IPv4 CIDR with no host bits set.
 */
export function parseCidr(text: unknown): Ipv4Cidr | string {
  if (typeof text !== 'string')
    return `must be an IPv4 CIDR like 10.0.0.0/24; got ${text === undefined ? 'undefined' : JSON.stringify(text)}`;
  const slash = text.indexOf('/');
  const addr = slash > 0 ? parseIpv4(text.slice(0, slash)) : undefined;
  const prefixText = slash > 0 ? text.slice(slash + 1) : '';
  const prefix = /^\d{1,2}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (addr === undefined || !(prefix >= 0 && prefix <= 32)) {
    return `must be an IPv4 CIDR like 10.0.0.0/24; got ${JSON.stringify(text)}`;
  }
  const size = 2 ** (32 - prefix);
  if (addr % size !== 0) return `must be a network address (no host bits set for /${prefix}); got ${JSON.stringify(text)}`;
  return { text, network: addr, prefix, size };
}

export function cidrsOverlap(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
  return a.network < b.network + b.size && b.network < a.network + a.size;
}

export function cidrContains(c: Ipv4Cidr, address: number): boolean {
  return address >= c.network && address < c.network + c.size;
}

/** The address `offset` places into the block (negative counts from the broadcast address). */
export function nthAddress(c: Ipv4Cidr, offset: number): number {
  return offset >= 0 ? c.network + offset : c.network + c.size + offset;
}
