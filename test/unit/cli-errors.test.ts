import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const L1 = join(ROOT, 'examples', 'l1-network-server.ts');
const INDEX = JSON.stringify(join(ROOT, 'src', 'index.ts'));

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

/** The error lines of a run, without the info and warning annotations synth prints on the way. */
function errorLines(err: string[]): string[] {
  return err.flatMap((e) => e.split('\n')).filter((l) => !/^(info|warning): /.test(l));
}

let dir: string;

beforeAll(async () => {
  // inside the repository, so that a program can import 'constructs' like a user's project would
  await mkdir(join(ROOT, '.cache'), { recursive: true });
  dir = await mkdtemp(join(ROOT, '.cache', 'cli-errors-'));
  await writeFile(join(dir, 'file'), 'a regular file\n');
  await writeFile(
    join(dir, 'syntax.ts'),
    `import { App } from ${INDEX};\n\nexport default () => {\n  const app = new App(;\n  return app;\n};\n`,
  );
  await writeFile(
    join(dir, 'two-clusters.ts'),
    `import { App, Cluster, HeatStack } from ${INDEX};
export default () => {
  const app = new App();
  const stack = new HeatStack(app, 'two');
  new Cluster(stack, 'A', { name: 'a' });
  new Cluster(stack, 'B', { name: 'b' });
  return app;
};
`,
  );
  // a state directory whose CA key was made readable by others
  const first = capture();
  const code = await main(['synth', '--stack', 'dev', '--out', join(dir, 'pki-out'), '--state', join(dir, 'pki-state')], first.io);
  if (code !== 0) throw new Error(first.err.join('\n'));
  await chmod(join(dir, 'pki-state', 'dev', 'pki', 'ca.key'), 0o644);
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Case {
  readonly name: string;
  readonly argv: () => string[];
  readonly line: RegExp;
}

const cases: Case[] = [
  {
    name: '--out under a regular file (ENOTDIR)',
    argv: () => ['synth', L1, '--out', join(dir, 'file', 'out'), '--state', join(dir, 'state-1')],
    line: /^hotk8s: --out \S+file\/out: cannot create the directory: a part of the path is a regular file, not a directory$/,
  },
  {
    name: '--state under a regular file (ENOTDIR)',
    argv: () => ['synth', '--stack', 'dev', '--out', join(dir, 'out-2'), '--state', join(dir, 'file', 'state')],
    line: /^hotk8s: --state \S+file\/state: cannot create the directory: a part of the path is a regular file, not a directory$/,
  },
  {
    // sysfs refuses a new directory to everyone, root included (tests run as root: mode bits would not stop it)
    name: 'an --out where nobody may write (EACCES/EPERM)',
    argv: () => ['synth', L1, '--out', '/sys/hotk8s-cli-test-out', '--state', join(dir, 'state-3')],
    line: /^hotk8s: --out \/sys\/hotk8s-cli-test-out: cannot create the directory: (permission denied|the operation is not permitted)$/,
  },
  {
    name: 'a state key file readable by others (PkiError)',
    argv: () => ['synth', '--stack', 'dev', '--out', join(dir, 'pki-out'), '--state', join(dir, 'pki-state')],
    line: /^hotk8s: the cluster's private state: \S+pki-state\/dev\/pki\/ca\.key has mode 0644; secret material must be 0600/,
  },
  {
    name: 'a TypeScript syntax error in the app (file, line and column)',
    argv: () => ['synth', join(dir, 'syntax.ts'), '--out', join(dir, 'out-5')],
    line: /^hotk8s: \S*syntax\.ts:4:23: Unexpected ";"$/,
  },
  {
    name: 'two Clusters in one stack',
    argv: () => ['synth', join(dir, 'two-clusters.ts'), '--out', join(dir, 'out-6'), '--state', join(dir, 'state-6')],
    line: /^hotk8s: two\/B: one Cluster per stack: stack two already holds the Cluster two\/A; put each cluster in its own HeatStack$/,
  },
];

describe('user-caused CLI failures: one sentence, exit 1, no stack trace', () => {
  it.each(cases)(
    '$name',
    async (c) => {
      const r = capture();
      const code = await main(c.argv(), r.io);
      const lines = errorLines(r.err);
      expect(code, lines.join('\n')).toBe(1);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(c.line);
      expect(lines[0]).not.toMatch(/internal error|\n\s+at /);
    },
    60_000,
  );

  it('prints the stack trace with --debug, the exit code unchanged', async () => {
    const r = capture();
    const code = await main(['synth', L1, '--out', join(dir, 'file', 'out'), '--state', join(dir, 'state-7'), '--debug'], r.io);
    expect(code).toBe(1);
    const lines = errorLines(r.err);
    expect(lines[0]).toMatch(/^hotk8s: --out .*regular file, not a directory$/);
    expect(lines.slice(1).join('\n')).toMatch(/^Error: ENOTDIR[^]*\n\s+at /);
  }, 60_000);
});
