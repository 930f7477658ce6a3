import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');

describe('README', () => {
  it('shows the program of examples/readme-cluster.ts, which the golden and Heat tests run', () => {
    const readme = readFileSync(resolve(ROOT, 'README.md'), 'utf8');
    const block = /```ts\n\/\/ cluster\.ts\n([\s\S]*?)```/.exec(readme);
    expect(block, 'README has a ```ts block starting with // cluster.ts').not.toBeNull();
    // the example imports 'hotk8s' as a user's program does: the README shows it verbatim, without its doc comment
    const example = readFileSync(resolve(ROOT, 'examples', 'readme-cluster.ts'), 'utf8').replace(/^\/\*\*[\s\S]*?\*\/\n/, '');
    expect(block![1]).toBe(example);
  });

  it('starts with what hotk8s is, then exactly two set-up commands', () => {
    const readme = readFileSync(resolve(ROOT, 'README.md'), 'utf8');
    const setup = /## Set-up[^\n]*\n\n```sh\n([\s\S]*?)```/.exec(readme);
    expect(setup).not.toBeNull();
    const commands = setup![1]!.trim().split('\n');
    expect(commands.map((c) => c.replace(/\s+#.*$/, ''))).toEqual(['npm ci && npm run synth', 'npm test']);
  });
});
