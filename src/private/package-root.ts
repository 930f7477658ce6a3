import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Our own package: its directory and version. */
export interface PackageRoot {
  readonly dir: string;
  readonly version: string;
}

let found: PackageRoot | null | undefined;

/**
 * The hotk8s package this code belongs to: the nearest directory above this module whose package.json is named
 * `hotk8s`. From the sources (`src/`), the compiled modules (`dist/src/`) and the bundle (`dist/lib/`, where code moves
 * into chunks) alike; undefined when the code runs outside its package (copied elsewhere).
 */
export function packageRoot(): PackageRoot | undefined {
  if (found !== undefined) return found ?? undefined;
  found = null;
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'hotk8s' && typeof pkg.version === 'string') {
        found = { dir, version: pkg.version };
        break;
      }
    } catch {
      // no (readable) package.json here
    }
    if (dirname(dir) === dir) break;
  }
  return found ?? undefined;
}
