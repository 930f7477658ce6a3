/** Partial matchers for HotTemplate assertions, in the manner of CDK's assertions module. */
export abstract class Matcher {
  abstract readonly name: string;
  /** Returns a list of mismatch descriptions (empty when it matches). */
  abstract test(actual: unknown, path: string): string[];
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Match `expected` against `actual`: plain objects match partially (objectLike), arrays exactly by position. */
export function matchValue(expected: unknown, actual: unknown, path: string): string[] {
  if (expected instanceof Matcher) return expected.test(actual, path);
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return [`${path}: expected a list, got ${JSON.stringify(actual)}`];
    if (actual.length !== expected.length) return [`${path}: expected ${expected.length} items, got ${actual.length}`];
    return expected.flatMap((e, i) => matchValue(e, actual[i], `${path}[${i}]`));
  }
  if (isObject(expected)) return Match.objectLike(expected).test(actual, path);
  if (expected !== actual) return [`${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`];
  return [];
}

export class Match {
  private constructor() {}

  /** The object has at least these keys, each matching (recursively partial). */
  static objectLike(pattern: Record<string, unknown>): Matcher {
    return new (class extends Matcher {
      readonly name = 'objectLike';
      test(actual: unknown, path: string): string[] {
        if (!isObject(actual)) return [`${path}: expected an object, got ${JSON.stringify(actual)}`];
        return Object.entries(pattern).flatMap(([k, v]) => matchValue(v, actual[k], `${path}.${k}`));
      }
    })();
  }

  /** Exactly this value: objects must have exactly these keys (values still matched with matchers). */
  static exact(pattern: unknown): Matcher {
    return new (class extends Matcher {
      readonly name = 'exact';
      test(actual: unknown, path: string): string[] {
        if (isObject(pattern)) {
          if (!isObject(actual)) return [`${path}: expected an object, got ${JSON.stringify(actual)}`];
          const extra = Object.keys(actual).filter((k) => !(k in pattern));
          const missing = Object.keys(pattern).filter((k) => pattern[k] !== undefined && !(k in actual));
          const out = [...extra.map((k) => `${path}.${k}: unexpected key`), ...missing.map((k) => `${path}.${k}: missing key`)];
          return out.length > 0
            ? out
            : Object.entries(pattern).flatMap(([k, v]) =>
                matchValue(isObject(v) && !(v instanceof Matcher) ? Match.exact(v) : v, actual[k], `${path}.${k}`),
              );
        }
        return matchValue(pattern, actual, path);
      }
    })();
  }

  /** A list that contains items matching each pattern, in this order (other items may stand between). */
  static arrayWith(patterns: unknown[]): Matcher {
    return new (class extends Matcher {
      readonly name = 'arrayWith';
      test(actual: unknown, path: string): string[] {
        if (!Array.isArray(actual)) return [`${path}: expected a list, got ${JSON.stringify(actual)}`];
        let i = 0;
        for (const p of patterns) {
          while (i < actual.length && matchValue(p, actual[i], path).length > 0) i++;
          if (i >= actual.length) return [`${path}: no item matches ${JSON.stringify(p)} (in order) in ${JSON.stringify(actual)}`];
          i++;
        }
        return [];
      }
    })();
  }

  /** The key is absent (or undefined). */
  static absent(): Matcher {
    return new (class extends Matcher {
      readonly name = 'absent';
      test(actual: unknown, path: string): string[] {
        return actual === undefined ? [] : [`${path}: expected absent, got ${JSON.stringify(actual)}`];
      }
    })();
  }

  /** Any value that is present. */
  static anyValue(): Matcher {
    return new (class extends Matcher {
      readonly name = 'anyValue';
      test(actual: unknown, path: string): string[] {
        return actual === undefined || actual === null ? [`${path}: expected a value, got ${String(actual)}`] : [];
      }
    })();
  }

  /** A string matching a regular expression. */
  static stringLikeRegexp(pattern: string | RegExp): Matcher {
    const re = typeof pattern === 'string' ? new RegExp(pattern) : pattern;
    return new (class extends Matcher {
      readonly name = 'stringLikeRegexp';
      test(actual: unknown, path: string): string[] {
        return typeof actual === 'string' && re.test(actual)
          ? []
          : [`${path}: expected a string matching ${re}, got ${JSON.stringify(actual)}`];
      }
    })();
  }

  /** Negation. */
  static not(pattern: unknown): Matcher {
    return new (class extends Matcher {
      readonly name = 'not';
      test(actual: unknown, path: string): string[] {
        return matchValue(pattern, actual, path).length === 0 ? [`${path}: expected not to match ${JSON.stringify(pattern)}`] : [];
      }
    })();
  }
}
