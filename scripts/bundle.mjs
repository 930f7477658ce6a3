#!/usr/bin/env node
// Bundle the compiled library (dist/src, dist/stacks) into dist/lib: one CommonJS script holding the whole library,
// loaded with a V8 code cache, and one small ES module per public entry point that takes its exports from it (see
// below); the Heat validators outside a cluster's set in files of their own, required on first use.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { buildScript, CJS, layerExternals, RUNTIME, VALIDATORS } from './cached-script.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
const stacks = readdirSync(join(DIST, 'stacks'))
  .filter((f) => f.endsWith('.js'))
  .map((f) => join(DIST, 'stacks', f));

rmSync(join(DIST, 'lib'), { recursive: true, force: true });

/**
 * The library is one CommonJS script, dist/lib/hotk8s.cjs, loaded with a V8 code cache (src/private/compile-cache.ts).
 * Node 20 parses and compiles every ES module again on each start (Node 22 has a compile cache, Node 20 has none),
 * and in a short synth process compiling our code for the first time was a large share of the work: the import,
 * the first construction of a cluster (the functions it calls compiled on first use) and the Heat validation layer
 * (the generated ajv validators) (docs/bench-synth.md). With the code V8 saved at an earlier run's exit, those
 * functions come compiled.
 *
 * Every public entry point (`hotk8s`, `hotk8s/assertions`, `hotk8s/heat`, the CLI, the ready-made stacks) is a small
 * ES module that takes its exports from the one instance of the script (dist/lib/load.js), so a user's program, the
 * CLI and the stacks share every class. `hotk8s` is evaluated when the script loads; the other entry points' code on
 * their first import. `constructs` stays an external package, so that a user's own constructs and ours share one
 * Construct class; so do esbuild (a native binary) and tsx (the CLI's fallback loader). Handlebars' runtime, yargs,
 * js-yaml, ajv's runtime and @peculiar/x509 with reflect-metadata are inside.
 *
 * In a script a dynamic import becomes a `require`. The library's own lazy parts load so (the CLI's commands, the
 * x509 issuer), and so do the Heat validators outside the cluster's set: each other resource type and HOT version is a
 * CommonJS file of its own in dist/lib/heat-validators/, required when a template first uses it; all share the runtime
 * helpers' state (the HOT functions of the version being checked) through one module, dist/lib/heat-validate-runtime.cjs.
 * ES modules from outside (a user's program, tsx's API) are imported through src/private/dynamic-import.ts, which the
 * script takes from load.js. `import.meta.url` is the script's own URL.
 *
 * Measured and not taken: the precompiled bootstrap templates (src/bootstrap/templates.generated.ts) in a cached file of
 * their own; loading them moved about as much time into the import as it saved in construction (21 interleaved runs).
 */
const IMPORT_HOOK = join(DIST, 'src', 'private', 'dynamic-import.js');
/** src/private/dynamic-import.ts in the script: the `import()` that load.js hands the script. */
const importHook = {
  name: 'import-hook',
  setup(b) {
    b.onResolve({ filter: /\.js$/ }, (args) =>
      resolve(args.resolveDir, args.path) === IMPORT_HOOK ? { path: IMPORT_HOOK, namespace: 'import-hook' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'import-hook' }, () => ({
      contents: 'export function importModule(specifier) { return __hotk8s_import(specifier); }',
      loader: 'js',
    }));
  },
};
await build({ ...CJS, entryPoints: [RUNTIME], outfile: join(DIST, 'lib', 'heat-validate-runtime.cjs') });
await build({
  ...CJS,
  entryPoints: readdirSync(VALIDATORS)
    .filter((f) => f.endsWith('.generated.js') && f !== 'index.generated.js' && f !== 'cluster-set.generated.js')
    .map((f) => join(VALIDATORS, f)),
  outdir: join(DIST, 'lib', 'heat-validators'),
  outExtension: { '.js': '.cjs' },
  plugins: [layerExternals({ runtime: '../heat-validate-runtime.cjs', validators: './heat-validators' })],
});

/** The public entry points: `eager` ones are evaluated when the script loads, the others on their first import. */
const ENTRIES = [
  { name: 'index', source: join(DIST, 'src', 'index.js'), out: 'src/index.js', eager: true },
  { name: 'assertions', source: join(DIST, 'src', 'assertions', 'index.js'), out: 'src/assertions/index.js' },
  { name: 'heat', source: join(DIST, 'src', 'heat', 'index.js'), out: 'src/heat/index.js' },
  { name: 'cli', source: join(DIST, 'src', 'cli', 'main.js'), out: 'src/cli/main.js' },
  ...stacks.map((f) => ({ name: `stack_${basename(f, '.js').replace(/[^A-Za-z0-9]/g, '_')}`, source: f, out: `stacks/${basename(f)}` })),
];
const SCRIPT = join(DIST, 'lib', 'hotk8s.cjs');
const key = await buildScript({
  stdin: {
    contents: ENTRIES.map((e) =>
      e.eager
        ? `export * as ${e.name} from ${JSON.stringify(e.source)};`
        : `export const ${e.name} = () => import(${JSON.stringify(e.source)});`,
    ).join('\n'),
    resolveDir: DIST,
    sourcefile: 'hotk8s-library.js',
    loader: 'js',
  },
  outfile: SCRIPT,
  external: ['constructs', 'esbuild', 'tsx', 'tsx/*'],
  plugins: [layerExternals({ runtime: './heat-validate-runtime.cjs', validators: './heat-validators' }), importHook],
  define: { 'import.meta.url': '__hotk8s_url' },
  banner: { js: "var __hotk8s_url = require('node:url').pathToFileURL(__filename).href;" },
});

// load.js: loads the script once, with the cache, and hands it this module's import()
await build({
  absWorkingDir: ROOT,
  stdin: {
    contents: [
      `import { fileURLToPath } from 'node:url';`,
      `import { loadCommonJs } from ${JSON.stringify(join(DIST, 'src', 'private', 'compile-cache.js'))};`,
      `const file = fileURLToPath(new URL('./hotk8s.cjs', import.meta.url));`,
      `export const library = loadCommonJs(file, ${JSON.stringify(key)}, process.env, (specifier) => import(specifier));`,
    ].join('\n'),
    resolveDir: DIST,
    sourcefile: 'load.js',
    loader: 'js',
  },
  outfile: join(DIST, 'lib', 'load.js'),
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  legalComments: 'none',
  minify: true,
  keepNames: true,
  logLevel: 'warning',
});

// each entry point: its exports, taken from the script's one instance
for (const e of ENTRIES) {
  const names = Object.keys(await import(pathToFileURL(e.source).href)).sort();
  const named = names.filter((n) => n !== 'default');
  const file = join(DIST, 'lib', e.out);
  let from = relative(dirname(file), join(DIST, 'lib', 'load.js'));
  if (!from.startsWith('.')) from = `./${from}`;
  const lines = [
    `import { library } from ${JSON.stringify(from)};`,
    e.eager ? `const m = library.${e.name};` : `const m = await library.${e.name}();`,
    ...(named.length > 0 ? [`export const { ${named.join(', ')} } = m;`] : []),
    ...(names.includes('default') ? ['export default m.default;'] : []),
  ];
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${lines.join('\n')}\n`);
}
