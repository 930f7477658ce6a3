/**
 * Type-checking a user's TypeScript program before synth. esbuild, which compiles the program, strips types without
 * checking them: a prop typo (`flavr: 'm1.large'`) would otherwise synthesize, the flavor silently becoming a
 * create-time parameter. When the program's project has `typescript` (resolved from the program's directory, so the
 * user's own version and tsconfig apply), its compiler checks the program and the files it imports; otherwise
 * nothing is checked and the library's runtime checks of unknown props remain.
 */
import { createRequire } from 'node:module';
import { dirname, relative, resolve, isAbsolute } from 'node:path';
import { HotError, HotValidationError } from '../core/errors.js';
import { shownPath } from './report.js';

type Ts = typeof import('typescript');

function isBelow(file: string, dir: string): boolean {
  const rel = relative(dir, file);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/** The `typescript` module of the program's project; undefined when it has none. */
export function projectTypeScript(appFile: string): Ts | undefined {
  const require = createRequire(resolve(appFile));
  try {
    return require(require.resolve('typescript')) as Ts;
  } catch {
    return undefined;
  }
}

/** Options when the project has no tsconfig.json: what `hotk8s init` and the README ask for (ESM, strict). */
const DEFAULTS = {
  target: 'ES2022',
  module: 'NodeNext',
  moduleResolution: 'NodeNext',
  strict: true,
  esModuleInterop: true,
} as const;

export interface TypecheckResult {
  /** Whether a checker ran (false: the project has no typescript). */
  readonly checked: boolean;
  /** The TypeScript version that checked. */
  readonly version?: string;
  readonly milliseconds: number;
}

/**
 * Type-check `appFile` and what it imports with the nearest tsconfig.json's options (only the program's own import
 * graph, and of it only the files below the program's directory outside node_modules: libraries are not
 * checked themselves). Throws a
 * HotValidationError whose errors are `file:line:col: message`.
 */
export function typecheckApp(appFile: string, ts: Ts | undefined = projectTypeScript(appFile)): TypecheckResult {
  const started = performance.now();
  if (!ts) return { checked: false, milliseconds: 0 };
  const path = resolve(appFile);
  const configFile = ts.findConfigFile(dirname(path), (f) => ts.sys.fileExists(f));
  let options: import('typescript').CompilerOptions;
  if (configFile) {
    const parsed = ts.getParsedCommandLineOfConfigFile(
      configFile,
      {},
      {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: (d) => {
          throw new HotError(shownPath(configFile), ts.flattenDiagnosticMessageText(d.messageText, '\n'));
        },
      },
    );
    options = parsed?.options ?? {};
  } else {
    options = ts.convertCompilerOptionsFromJson(DEFAULTS, dirname(path)).options;
  }
  const program = ts.createProgram([path], {
    ...options,
    noEmit: true,
    skipLibCheck: true,
    incremental: false,
    composite: false,
    // esbuild, which loads the program, takes `./x.ts` imports: the checker must not refuse what runs
    allowImportingTsExtensions: true,
  });
  // the program's own files: below its directory, outside node_modules. Asking only for theirs lets the checker
  // resolve the library's types lazily instead of checking all of it (a library checked from its sources, as in
  // this repository, would cost ten times as much)
  const own = program
    .getSourceFiles()
    .filter((f) => !f.isDeclarationFile && isBelow(resolve(f.fileName), dirname(path)) && !/[\\/]node_modules[\\/]/.test(f.fileName));
  // a syntax error is left to the loader, whose esbuild report is the one users already get (and shorter)
  if (own.some((f) => program.getSyntacticDiagnostics(f).length > 0)) {
    return { checked: false, version: ts.version, milliseconds: performance.now() - started };
  }
  const diagnostics = [
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...own.flatMap((f) => program.getSemanticDiagnostics(f)),
  ].filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (diagnostics.length > 0) {
    throw new HotValidationError(
      diagnostics.map((d) => {
        const text = ts.flattenDiagnosticMessageText(d.messageText, '\n  ');
        if (!d.file || d.start === undefined) return new HotError(`TS${d.code}`, text);
        const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
        return new HotError(`${shownPath(d.file.fileName)}:${line + 1}:${character + 1}`, `${text} (TS${d.code})`);
      }),
    );
  }
  return { checked: true, version: ts.version, milliseconds: performance.now() - started };
}
