/**
 * A small runtime checker for the shapes of public props: one declared spec per props interface, type-linked to the
 * interface (`Spec<T>` names every key of T, so a prop added without a spec fails `tsc`).
 *
 * A spec checks shapes and types only (unknown keys with "did you mean ...?", wrong types, `null`, required keys);
 * the semantic rules (ranges, CIDR overlap, name rules) stay with the constructs and run after the shape check, on
 * values that are known to have the right types. Every failure is a `HotError` naming the construct path, the prop
 * path (`workerGroups[1].bootVolume.sizeGiB`), the rule and the value received.
 */
import { HotError, describeValue } from '../../core/errors.js';
import { isResolvable } from '../../core/tokens.js';

/** A failed check: where (prop path) and what was expected. */
export interface Issue {
  readonly at: string;
  /** The rule, e.g. `must be a string`. */
  readonly rule: string;
  readonly value: unknown;
}

export interface Rule {
  /** What the value must be, for messages (`a string`, `one of amphora, ovn`). */
  readonly expect: string;
  /** An object shape's keys (for unions of shapes). */
  readonly keys?: readonly string[];
  /** The issue with `value` at prop path `at`, or undefined when it fits. */
  check(value: unknown, at: string): Issue | undefined;
}

/** A rule for every key of T (optional keys too): adding a prop to T without adding its rule fails to compile. */
export type Spec<T> = { readonly [K in keyof Required<T>]-?: Rule };

const fail = (at: string, expect: string, value: unknown): Issue => ({ at, rule: `must be ${expect}`, value });

function simple(expect: string, test: (v: unknown) => boolean): Rule {
  return { expect, check: (v, at) => (test(v) ? undefined : fail(at, expect, v)) };
}

/** A string. */
export const str: Rule = simple('a string', (v) => typeof v === 'string');
/** A string, or a deploy-time value (a Heat function or parameter reference). */
export const strInput: Rule = simple(
  'a string or a deploy-time value (Fn..., a parameter)',
  (v) => typeof v === 'string' || isResolvable(v),
);
/** A number (its range is a semantic rule of the construct). */
export const num: Rule = simple('a number', (v) => typeof v === 'number' && !Number.isNaN(v));
export const bool: Rule = simple('true or false', (v) => typeof v === 'boolean');

/** One of the given literal values. */
export function oneOf(values: readonly (string | number | boolean)[]): Rule {
  const expect = values.length === 1 ? describeValue(values[0]) : `one of ${values.map((v) => describeValue(v)).join(', ')}`;
  return simple(expect, (v) => values.includes(v as string));
}

/** Anything a test accepts, described as `expect` (e.g. a construct instance). */
export function custom(expect: string, test: (v: unknown) => boolean): Rule {
  return simple(expect, test);
}

