import { existsSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { IConstruct } from 'constructs';
import { App } from '../core/app.js';
import { HotError } from '../core/errors.js';
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
  if (TS_EXTENSIONS.has(extname(path))) {
    const { tsImport } = await import('tsx/esm/api');
    mod = (await tsImport(url, import.meta.url)) as { default?: unknown };
  } else {
    mod = (await import(url)) as { default?: unknown };
  }
  let exported = mod.default;
  // tsx may wrap a CommonJS-style default export once more
  if (exported && typeof exported === 'object' && 'default' in exported && !App.isApp(exported) && !isHeatStack(exported)) {
    exported = (exported as { default: unknown }).default;
  }
  if (typeof exported === 'function') exported = await (exported as () => unknown)();
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
