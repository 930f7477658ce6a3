/**
 * What the generated validators (`generated/validators/*.generated.ts`, ajv standalone code) call at run time:
 * ajv's own runtime helpers and `isHotFunction`, the test behind the `hotFunction` keyword.
 *
 * `isHotFunction` answers exactly as the JSON Schema `hot-deferred` of a template version does: null, or a map
 * with exactly one key that names an intrinsic function of that version. The version is set by
 * `useHotFunctions` right before a resource validator runs (validation is synchronous, so nothing interleaves).
 */
import ucs2lengthModule from 'ajv/dist/runtime/ucs2length.js';
import equalModule from 'ajv/dist/runtime/equal.js';

// ajv's runtime files are CommonJS with `exports.default`; under Node's ESM loader the default import is module.exports
function cjsDefault<T>(m: unknown): T {
  return (typeof m === 'function' ? m : (m as { default: T }).default) as T;
}

export const ucs2length = cjsDefault<(s: string) => number>(ucs2lengthModule);
export const deepEqual = cjsDefault<(a: unknown, b: unknown) => boolean>(equalModule);

let functions: ReadonlySet<string> = new Set<string>();

/** Set the intrinsic functions `isHotFunction` accepts (those of the document's template version). */
export function useHotFunctions(names: ReadonlySet<string>): void {
  functions = names;
}

export function isHotFunction(data: unknown): boolean {
  if (data === null) return true;
  if (typeof data !== 'object' || Array.isArray(data)) return false;
  // minProperties 1, maxProperties 1 (ajv counts own keys), propertyNames (ajv iterates for..in)
  if (Object.keys(data).length !== 1) return false;
  for (const key in data) if (!functions.has(key)) return false;
  return true;
}
