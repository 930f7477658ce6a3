import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { HotError } from '../core/errors.js';
import { packageRoot } from '../private/package-root.js';
import { reportError, shownPath, type Io } from './report.js';

export interface InitOptions {
  /** The project directory (created when missing). @default '.' */
  readonly dir?: string;
  /** A ready-made stack from the package's `stacks/` to start from instead of a plain Cluster. */
  readonly from?: string;
  /** Write into a non-empty directory (files of the same name are overwritten). */
  readonly force?: boolean;
  /** Print the result (the directory, the files written, the next commands) or the errors as one JSON object. */
  readonly json?: boolean;
  readonly debug?: boolean;
}

/**
 * Versions the new project's own tools are pinned to: the ones this package is developed and tested with (its
 * devDependencies), so that `npm install` in a fresh project gets a combination known to work.
 */
const TOOL_FALLBACKS: Readonly<Record<string, string>> = {
  '@types/node': '^20.19.0',
  typescript: '^5.9.0',
  vitest: '^4.1.0',
};

/** The files of a new project, by relative path. */
export function initFiles(options: {
  name: string;
  version: string;
  app: string;
  constructsRange: string;
  tools: Record<string, string>;
}): Map<string, string> {
  const files = new Map<string, string>();
  const pkg = {
    name: options.name,
    version: '0.1.0',
    private: true,
    // hotk8s is ESM-only: without "type": "module" TypeScript under NodeNext refuses every import of it (TS1295)
    type: 'module',
    scripts: { synth: 'hotk8s synth app.ts', test: 'vitest run' },
    dependencies: { constructs: options.constructsRange, hotk8s: `^${options.version}` },
    devDependencies: options.tools,
  };
  files.set('package.json', JSON.stringify(pkg, null, 2) + '\n');
  const tsconfig = {
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      lib: ['ES2022'],
      types: ['node'],
      strict: true,
      skipLibCheck: true,
      noEmit: true,
    },
    include: ['*.ts', 'test/**/*.ts'],
  };
  files.set('tsconfig.json', JSON.stringify(tsconfig, null, 2) + '\n');
  files.set('app.ts', options.app);
  files.set(
    'test/app.test.ts',
    `import { HeatStack } from 'hotk8s';
import { HotTemplate } from 'hotk8s/assertions';
import { describe, expect, it } from 'vitest';
import app from '../app.js';

describe('the stack', () => {
  const stacks = app().node.children.filter((c) => HeatStack.isHeatStack(c));

  it('holds one stack with Kubernetes servers, the masters among them', () => {
    expect(stacks).toHaveLength(1);
    const template = HotTemplate.fromStack(stacks[0]!);
    // the masters (and etcd members, workers) are groups of nested templates; the root holds the groups
    expect(Object.keys(template.findResources('OS::Heat::ResourceGroup')).length).toBeGreaterThan(0);
    template.hasParameter('image');
  });
});
`,
  );
  files.set(
    '.gitignore',
    `node_modules/
# synth output (hotk8s synth --out, default hotk8s.out) and its secrets environment files
hotk8s.out/
out/
*.secrets.env.yaml
# the private state directory: generated CA keys, tokens and passwords (mode 0700); back it up, never commit it
.hotk8s/
*.kubeconfig
kubeconfig*
`,
  );
  files.set(
    'README.md',
    `# ${options.name}

A Kubernetes cluster on OpenStack, described with [hotk8s](https://www.npmjs.com/package/hotk8s) in \`app.ts\`.

\`\`\`sh
npm install
npm run synth        # writes the Heat templates to hotk8s.out/ and prints the create command
npm test             # the assertions of test/app.test.ts
npx hotk8s params app.ts > site.env.yaml   # every parameter a site must or may set
\`\`\`

Secrets generated at synth (CA keys, tokens) live in \`.hotk8s/\` (mode 0700): keep that directory, back it up, and
never commit it (\`.gitignore\` keeps it out of git, with the synth output).
`,
  );
  return files;
}

