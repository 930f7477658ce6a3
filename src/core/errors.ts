/**
 * The one error type of hotk8s. Every message names the construct path, the rule and the value received,
 * e.g. `Cluster/Etcd: size must be odd (1, 3, 5 or 7); got 4`.
 */
const HOT_ERROR = Symbol.for('hotk8s.HotError');

/** True for a HotError from any copy of the library (a user's app may load its own). */
export function isHotError(e: unknown): e is HotError {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[HOT_ERROR] === true;
}

export function isHotValidationError(e: unknown): e is HotValidationError {
  return isHotError(e) && Array.isArray((e as HotValidationError).errors);
}

export class HotError extends Error {
  /** Construct path (or file/location) the error is about. */
  public readonly constructPath: string;
  /** The message without the path prefix. */
  public readonly detail: string;

  constructor(constructPath: string, detail: string) {
    super(`${constructPath || '<root>'}: ${detail}`);
    this.name = 'HotError';
    Object.defineProperty(this, HOT_ERROR, { value: true });
    this.constructPath = constructPath;
    this.detail = detail;
  }
}

/** Several errors at once, as synthesis reports them. */
export class HotValidationError extends HotError {
  public readonly errors: readonly HotError[];

  constructor(errors: readonly HotError[]) {
    super('', `${errors.length} validation error${errors.length === 1 ? '' : 's'}:\n` + errors.map((e) => `  - ${e.message}`).join('\n'));
    this.name = 'HotValidationError';
    this.message = this.detail;
    this.errors = errors;
  }
}

/** Render a received value for an error message, short and unambiguous. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (typeof value === 'function') return 'a function';
  try {
    const text = JSON.stringify(value);
    return text.length > 80 ? text.slice(0, 77) + '...' : text;
  } catch {
    return Object.prototype.toString.call(value);
  }
}
