/**
 * The V8 code cache of our CommonJS bundle files (src/private/compile-cache.ts): saved code is used when it is there and
 * matches, refused by V8 when it is damaged (and written again), never read from a directory others can write to, and
 * off when the environment says so; the exports are the same in every case.
 *
 * Each load that matters runs in a fresh Node process: within one process V8 keeps compiled scripts by their source
 * and would not look at the saved code at all.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { compileCacheDir, SCRIPT_HEAD, SCRIPT_TAIL, type CompileCacheUse } from '../../src/private/compile-cache.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

/** A CommonJS file with enough code for V8 to save, and a function the run compiles. */
function moduleFile(dir: string, name: string, answer: number): string {
  const file = join(dir, name);
  const helpers = Array.from({ length: 50 }, (_, i) => `function h${i}(x) { return x * ${i} + ${answer}; }`).join('\n');
  writeFileSync(
    file,
    `${helpers}\nexports.answer = () => h1(0);\nexports.sum = (n) => { let s = 0; for (let i = 0; i < n; i++) s += h2(i); return s; };\n`,
  );
  return file;
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup(): { work: string; cache: string; env: NodeJS.ProcessEnv } {
  const work = mkdtempSync(join(tmpdir(), 'hotk8s-ccache-'));
  dirs.push(work);
  const cache = join(work, 'cache');
  return { work, cache, env: { HOTK8S_COMPILE_CACHE: cache } };
}

interface Loaded {
  use: CompileCacheUse;
  answer: number;
  sum: number;
  level?: number;
}

/**
 * Load `file` in a fresh Node process (through tsx), call its exports, and report how it was compiled. With `synth`,
 * the process notes that it synthesized, as `synthesize()` does; `level` then reports the level of the saved code used.
 */
function load(
  file: string,
  env: NodeJS.ProcessEnv,
  key = 'k1',
  opts: { synth?: boolean; level?: boolean; uncommon?: boolean } = {},
): Loaded {
  const tsx = createRequire(join(ROOT, 'package.json')).resolve('tsx');
  const program = `
    const cc = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'src/private/compile-cache.ts')).href)});
    const m = cc.loadCommonJs(${JSON.stringify(file)}, ${JSON.stringify(key)});
    const use = cc.compileCacheUse(${JSON.stringify(file)});
    const level = cc.compileCacheLevel(${JSON.stringify(file)});
    ${opts.synth ? 'cc.noteSynthesized();' : ''}
    ${opts.uncommon ? 'cc.noteUncommonWork();' : ''}
    process.on('exit', () => console.log(JSON.stringify({ use, answer: m.answer(), sum: m.sum(10)${opts.level ? ', level' : ''} })));
  `;
  const out = execFileSync(process.execPath, ['--import', pathToFileURL(tsx).href, '--input-type=module', '-e', program], {
    encoding: 'utf8',
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
  });
  return JSON.parse(out.trim().split('\n').pop() as string) as Loaded;
}

function written(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

describe('compile cache', () => {
  it("saves the code at the first run's exit and uses it at the next, in a private directory, with the same exports", () => {
    const { work, cache, env } = setup();
    const file = moduleFile(work, 'layer.cjs', 42);
    expect(load(file, env)).toEqual({ use: 'missing', answer: 42, sum: 510 });
    const saved = written(cache);
    expect(saved).toHaveLength(1);
    expect(saved[0]).toMatch(new RegExp(`^layer\\.cjs-k1-\\d+-\\d+-${process.version.replace(/\./g, '\\.')}-${process.arch}-\\d+\\.v8$`));
    expect(statSync(cache).mode & 0o777).toBe(0o700);
    const before = statSync(join(cache, saved[0]!));
    expect(before.mode & 0o777).toBe(0o600);

    expect(load(file, env)).toEqual({ use: 'used', answer: 42, sum: 510 });
    const after = statSync(join(cache, saved[0]!));
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]); // used, not written again
  });

  it("replaces a load's saved code with a synth's, which every later run uses; a damaged synth's code is removed", () => {
    const { work, cache, env } = setup();
    const file = moduleFile(work, 'layer.cjs', 4);
    const opts = { level: true };
    expect(load(file, env, 'k1', opts)).toEqual({ use: 'missing', answer: 4, sum: 130, level: -1 });
    const [loadCode] = written(cache);
    expect(loadCode).toMatch(/-k1-.*\d\.v8$/);
    // a run that only loads again: the load's code is used and not written again
    expect(load(file, env, 'k1', opts)).toEqual({ use: 'used', answer: 4, sum: 130, level: 0 });
    expect(written(cache)).toEqual([loadCode]);
    // a synth uses it, and saves its own code beside it at exit
    expect(load(file, env, 'k1', { ...opts, synth: true })).toEqual({ use: 'used', answer: 4, sum: 130, level: 0 });
    const synthCode = loadCode!.replace(/\.v8$/, '.synth.v8');
    expect(written(cache)).toEqual([loadCode, synthCode].sort());
    const before = statSync(join(cache, synthCode));
    // from now on every run, a load or a synth, takes the synth's code, and nothing is written
    expect(load(file, env, 'k1', opts)).toEqual({ use: 'used', answer: 4, sum: 130, level: 1 });
    expect(load(file, env, 'k1', { ...opts, synth: true })).toEqual({ use: 'used', answer: 4, sum: 130, level: 1 });
    const after = statSync(join(cache, synthCode));
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    // damaged: refused; a run that only loads writes the load's code and removes the damaged file
    writeFileSync(join(cache, synthCode), Buffer.alloc(after.size, 0x5a));
    expect(load(file, env, 'k1', opts)).toEqual({ use: 'rejected', answer: 4, sum: 130, level: -1 });
    expect(written(cache)).toEqual([loadCode]);
    expect(load(file, env, 'k1', opts)).toEqual({ use: 'used', answer: 4, sum: 130, level: 0 });
  });

  it('saves nothing from a run that did uncommon work (a first synth issuing certificates); the next usual run saves', () => {
    const { work, cache, env } = setup();
    const file = moduleFile(work, 'layer.cjs', 6);
    expect(load(file, env, 'k1', { synth: true, uncommon: true, level: true })).toEqual({ use: 'missing', answer: 6, sum: 150, level: -1 });
    expect(written(cache)).toEqual([]);
    expect(load(file, env, 'k1', { synth: true, level: true })).toEqual({ use: 'missing', answer: 6, sum: 150, level: -1 });
    const [synthCode] = written(cache);
    expect(synthCode).toMatch(/-k1-.*\.synth\.v8$/);
    // a later uncommon run uses the saved code and leaves it as it is
    const before = statSync(join(cache, synthCode!));
    expect(load(file, env, 'k1', { synth: true, uncommon: true, level: true })).toEqual({ use: 'used', answer: 6, sum: 150, level: 1 });
    const after = statSync(join(cache, synthCode!));
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
  });

  it('loads a file written wrapped, as the bundle writes its scripts, with the same exports and saved code', () => {
    const { work, cache, env } = setup();
    const plain = moduleFile(work, 'plain.cjs', 8);
    const file = join(work, 'wrapped.cjs');
    writeFileSync(file, `${SCRIPT_HEAD}${readFileSync(plain, 'latin1')}${SCRIPT_TAIL}`, 'latin1');
    expect(load(file, env)).toEqual({ use: 'missing', answer: 8, sum: 170 });
    expect(written(cache)).toHaveLength(1);
    expect(load(file, env)).toEqual({ use: 'used', answer: 8, sum: 170 });
  });

  it('does not read saved code of another build: a changed file or another build key is compiled from source', () => {
    const { work, cache, env } = setup();
    const file = moduleFile(work, 'layer.cjs', 1);
    expect(load(file, env).use).toBe('missing');
    expect(load(file, env).use).toBe('used');
    // the same length, other content and another mtime: V8 alone would take the old code (it checks the length)
    moduleFile(work, 'layer.cjs', 2);
    utimesSync(file, new Date(), new Date(Date.now() + 5_000));
    expect(load(file, env)).toEqual({ use: 'missing', answer: 2, sum: 110 });
    expect(load(file, env, 'k2')).toEqual({ use: 'missing', answer: 2, sum: 110 });
    expect(written(cache)).toHaveLength(3);
  });

  it('compiles from source when the saved code is damaged, and writes it again', () => {
    const { work, cache, env } = setup();
    const file = moduleFile(work, 'layer.cjs', 7);
    load(file, env);
    const [saved] = written(cache);
    const path = join(cache, saved!);
    writeFileSync(path, Buffer.alloc(statSync(path).size, 0x5a));
    expect(load(file, env)).toEqual({ use: 'rejected', answer: 7, sum: 160 });
    expect(load(file, env)).toEqual({ use: 'used', answer: 7, sum: 160 });
    expect(written(cache)).toEqual([saved]);
  });

  it('neither reads nor writes a directory that others can write to', () => {
    const { work, cache, env } = setup();
    const file = moduleFile(work, 'layer.cjs', 3);
    load(file, env);
    expect(written(cache)).toHaveLength(1);
    chmodSync(cache, 0o777);
    const [saved] = written(cache);
    const before = statSync(join(cache, saved!)).mtimeMs;
    expect(load(file, env).use).toBe('missing');
    expect(load(file, env).use).toBe('missing');
    expect(statSync(join(cache, saved!)).mtimeMs).toBe(before);
  });

  it('is off when HOTK8S_COMPILE_CACHE says so, and a directory that cannot be made costs only the speed', () => {
    const { work, env } = setup();
    const file = moduleFile(work, 'layer.cjs', 5);
    for (const off of ['0', 'off', 'false', 'no', 'OFF']) expect(compileCacheDir({ HOTK8S_COMPILE_CACHE: off })).toBeUndefined();
    expect(load(file, { HOTK8S_COMPILE_CACHE: 'off' })).toEqual({ use: 'off', answer: 5, sum: 140 });
    expect(written(env.HOTK8S_COMPILE_CACHE!)).toEqual([]);
    writeFileSync(join(work, 'a-file'), '');
    expect(load(file, { HOTK8S_COMPILE_CACHE: join(work, 'a-file', 'cache') })).toEqual({ use: 'missing', answer: 5, sum: 140 });
  });

  it('defaults to $XDG_CACHE_HOME/hotk8s/compile, else ~/.cache/hotk8s/compile', () => {
    expect(compileCacheDir({ XDG_CACHE_HOME: '/var/cache/u1' })).toBe('/var/cache/u1/hotk8s/compile');
    expect(compileCacheDir({ XDG_CACHE_HOME: 'relative' })).toMatch(/\/\.cache\/hotk8s\/compile$/);
    expect(compileCacheDir({})).toMatch(/\/\.cache\/hotk8s\/compile$/);
    expect(compileCacheDir({ HOTK8S_COMPILE_CACHE: '/tmp/c' })).toBe('/tmp/c');
  });

  it('keeps the saved code of the 8 newest builds of a file (other installs keep theirs)', () => {
    const { work, cache, env } = setup();
    const file = moduleFile(work, 'layer.cjs', 9);
    mkdirSync(cache, { recursive: true, mode: 0o700 });
    for (let i = 0; i < 10; i++) {
      load(file, env, `build${i}`);
      const mine = written(cache).find((f) => f.includes(`-build${i}-`));
      utimesSync(join(cache, mine!), new Date(), new Date(Date.now() - (10 - i) * 60_000)); // older builds, older files
    }
    const kept = written(cache);
    expect(kept).toHaveLength(8);
    expect(kept.some((f) => f.includes('-build0-') || f.includes('-build1-'))).toBe(false);
    expect(kept.some((f) => f.includes('-build9-'))).toBe(true);
  });
});
