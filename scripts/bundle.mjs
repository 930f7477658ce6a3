#!/usr/bin/env node
// Bundle the compiled library (dist/src, dist/stacks) into dist/lib: one ES module per public entry point, code
// they share in common chunks, and what is loaded only on demand (per-type validators, the x509 issuer) in chunks of
// its own. Measured on Node 20 (`npm run bench`, the import-only line): loading the library went from about 58 ms
// (60 modules resolved and linked one by one, plus the CommonJS files of handlebars' runtime) to about 28 ms.
// `constructs` stays an external package so that a user's own constructs and ours share one Construct class; so do
// esbuild (a native binary) and tsx (the CLI's fallback loader). Handlebars' runtime, yargs, js-yaml and, in a chunk
// of their own loaded on a first synth, @peculiar/x509 with reflect-metadata are inside.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
const stacks = readdirSync(join(DIST, 'stacks'))
  .filter((f) => f.endsWith('.js'))
  .map((f) => join(DIST, 'stacks', f));

/**
 * `constructs` is CommonJS. Imported from an ES module, Node runs its export lexer over it (about 12 ms at start-up);
 * required, it loads as plain CommonJS, the same module instance a user's `import 'constructs'` gets.
 */
const requireConstructs = {
  name: 'require-constructs',
  setup(b) {
    b.onResolve({ filter: /^constructs$/ }, (args) =>
      args.namespace === 'require-constructs'
        ? { path: 'constructs', external: true }
        : { path: 'constructs', namespace: 'require-constructs' },
    );
    b.onLoad({ filter: /.*/, namespace: 'require-constructs' }, () => ({
      contents: "module.exports = require('constructs');",
      loader: 'js',
    }));
  },
};

rmSync(join(DIST, 'lib'), { recursive: true, force: true });

/**
 * Code loaded with a V8 code cache (src/private/compile-cache.ts). On Node 20 an ES module is compiled again on
 * every start, and in a synth process compiling our code for the first time is a large share of the work
 * (docs/bench-synth.md). Parts that hold no object identity with the rest of the library can be built as
 * CommonJS files and loaded through the cache; every import of them in the library below is replaced by a module
 * that loads the file and re-exports its exports. So far one part is: the Heat validation layer (src/heat/validate.ts:
 * the validation code, the generated ajv validators of the HOT version and the resource types a cluster uses
 * (`cluster-set`), js-yaml and ajv's runtime) as dist/lib/heat-validate.cjs. It takes plain documents and returns
 * plain issues, so it holds no object identity with the rest of the library. Every other type's validator, and the
 * other HOT versions, is a CommonJS file of its own in dist/lib/heat-validators/, required when a template first
 * uses it, as the ES build loaded them; all of them share the runtime helpers' state (the HOT functions of the
 * version being checked) through one required module, dist/lib/heat-validate-runtime.cjs.
 *
 * Measured and not taken: the precompiled bootstrap templates (src/bootstrap/templates.generated.ts) the same way;
 * loading them moved about as much time into the import as it saved in construction (21 interleaved runs).
 */
