/**
 * Read HOT text the way Heat does (`heat.common.template_format`): YAML 1.1 safe loading where dates stay
 * strings, with one difference on purpose: a duplicate key is an error (Heat's loader silently keeps the last one,
 * which is how OpenStack Magnum ended up with `fixed_subnet_cidr` declared twice).
 */
import yaml from 'js-yaml';

/** YAML 1.1 booleans that PyYAML's SafeLoader (and so Heat) reads as true/false; YAML 1.2 keeps them as strings. */
const yaml11Bool = new yaml.Type('tag:yaml.org,2002:bool', {
  kind: 'scalar',
  resolve: (data: string | null) => data !== null && /^(yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF)$/.test(data),
  construct: (data: string) => /^(yes|Yes|YES|on|On|ON)$/.test(data),
  predicate: (x: unknown) => typeof x === 'boolean',
  represent: { lowercase: (x: object) => (x ? 'true' : 'false') },
  defaultStyle: 'lowercase',
});

/** CORE schema (no timestamps: `2018-08-31` stays a string, as in Heat) plus merge keys and YAML 1.1 booleans. */
export const HOT_YAML_SCHEMA = yaml.CORE_SCHEMA.extend({
  implicit: [yaml11Bool, (yaml as unknown as { types: { merge: yaml.Type } }).types.merge],
});

export interface YamlProblem {
  readonly line?: number;
  readonly column?: number;
  readonly duplicateKey?: string;
  readonly message: string;
}

export type ParsedYaml = { readonly ok: true; readonly doc: unknown } | { readonly ok: false; readonly problem: YamlProblem };

export function parseHotYaml(text: string, fileName?: string): ParsedYaml {
  try {
    return { ok: true, doc: yaml.load(text, { filename: fileName, schema: HOT_YAML_SCHEMA }) };
  } catch (e) {
    if (e instanceof yaml.YAMLException) {
      const line = e.mark ? e.mark.line + 1 : undefined;
      const column = e.mark ? e.mark.column + 1 : undefined;
      const dup = /duplicated mapping key/.test(e.reason);
      let key: string | undefined;
      if (dup && e.mark) {
        const lineText = text.split(/\r?\n/)[e.mark.line] ?? '';
        key = /^\s*(?:-\s+)?["']?([^"':]+?)["']?\s*:/.exec(lineText)?.[1];
      }
      return {
        ok: false,
        problem: {
          ...(line !== undefined ? { line } : {}),
          ...(column !== undefined ? { column } : {}),
          ...(key !== undefined ? { duplicateKey: key } : {}),
          message: e.reason,
        },
      };
    }
    throw e;
  }
}
