import yaml from 'js-yaml';

/** Sort object keys deeply (arrays keep their order) and drop `undefined` members. */
export function sortDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.filter((v) => v !== undefined).map(sortDeep);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = sortDeep(v);
    }
    return out;
  }
  return value;
}

/** Keep an entry's own field order, sort everything below each field. */
export function sortBelow(entry: unknown): unknown {
  if (!entry || typeof entry !== 'object' || Array.isArray(entry)) return sortDeep(entry);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(entry)) if (v !== undefined) out[k] = sortDeep(v);
  return out;
}

/** Deterministic YAML: no line folding, no anchors, multi-line strings as literal blocks. */
export function toYaml(doc: unknown): string {
  return yaml.dump(doc, { lineWidth: -1, noRefs: true, sortKeys: false, quotingType: "'" });
}

/** Parse YAML strictly (duplicate keys are errors). */
export function parseYaml(text: string, fileName?: string): unknown {
  return yaml.load(text, { filename: fileName, json: false });
}