const VALIDATORS = join(DIST, 'src', 'heat', 'generated', 'validators');
const RUNTIME = join(DIST, 'src', 'heat', 'validate-runtime.js');
const layerExternals = (runtimeFrom) => ({
  name: 'layer-externals',
  setup(b) {
    b.onResolve({ filter: /\.js$/ }, (args) => {
      const path = resolve(args.resolveDir, args.path);
      if (path === RUNTIME) return { path: `${runtimeFrom}heat-validate-runtime.cjs`, external: true };
      if (dirname(path) === VALIDATORS && args.kind === 'dynamic-import' && !path.endsWith('cluster-set.generated.js')) {
        return { path: `./heat-validators/${path.slice(VALIDATORS.length + 1).replace(/\.js$/, '.cjs')}`, external: true };
      }
      return undefined;
    });
  },
});
const cjs = {
  absWorkingDir: ROOT,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // a dynamic import of a file of its own becomes a require (the cached file runs as a script, where import() needs
  // a loader of its own)
  supported: { 'dynamic-import': false },
  legalComments: 'none',
  // ASCII, so that the loader can read it as Latin-1 (checked below)
  charset: 'ascii',
  minify: true,
  lineLimit: 160,
  keepNames: true,
  logLevel: 'warning',
};
const CACHED = [{ source: join(DIST, 'src', 'heat', 'validate.js'), out: 'dist/lib/heat-validate.cjs', plugins: [layerExternals('./')] }];
for (const c of CACHED) {
  await build({ ...cjs, entryPoints: [c.source], outfile: join(ROOT, c.out), plugins: c.plugins });
  const text = readFileSync(join(ROOT, c.out), 'latin1');
  if (/[^\x00-\x7f]/.test(text)) throw new Error(`${c.out} is not ASCII`);
  c.key = createHash('sha256').update(text, 'latin1').digest('hex').slice(0, 16);
  c.exports = Object.keys(await import(pathToFileURL(c.source).href)).sort();
}
await build({ ...cjs, entryPoints: [RUNTIME], outfile: join(DIST, 'lib', 'heat-validate-runtime.cjs') });
await build({
  ...cjs,
  entryPoints: readdirSync(VALIDATORS)
    .filter((f) => f.endsWith('.generated.js') && f !== 'index.generated.js' && f !== 'cluster-set.generated.js')
    .map((f) => join(VALIDATORS, f)),
  outdir: join(DIST, 'lib', 'heat-validators'),
  outExtension: { '.js': '.cjs' },
  plugins: [layerExternals('../')],
});
const cachedModules = {
  name: 'cached-modules',
  setup(b) {
    b.onResolve({ filter: /\.js$/ }, (args) => {
      if (args.namespace === 'cached-module') return undefined;
      const path = resolve(args.resolveDir, args.path);
      return CACHED.some((c) => c.source === path) ? { path, namespace: 'cached-module' } : undefined;
    });
    b.onLoad({ filter: /.*/, namespace: 'cached-module' }, (args) => {
      const c = CACHED.find((m) => m.source === args.path);
      return {
        contents: [
          `import { join } from 'node:path';`,
          `import { loadCommonJs } from ${JSON.stringify(join(DIST, 'src', 'private', 'compile-cache.js'))};`,
          `import { packageRoot } from ${JSON.stringify(join(DIST, 'src', 'private', 'package-root.js'))};`,
          'const root = packageRoot();',
          `if (root === undefined) throw new Error('hotk8s: cannot find its package directory (to load ${c.out})');`,
          `const loaded = loadCommonJs(join(root.dir, ${JSON.stringify(c.out)}), ${JSON.stringify(c.key)});`,
          `export const { ${c.exports.join(', ')} } = loaded;`,
        ].join('\n'),
        resolveDir: DIST,
        loader: 'js',
      };
    });
  },
};

await build({
  absWorkingDir: ROOT,
  entryPoints: [
    join(DIST, 'src', 'index.js'),
    join(DIST, 'src', 'assertions', 'index.js'),
    join(DIST, 'src', 'heat', 'index.js'),
    join(DIST, 'src', 'cli', 'main.js'),
    ...stacks,
  ],
  outbase: DIST,
  outdir: join(DIST, 'lib'),
  entryNames: '[dir]/[name]',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['esbuild', 'tsx', 'tsx/*'],
  plugins: [requireConstructs, cachedModules],
  // bundled CommonJS code (ajv's runtime helpers, x509's dependencies) may require Node's own modules
  banner: { js: "import { createRequire as __hotk8sRequire } from 'node:module'; const require = __hotk8sRequire(import.meta.url);" },
  legalComments: 'none',
  // minified: Node 20 parses every module it loads on each start (no compile cache for ES modules), and about 1.5 MB
  // of it before a first synth; minified, about a third less, about 20 ms less per synth at 1 and 10 worker groups
  // (docs/bench-synth.md).
  // keepNames keeps class and function names (errors name a construct's class). lineLimit: an uncaught error prints
  // its source line, which would otherwise be a whole chunk (measured: no slower, 21 interleaved runs at 1 and 10
  // groups). No source maps: the package ships none (about 11 MB; test/heat/package-tarball.test.ts), and frames name
  // functions anyway; dist/src (tsc's output) is there for stepping through the original code
  minify: true,
  lineLimit: 160,
  keepNames: true,
  logLevel: 'warning',
});