/** The default program: one Cluster in one stack. */
function defaultApp(): string {
  return `import { App, Cluster, HeatStack } from 'hotk8s';

export default function (): App {
  const app = new App();
  const stack = new HeatStack(app, 'cluster', { description: 'a Kubernetes cluster made with hotk8s' });
  new Cluster(stack, 'Cluster', { name: 'k8s' });
  return app;
}
`;
}

/** A ready-made stack of the package, made to import the package as a user's program does. */
function stackApp(root: string, name: string): string {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new HotError(`--from ${name}`, 'not a ready-made stack name');
  const file = join(root, 'stacks', `${name}.ts`);
  if (!existsSync(file)) {
    const known = readdirSync(join(root, 'stacks'))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => f.slice(0, -3))
      .sort();
    throw new HotError(`--from ${name}`, `no such ready-made stack (try ${known.join(', ')})`);
  }
  return readFileSync(file, 'utf8').replace(/from '\.\.\/src\/index\.js'/g, "from 'hotk8s'");
}

function npmName(dir: string): string {
  const name = basename(dir)
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[._-]+|[-]+$/g, '');
  return name === '' ? 'hotk8s-app' : name.slice(0, 214);
}

/** `hotk8s init [DIR]`: write a ready project; 1 when the directory is not empty (without --force) or on an error. */
export async function runInit(options: InitOptions, io: Io): Promise<number> {
  const dir = resolve(options.dir ?? '.');
  try {
    const root = packageRoot();
    if (!root) throw new HotError('init', 'the hotk8s package is not found: this code runs outside it');
    const own = JSON.parse(readFileSync(join(root.dir, 'package.json'), 'utf8')) as {
      peerDependencies?: Record<string, string>;
      dependencies?: Record<string, string>;
      devDependencies?: Record<string, string>;
    };
    const ranges = { ...own.devDependencies, ...own.dependencies, ...own.peerDependencies };
    const tools: Record<string, string> = {};
    for (const [tool, fallback] of Object.entries(TOOL_FALLBACKS)) {
      // the published package.json keeps its devDependencies: pin what we test with; a bare "5.9" means ~5.9.0
      const range = own.devDependencies?.[tool];
      tools[tool] = range === undefined ? fallback : /^\d/.test(range) ? `~${range}` : range;
    }
    const app = options.from === undefined ? defaultApp() : stackApp(root.dir, options.from);
    if (existsSync(dir)) {
      if (!statSync(dir).isDirectory()) throw new HotError(shownPath(dir), 'exists and is not a directory');
      const present = readdirSync(dir).filter((f) => f !== '.git');
      if (present.length > 0 && !options.force) {
        const detail = `the directory is not empty (${present.length} entr${present.length === 1 ? 'y' : 'ies'}: ${present.slice(0, 3).join(', ')}${present.length > 3 ? ', ...' : ''}); use --force to write the project into it anyway`;
        if (options.json) io.out(JSON.stringify({ ok: false, exitCode: 1, errors: [{ path: shownPath(dir), message: detail }] }));
        else io.err(`hotk8s: ${shownPath(dir)}: ${detail}`);
        return 1;
      }
    }
    const files = initFiles({
      name: npmName(dir),
      version: root.version,
      app,
      constructsRange: ranges['constructs'] ?? '^10.0.0',
      tools,
    });
    for (const [rel, text] of files) {
      const path = join(dir, rel);
      mkdirSync(resolve(path, '..'), { recursive: true });
      writeFileSync(path, text);
    }
    const next = [...(dir === process.cwd() ? [] : [`cd ${shownPath(dir)}`]), 'npm install', 'npm run synth', 'npm test'];
    if (options.json) {
      io.out(JSON.stringify({ ok: true, dir, from: options.from ?? null, files: [...files.keys()], next, errors: [] }));
      return 0;
    }
    io.out(
      `created a hotk8s project in ${shownPath(dir)}${options.from === undefined ? '' : ` from the ready-made stack ${options.from}`}:`,
    );
    for (const rel of files.keys()) io.out(`  ${rel}`);
    io.out('next:');
    for (const command of next) io.out(`  ${command}`);
    return 0;
  } catch (e) {
    return reportError(e, io, { debug: options.debug, json: options.json, paths: { DIR: options.dir ?? '.' } });
  }
}
