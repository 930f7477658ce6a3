// How a CommonJS script that src/private/compile-cache.ts loads is built: shared by the bundle (scripts/bundle.mjs) and
// the benchmark's floor+check line (bench/run.mjs), which builds the Heat validation layer alone the same way.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
export const VALIDATORS = join(DIST, 'src', 'heat', 'generated', 'validators');
export const RUNTIME = join(DIST, 'src', 'heat', 'validate-runtime.js');

/** esbuild's options for such a script. */
export const CJS = {
  absWorkingDir: ROOT,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // a dynamic import becomes a require (the cached file runs as a script, where import() needs a loader of its own)
  supported: { 'dynamic-import': false },
  legalComments: 'none',
  // ASCII, so that the loader can read it as Latin-1 (checked by buildScript)
  charset: 'ascii',
  // minified: about a third less source for V8 to read and, without saved code, to parse. keepNames keeps class and
  // function names (errors name a construct's class). lineLimit: an uncaught error prints its source line, which
  // would otherwise be the whole file. No source maps: the package ships none (test/heat/package-tarball.test.ts), and
  // frames name functions anyway; dist/src (tsc's output) is there for stepping through the original code
  minify: true,
  lineLimit: 160,
  keepNames: true,
  logLevel: 'warning',
};

/**
 * The Heat validation layer's own files stay outside a script: the runtime helpers (one module, whose state, the HOT
 * functions of the version being checked, every validator shares) as `runtime`, and each validator outside the
 * cluster's set as `<validators>/<name>.cjs`, required when a template first uses it.
 */
export function layerExternals({ runtime, validators }) {
  return {
    name: 'layer-externals',
    setup(b) {
      b.onResolve({ filter: /\.js$/ }, (args) => {
        const path = resolve(args.resolveDir, args.path);
        if (path === RUNTIME) return { path: runtime, external: true };
        if (dirname(path) === VALIDATORS && args.kind === 'dynamic-import' && !path.endsWith('cluster-set.generated.js')) {
          return { path: `${validators}/${path.slice(VALIDATORS.length + 1).replace(/\.js$/, '.cjs')}`, external: true };
        }
        return undefined;
      });
    },
  };
}

/**
 * Build one script (`options` on top of {@link CJS}, with an `outfile`) and return its build key: a content hash. The
 * file is written as the function the loader compiles (SCRIPT_HEAD ... SCRIPT_TAIL of src/private/compile-cache.ts),
 * so that the loader hands V8 the text it read instead of a wrapped copy (measured: a copy of a 1.6 MB script cost
 * about 5 ms of a synth, mostly the first touch of the memory).
 */
export async function buildScript(options) {
  await build({ ...CJS, ...options });
  const { SCRIPT_HEAD, SCRIPT_TAIL } = await import(pathToFileURL(join(DIST, 'src', 'private', 'compile-cache.js')).href);
  const text = `${SCRIPT_HEAD}${readFileSync(options.outfile, 'latin1')}${SCRIPT_TAIL}`;
  if (/[^\x00-\x7f]/.test(text)) throw new Error(`${options.outfile} is not ASCII`);
  writeFileSync(options.outfile, text, 'latin1');
  return createHash('sha256').update(text, 'latin1').digest('hex').slice(0, 16);
}
