import { existsSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { IConstruct } from 'constructs';
import { App } from '../core/app.js';
import { HotError, isHotError } from '../core/errors.js';
import { isHeatStack } from '../core/element.js';

const TS_EXTENSIONS = new Set(['.ts', '.mts', '.cts', '.tsx']);

/**
 * Load a user's program: a `.ts`/`.js` module whose default export is an App, a HeatStack, or a function
 * (possibly async) returning one. TypeScript is loaded through tsx, only when the file is TypeScript.
 */
export async function loadApp(file: string): Promise<IConstruct> {
  const path = resolve(file);
  if (!existsSync(path)) throw new HotError(file, 'no such file');
  const url = pathToFileURL(path).href;
  let mod: { default?: unknown };
  try {
    if (TS_EXTENSIONS.has(extname(path))) {
      const { tsImport } = await import('tsx/esm/api');
      mod = (await tsImport(url, import.meta.url)) as { default?: unknown };
    } else {
      mod = (await import(url)) as { default?: unknown };
    }
  } catch (e) {
    if (isHotError(e)) throw e;
    throw new HotError(file, `could not load the program: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
  }
  let exported = mod.default;
  // a TypeScript file outside an ESM package is loaded as CommonJS: `default` is then module.exports
  if (exported && typeof exported === 'object' && !App.isApp(exported) && !isHeatStack(exported)) {
    exported = (exported as { default?: unknown }).default;
  }
  if (typeof exported === 'function') {
    try {
      exported = await (exported as () => unknown)();
    } catch (e) {
      if (isHotError(e)) throw e;
      throw new HotError(file, `the program failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (App.isApp(exported)) return exported;
  if (isHeatStack(exported)) {
    const stack = exported as unknown as IConstruct;
    return stack.node.root;
  }
  throw new HotError(
    file,
    `the default export must be an App, a HeatStack, or a function returning one; got ${exported === undefined ? 'no default export' : typeof exported}`,
  );
}
