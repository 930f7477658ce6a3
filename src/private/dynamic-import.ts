/**
 * `import()` of an ES module outside the library: a user's program, tsx's loader API. The library is bundled as
 * one CommonJS script (scripts/bundle.mjs) in which a dynamic import would become a `require`, which cannot load an
 * ES module on Node 20; the bundle replaces this module with the `import()` of the ES module that loads the script.
 */
export function importModule(specifier: string): Promise<unknown> {
  return import(specifier);
}
