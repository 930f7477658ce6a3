#!/usr/bin/env node
// Bundle the compiled library (dist/src, dist/stacks) into dist/lib: one ES module per public entry point, code
// they share in common chunks, and what is loaded only on demand (per-type validators, the x509 issuer) in chunks of
// its own. Measured on Node 20 (`npm run bench`, the import-only line): loading the library went from about 58 ms
// (60 modules resolved and linked one by one, plus the CommonJS files of handlebars' runtime) to about 28 ms.
// `constructs` stays an external package so that a user's own constructs and ours share one Construct class; so do
// esbuild (a native binary) and tsx (the CLI's fallback loader). Handlebars' runtime, yargs, js-yaml and, in a chunk
// of their own loaded on a first synth, @peculiar/x509 with reflect-metadata are inside.
import { readdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
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
  plugins: [requireConstructs],
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
