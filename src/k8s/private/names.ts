/** Name rules of Heat, Nova and Kubernetes, checked at synth so that a bad name fails here and not in the cloud. */
import { HotError, describeValue } from '../../core/errors.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A DNS-1123 label (Kubernetes node names, hostnames): lower case, digits, '-', at most `max` characters. */
export function checkDnsLabel(path: string, what: string, value: unknown, max = 63): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max || !DNS_LABEL.test(value)) {
    throw new HotError(
      path,
      `${what} must be a DNS label (lower case letters, digits and '-', starting and ending with a letter or digit, at most ${max} characters); got ${describeValue(value)}`,
    );
  }
  return value;
}

/** A Kubernetes label key: optional DNS-subdomain prefix and '/', then a name of at most 63 characters. */
export function checkLabelKey(path: string, what: string, key: string): void {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  const prefixOk = prefix === undefined || (prefix.length > 0 && prefix.length <= 253 && DNS_SUBDOMAIN.test(prefix));
  if (!prefixOk || name.length === 0 || name.length > 63 || !LABEL_NAME.test(name)) {
    throw new HotError(
      path,
      `${what} key must be [prefix/]name with a DNS-subdomain prefix and a name of at most 63 letters, digits, '-', '_' or '.'; got ${describeValue(key)}`,
    );
  }
}

/** A Kubernetes label value: empty, or at most 63 letters, digits, '-', '_' or '.' starting and ending alphanumeric. */
export function checkLabelValue(path: string, what: string, value: unknown): void {
  if (typeof value !== 'string' || value.length > 63 || (value.length > 0 && !LABEL_NAME.test(value))) {
    throw new HotError(
      path,
      `${what} value must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit; got ${describeValue(value)}`,
    );
  }
}

export type TaintEffect = 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
export const TAINT_EFFECTS: readonly TaintEffect[] = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];

export interface Taint {
  readonly key: string;
  /** @default '' */
  readonly value?: string;
  readonly effect: TaintEffect;
}

export function checkTaint(path: string, taint: Taint): void {
  if (typeof taint !== 'object' || taint === null)
    throw new HotError(path, `a taint must be { key, value?, effect }; got ${describeValue(taint)}`);
  checkLabelKey(path, 'taint', taint.key);
  if (taint.value !== undefined) checkLabelValue(path, `taint ${taint.key}`, taint.value);
  if (!TAINT_EFFECTS.includes(taint.effect)) {
    throw new HotError(path, `taint ${taint.key} effect must be one of ${TAINT_EFFECTS.join(', ')}; got ${describeValue(taint.effect)}`);
  }
}

/** A whole number within bounds. */
export function checkInt(path: string, what: string, value: unknown, min: number, max: number = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `${min}..${max}`;
    throw new HotError(path, `${what} must be a whole number ${range}; got ${describeValue(value)}`);
  }
  return value;
}

export function checkOneOf<T extends string>(path: string, what: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) throw new HotError(path, `${what} must be one of ${allowed.join(', ')}; got ${describeValue(value)}`);
  return value as T;
}