/** A list (array) whose every entry fits `item`. */
export function list(item: Rule): Rule {
  const expect = `a list (each ${item.expect})`;
  return {
    expect,
    check(v, at) {
      if (!Array.isArray(v)) return fail(at, expect, v);
      for (let i = 0; i < v.length; i++) {
        const issue = item.check(v[i], `${at}[${i}]`);
        if (issue) return issue;
      }
      return undefined;
    },
  };
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !isResolvable(v);

/** A map of string keys to values that fit `value` (e.g. node labels). */
export function dict(value: Rule): Rule {
  const expect = `a map of names to values (each ${value.expect})`;
  return {
    expect,
    check(v, at) {
      if (!isPlainObject(v)) return fail(at, expect, v);
      for (const [k, x] of Object.entries(v)) {
        const issue = value.check(x, `${join(at, k)}`);
        if (issue) return issue;
      }
      return undefined;
    },
  };
}

function join(at: string, key: string): string {
  const k = /^[A-Za-z_$][\w$]*$/.test(key) ? key : JSON.stringify(key);
  if (at === '') return k;
  return k.startsWith('"') ? `${at}[${k}]` : `${at}.${k}`;
}

/**
 * An object with exactly the keys of `spec` (each optional unless listed in `required`); `undefined` values count as
 * absent. Unknown keys are refused with the nearest known key ("did you mean ...?").
 */
export function shape<T>(spec: Spec<T>, options: { readonly required?: readonly (keyof T & string)[]; readonly what?: string } = {}): Rule {
  const keys = Object.keys(spec);
  const rules = spec as Readonly<Record<string, Rule>>;
  const required = options.required ?? [];
  const expect = options.what ?? `an object { ${keys.map((k) => (required.includes(k as keyof T & string) ? k : `${k}?`)).join(', ')} }`;
  return {
    expect,
    keys,
    check(v, at) {
      if (!isPlainObject(v)) return fail(at, expect, v);
      for (const k of Object.keys(v)) {
        if (!Object.prototype.hasOwnProperty.call(rules, k)) {
          const near = nearest(k, keys);
          return {
            at: join(at, k),
            rule: `is not a known prop${near ? ` (did you mean ${near}?)` : ''}; known: ${keys.join(', ')}`,
            value: v[k],
          };
        }
      }
      for (const k of required) {
        if (v[k] === undefined) return { at: join(at, k), rule: 'is required', value: undefined };
      }
      for (const k of keys) {
        const x = v[k];
        if (x === undefined) continue;
        const issue = rules[k]!.check(x, join(at, k));
        if (issue) return issue;
      }
      return undefined;
    },
  };
}

/**
 * One of several rules. When none fits an object, the shape whose keys it matches best speaks (so a nested junk value
 * is reported where it is); otherwise the message lists every alternative.
 */
export function anyOf(alternatives: readonly Rule[], what?: string): Rule {
  const expect = what ?? alternatives.map((a) => a.expect).join(' or ');
  return {
    expect,
    check(v, at) {
      const issues: Issue[] = [];
      for (const a of alternatives) {
        const issue = a.check(v, at);
        if (!issue) return undefined;
        issues.push(issue);
      }
      if (isPlainObject(v)) {
        const given = Object.keys(v);
        let best = -1;
        let bestScore = 0;
        let tie = false;
        alternatives.forEach((a, i) => {
          if (!a.keys) return;
          const score = given.filter((k) => a.keys!.includes(k)).length;
          if (score > bestScore) {
            best = i;
            bestScore = score;
            tie = false;
          } else if (score === bestScore && score > 0) tie = true;
        });
        if (best >= 0 && !tie) return issues[best];
        const shapes = alternatives.filter((a) => a.keys);
        if (shapes.length === 1) return issues[alternatives.indexOf(shapes[0]!)];
      }
      return fail(at, expect, v);
    },
  };
}

/** A union of object shapes told apart by a literal key (e.g. `mode`). */
export function tagged<K extends string>(key: K, variants: Readonly<Record<string, Rule>>): Rule {
  const names = Object.keys(variants);
  const expect = `an object with ${key} ${names.map((n) => JSON.stringify(n)).join(', ')}`;
  return {
    expect,
    check(v, at) {
      if (!isPlainObject(v)) return fail(at, expect, v);
      const tag = v[key];
      if (typeof tag !== 'string' || !Object.prototype.hasOwnProperty.call(variants, tag))
        return fail(join(at, key), `one of ${names.map((n) => JSON.stringify(n)).join(', ')}`, tag);
      return variants[tag]!.check(v, at);
    },
  };
}

/** The nearest name within a small edit distance (case-insensitive, adjacent swaps count once, prefixes too), if any. */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  const w = word.toLowerCase();
  for (const c of candidates) {
    const full = c.toLowerCase();
    // a typo of a name's beginning counts too (`sise` for `sizeGiB`), one edit more than the typo itself
    const d = Math.min(editDistance(w, full), w.length >= 3 ? editDistance(w, full.slice(0, w.length)) + 1 : Infinity);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  const limit = Math.max(2, Math.floor(word.length / 3));
  return bestDistance <= limit ? best : undefined;
}

/** Optimal string alignment distance (Levenshtein with adjacent transpositions). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[(i - 1) * cols + j]! + 1, d[i * cols + j - 1]! + 1, d[(i - 1) * cols + j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[(i - 2) * cols + j - 2]! + 1);
      d[i * cols + j] = v;
    }
  }
  return d[rows * cols - 1]!;
}

/**
 * Check `value` against `rule`; throw a HotError at `constructPath` naming the prop path (under `root`, e.g. `props`),
 * the rule and the value received.
 */
export function checkProps(constructPath: string, root: string, rule: Rule, value: unknown): void {
  const issue = rule.check(value, '');
  if (!issue) return;
  const where = issue.at === '' ? root : root === 'props' ? issue.at : `${root}${issue.at.startsWith('[') ? '' : '.'}${issue.at}`;
  throw new HotError(constructPath, `${where} ${issue.rule}; got ${describeValue(issue.value)}`);
}
