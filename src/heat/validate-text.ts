/** Wording helpers for validation messages. */

/** A short rendering of a received value for a message: `"abc"`, `42`, `a list of 3`, `{get_attr: ...}`. */
export function describeJson(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) {
    const text = JSON.stringify(value);
    return text.length <= 60 ? `the list ${text}` : `a list of ${value.length}`;
  }
  if (typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 1) {
      const text = JSON.stringify(value);
      return text.length <= 60 ? `the map ${text}` : `a map with key \`${keys[0]}\``;
    }
    return `a map with keys ${keys
      .slice(0, 5)
      .map((k) => `\`${k}\``)
      .join(', ')}${keys.length > 5 ? ', ...' : ''}`;
  }
  const text = JSON.stringify(value);
  return text.length <= 80 ? text : `${text.slice(0, 77)}..."`;
}

function distance(a: string, b: string): number {
  const d: number[] = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j]!;
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return d[b.length]!;
}

/** " (did you mean `flavor`?)" when one candidate is close, else "". */
export function didYouMean(name: string, candidateList: Iterable<string>): string {
  const candidates = [...candidateList];
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const dist = distance(name.toLowerCase(), c.toLowerCase());
    if (dist < bestD) {
      bestD = dist;
      best = c;
    }
  }
  if (best === undefined) return '';
  // a shortened or lengthened name (`net` for `network`) is a likely slip too
  const prefix = [...candidates].find((c) => c.length >= 3 && name.length >= 3 && (c.startsWith(name) || name.startsWith(c)));
  if (bestD > Math.max(2, Math.floor(name.length / 4)) && prefix !== undefined) return ` (did you mean \`${prefix}\`?)`;
  return bestD <= Math.max(2, Math.floor(name.length / 4)) ? ` (did you mean \`${best}\`?)` : '';
}

/** "`a`, `b` and `c`" */
export function listOf(names: readonly string[], max = 12): string {
  if (names.length === 0) return '(none)';
  const shown = names.slice(0, max).map((n) => `\`${n}\``);
  const rest = names.length > max ? `, and ${names.length - max} more` : '';
  return shown.join(', ') + rest;
}
