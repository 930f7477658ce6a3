#!/usr/bin/env node
// `npm run bench`: synth speed, memory and output size as clusters grow, against the serialization floor.
//
// Each measurement runs in a fresh process under GNU time (`/usr/bin/time -f ...`): wall time (median of RUNS runs
// after one warm-up), CPU time (user + system, median), peak RSS (max), bytes written and Heat resource count
// (root resources plus each group's members at their current size, as Heat counts them against
// max_resources_per_stack). Modes:
//   program   a compiled JS program calling the library (dist/), re-synth: secrets already in the state directory
//   first     the same, first synth: an empty state directory, so the cluster's keys are generated
//   cli       `hotk8s synth app.ts` through the installed bin, on a TypeScript app, re-synth (keys and compiled app cached)
//   floor     the same HOT documents built as plain objects and dumped with js-yaml: the floor no synth can beat
//   floor+check  the floor, plus validating those documents with the library's own synth-time checker
//             (`validateHotBundle`, its layer alone with the library's code cache) before dumping them: what the
//             required check alone adds
//   cdk8s     (groups scenarios) the peer: as many groups written with cdk8s (bench/peer-cdk8s.mjs says what stands
//             for what), and "cdk8s floor", its objects dumped with js-yaml; wall/floor against its own floor
// and `node -e 0` alone (Node's own start-up) and a program that only imports the library. Program runs also report
// where their time went (SynthResult.timings and the program's own clock), printed as a second table.
// All modes of a scenario run interleaved (one warm-up each, then RUNS rounds of every mode in turn), so that the
// load of a shared machine falls on them alike. BENCH_MODES=program,cdk8s measures only those modes and the floors.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { buildScript, layerExternals } from '../scripts/cached-script.mjs';
import { median, timeCommand, timeMissing } from './measure.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const WORK = join(ROOT, '.cache', 'bench');
const RUNS = Number(process.env.BENCH_RUNS ?? 5); // BENCH_ONLY=groups-1,groups-100 runs only those scenarios

const SCENARIOS = [
  { name: 'groups-1', groups: 1, workers: 1, etcd: 3 },
  { name: 'groups-10', groups: 10, workers: 1, etcd: 3 },
  { name: 'groups-100', groups: 100, workers: 1, etcd: 3 },
  { name: 'workers-3', groups: 1, workers: 3, etcd: 3 },
  { name: 'workers-50', groups: 1, workers: 50, etcd: 3 },
  { name: 'workers-200', groups: 1, workers: 200, etcd: 3, maxResources: 2000 },
  { name: 'etcd-3', groups: 1, workers: 3, etcd: 3 },
  { name: 'etcd-5', groups: 1, workers: 3, etcd: 5 },
];

function fail(msg) {
  console.error(`bench: ${msg}`);
  process.exit(1);
}

if (timeMissing()) fail(timeMissing());
if (!existsSync(join(ROOT, 'dist', 'src', 'index.js'))) {
  console.error('bench: building dist/ first');
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
}

/** Run a command under GNU time; returns { wall, cpu, rssKiB }. */
function timed(cmd, args, env) {
  const r = timeCommand(cmd, args, { cwd: WORK, env, timeFile: join(WORK, 'time.txt') });
  if (r.error) fail(r.error);
  return r;
}

/**
 * Measure several modes interleaved: one warm-up of each, then RUNS rounds that run every mode once in turn, so that
 * a change in the machine's load (it may be shared) falls on all of them alike. `modes`: [{ label, cmd, args, env,
 * before }]; returns one result per mode, in order.
 */
function measureInterleaved(modes) {
  const timingsFile = join(WORK, 'timings.json');
  const envOf = (m) => (m.label === 'program' ? { ...m.env, BENCH_TIMINGS: timingsFile } : (m.env ?? {}));
  for (const m of modes) {
    m.before?.();
    timed(m.cmd, m.args, envOf(m)); // warm-up
  }
  const samples = modes.map(() => []);
  const phases = modes.map(() => []);
  for (let i = 0; i < RUNS; i++) {
    modes.forEach((m, j) => {
      m.before?.();
      rmSync(timingsFile, { force: true });
      samples[j].push(timed(m.cmd, m.args, envOf(m)));
      if (existsSync(timingsFile)) phases[j].push(JSON.parse(readFileSync(timingsFile, 'utf8')));
    });
  }
  return modes.map((m, j) => {
    const phaseMedians = {};
    for (const k of Object.keys(phases[j][0] ?? {})) phaseMedians[k] = median(phases[j].map((p) => p[k] ?? 0));
    return {
      label: m.label,
      wall: median(samples[j].map((s) => s.wall)),
      cpu: median(samples[j].map((s) => s.cpu)),
      rssMiB: Math.max(...samples[j].map((s) => s.rssKiB)) / 1024,
      phases: phaseMedians,
    };
  });
}

function measure(label, cmd, args, env = {}, before = () => {}) {
  return measureInterleaved([{ label, cmd, args, env, before }])[0];
}

function outputStats(outdir) {
  let bytes = 0;
  const docs = {};
  for (const f of readdirSync(outdir)) {
    bytes += statSync(join(outdir, f)).size;
    if (f.endsWith('.yaml') && !f.endsWith('.env.yaml')) docs[f] = yaml.load(readFileSync(join(outdir, f), 'utf8'));
  }
  const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8'));
  const root = docs[manifest.stacks[0].template];
  // Heat's count: root resources, plus each group's member resources times its size (params at their values)
  const env = yaml.load(readFileSync(join(outdir, manifest.stacks[0].environment), 'utf8')) ?? {};
  const params = {
    ...Object.fromEntries(Object.entries(root.parameters ?? {}).map(([k, v]) => [k, v.default])),
    ...(env.parameter_defaults ?? {}),
  };
  const count = (doc) => {
    let n = 0;
    for (const r of Object.values(doc.resources ?? {})) {
      n += 1;
      const def = r.properties?.resource_def;
      if (r.type === 'OS::Heat::ResourceGroup' && def && docs[def.type]) {
        let c = r.properties.count;
        if (c && typeof c === 'object' && 'get_param' in c) c = params[c.get_param];
        n += Number(c ?? 1) * count(docs[def.type]);
      } else if (docs[r.type]) n += count(docs[r.type]);
    }
    return n;
  };
  return { bytes, resources: count(root), docs };
}

/**
 * The checker alone, as the floor+check line loads it: the library's Heat validation layer (src/heat/validate.ts with
 * the validators of the HOT version and the resource types a cluster uses, js-yaml and ajv's runtime) bundled as one
 * CommonJS file and loaded with the same V8 code cache as the library (src/private/compile-cache.ts); the other
 * validators are the package's own files. The package itself holds this code inside its one script
 * (dist/lib/hotk8s.cjs); loading that whole script here would add the rest of the library to the floor.
 */
async function buildChecker() {
  const dist = join(ROOT, 'dist');
  const file = join(WORK, 'heat-validate.cjs');
  const key = await buildScript({
    entryPoints: [join(dist, 'src', 'heat', 'validate.js')],
    outfile: file,
    plugins: [
      layerExternals({ runtime: join(dist, 'lib', 'heat-validate-runtime.cjs'), validators: join(dist, 'lib', 'heat-validators') }),
    ],
  });
  return { file, key, loader: join(dist, 'src', 'private', 'compile-cache.js') };
}

/** The floor program: `docs` as an object literal dumped with js-yaml; with `checker`, validated by it first. */
function floorProgram(docs, checker) {
  return [
    `import yaml from ${JSON.stringify(join(ROOT, 'node_modules', 'js-yaml', 'dist', 'js-yaml.mjs'))};`,
    `import { writeFileSync, mkdirSync } from 'node:fs';`,
    `const docs = ${JSON.stringify(docs)};`,
    ...(checker
      ? [
          `const { loadCommonJs } = await import(${JSON.stringify(checker.loader)});`,
          `const { validateHotBundle } = loadCommonJs(${JSON.stringify(checker.file)}, ${JSON.stringify(checker.key)});`,
          'const issues = await validateHotBundle(new Map(Object.entries(docs)));',
          'if (issues.length > 0) { console.error(JSON.stringify(issues, null, 2)); process.exit(1); }',
        ]
      : []),
    'const out = process.argv[2]; mkdirSync(out, { recursive: true });',
    "for (const [f, d] of Object.entries(docs)) writeFileSync(out + '/' + f, yaml.dump(d, { lineWidth: -1, noRefs: true }));",
    '',
  ].join('\n');
}

/** The peer's output: one multi-document YAML file per chart; its bytes, object count and documents. */
function peerStats(outdir) {
  let bytes = 0;
  const docs = {};
  for (const f of readdirSync(outdir)) {
    bytes += statSync(join(outdir, f)).size;
    if (f.endsWith('.yaml')) docs[f] = yaml.loadAll(readFileSync(join(outdir, f), 'utf8'));
  }
  return { bytes, objects: Object.values(docs).reduce((n, d) => n + d.length, 0), docs };
}

/** The peer's floor: its objects as a plain object literal, dumped with js-yaml as multi-document files. */
function peerFloorProgram(docs) {
  return [
    `import yaml from ${JSON.stringify(join(ROOT, 'node_modules', 'js-yaml', 'dist', 'js-yaml.mjs'))};`,
    `import { writeFileSync, mkdirSync } from 'node:fs';`,
    `const docs = ${JSON.stringify(docs)};`,
    'const out = process.argv[2]; mkdirSync(out, { recursive: true });',
    "for (const [f, d] of Object.entries(docs)) writeFileSync(out + '/' + f, d.map((o) => yaml.dump(o, { lineWidth: -1, noRefs: true })).join('---\\n'));",
    '',
  ].join('\n');
}

rmSync(WORK, { recursive: true, force: true });
mkdirSync(WORK, { recursive: true });
writeFileSync(join(WORK, 'package.json'), '{"type":"module"}\n');
const checker = await buildChecker();
const programJs = join(ROOT, 'bench', 'cluster-program.mjs');
const appTs = join(ROOT, 'bench', 'cluster-app.ts');
const bin = join(ROOT, 'bin', 'hotk8s.js');
const peerJs = join(ROOT, 'bench', 'peer-cdk8s.mjs');

const rows = [];
const nodeStart = measure('node -e 0', process.execPath, ['-e', '0']);
// the library's own load time: a program that only imports it
const importOnly = measure('import', process.execPath, [join(ROOT, 'bench', 'import-only.mjs')]);
const only = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',')) : undefined;
// BENCH_MODES=program,cdk8s measures only those modes (and the floors, always)
const MODES = process.env.BENCH_MODES ? new Set(process.env.BENCH_MODES.split(',')) : undefined;
for (const s of SCENARIOS.filter((x) => !only || only.has(x.name))) {
  const env = {
    BENCH_GROUPS: String(s.groups),
    BENCH_WORKERS: String(s.workers),
    BENCH_ETCD: String(s.etcd),
    BENCH_MAX_RESOURCES: String(s.maxResources ?? 1000),
  };
  const out = join(WORK, s.name, 'out');
  const state = join(WORK, s.name, 'state');
  // one run first for the output the floors are built from (its time is not counted)
  timed(process.execPath, [programJs, out, state], env);
  const stats = outputStats(out);
  // the floor: the same documents as a plain object literal, dumped with js-yaml into files; floor+check validates
  // them with the library's own synth-time checker first
  const floorJs = join(WORK, s.name, 'floor.mjs');
  const checkedJs = join(WORK, s.name, 'floor-check.mjs');
  writeFileSync(floorJs, floorProgram(stats.docs, false));
  writeFileSync(checkedJs, floorProgram(stats.docs, checker));
  const modes = [
    { label: 'program', cmd: process.execPath, args: [programJs, out, state], env },
    {
      label: 'first',
      cmd: process.execPath,
      args: [programJs, out, state],
      env,
      before: () => rmSync(state, { recursive: true, force: true }),
    },
    { label: 'cli', cmd: process.execPath, args: [bin, 'synth', appTs, '--out', out, '--state', state], env },
    { label: 'floor', cmd: process.execPath, args: [floorJs, join(WORK, s.name, 'floor-out')] },
    { label: 'floor+check', cmd: process.execPath, args: [checkedJs, join(WORK, s.name, 'floor-out')] },
  ];
  // the peer (groups scenarios): the same number of groups with cdk8s (bench/peer-cdk8s.mjs), and its own floor
  let peer;
  if (s.name.startsWith('groups-')) {
    const peerOut = join(WORK, s.name, 'cdk8s-out');
    const peerEnv = { BENCH_GROUPS: String(s.groups) };
    timed(process.execPath, [peerJs, peerOut], peerEnv);
    peer = peerStats(peerOut);
    const peerFloorJs = join(WORK, s.name, 'cdk8s-floor.mjs');
    writeFileSync(peerFloorJs, peerFloorProgram(peer.docs));
    modes.push(
      { label: 'cdk8s', cmd: process.execPath, args: [peerJs, peerOut], env: peerEnv },
      { label: 'cdk8s floor', cmd: process.execPath, args: [peerFloorJs, join(WORK, s.name, 'cdk8s-floor-out')] },
    );
  }
  const wanted = modes.filter((m) => !MODES || MODES.has(m.label) || m.label.includes('floor'));
  const measured = new Map(measureInterleaved(wanted).map((r) => [r.label, r]));
  const [program, first, cli, floor, floorCheck] = ['program', 'first', 'cli', 'floor', 'floor+check'].map((l) => measured.get(l));
  rows.push({
    s,
    program,
    first,
    cli,
    floor,
    floorCheck,
    stats,
    peer,
    cdk8s: measured.get('cdk8s'),
    cdk8sFloor: measured.get('cdk8s floor'),
  });
}

const f2 = (x) => x.toFixed(2);
const f0 = (x) => x.toFixed(0);
console.log(
  `\nhotk8s synth benchmark — ${RUNS} runs after a warm-up, median wall/CPU, max RSS; Node ${process.version}, ${process.platform}`,
);
console.log(`node -e 0: ${f2(nodeStart.wall)} s wall, ${f0(nodeStart.rssMiB)} MiB`);
console.log(`node -e "await import('hotk8s')": ${f2(importOnly.wall)} s wall, ${f0(importOnly.rssMiB)} MiB\n`);
const header = ['scenario', 'resources', 'bytes', 'mode', 'wall s', 'cpu s', 'rss MiB', 'wall/floor', 'rss/floor', 'wall/f+check'];
const lines = [header];
/** One table line: a mode's figures, its ratios against `floor` (and `floorCheck` where there is one). */
const line = (r, what, bytes, m, floor, floorCheck) => [
  r.s.name,
  what,
  String(bytes),
  m.label,
  f2(m.wall),
  f2(m.cpu),
  f0(m.rssMiB),
  f2(m.wall / floor.wall),
  f2(m.rssMiB / floor.rssMiB),
  floorCheck ? f2(m.wall / floorCheck.wall) : '',
];
for (const r of rows) {
  for (const m of [r.program, r.first, r.cli, r.floor, r.floorCheck]) {
    if (m) lines.push(line(r, String(r.stats.resources), r.stats.bytes, m, r.floor, r.floorCheck));
  }
  // the peer: its own objects (not Heat resources) and bytes; wall/floor against its own floor
  for (const m of [r.cdk8s, r.cdk8sFloor]) {
    if (m) lines.push(line(r, `${r.peer.objects} obj`, r.peer.bytes, m, r.cdk8sFloor));
  }
}
const widths = header.map((_, i) => Math.max(...lines.map((l) => l[i].length)));
for (const l of lines) console.log(l.map((c, i) => (i < 1 || i === 3 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));

// hotk8s (program mode, the check on) against the peer, measured in the same interleaved rounds
const versus = rows.filter((r) => r.program && r.cdk8s);
if (versus.length > 0) {
  console.log('\nhotk8s program (check on) vs cdk8s, same interleaved rounds:');
  for (const r of versus) {
    const ratio = r.program.wall / r.cdk8s.wall;
    console.log(
      `${r.s.name.padEnd(10)}  hotk8s ${f2(r.program.wall)} s (${f2(r.program.wall / r.floor.wall)}x its floor, ` +
        `${f2(r.program.wall / r.floorCheck.wall)}x floor+check)  cdk8s ${f2(r.cdk8s.wall)} s ` +
        `(${f2(r.cdk8s.wall / r.cdk8sFloor.wall)}x its floor)  hotk8s/cdk8s ${ratio.toFixed(3)}: ${ratio < 1 ? 'hotk8s faster' : ratio > 1 ? 'cdk8s faster' : 'tie'}` +
        // CPU time (user + system) moves less than wall time with the load of a shared machine
        `; cpu ${f2(r.program.cpu)} s vs ${f2(r.cdk8s.cpu)} s, hotk8s/cdk8s ${(r.program.cpu / r.cdk8s.cpu).toFixed(3)}`,
    );
  }
}

// where a program run's time goes (medians, milliseconds; 'start' is Node's own start-up before the program ran)
const phaseNames = [...new Set(rows.flatMap((r) => Object.keys(r.program.phases)))];
if (phaseNames.length > 0) {
  console.log('\nprogram mode, in-process milliseconds (median):');
  const head = ['scenario', ...phaseNames];
  const table = [head, ...rows.map((r) => [r.s.name, ...phaseNames.map((k) => f0(r.program.phases[k] ?? 0))])];
  const w = head.map((_, i) => Math.max(...table.map((l) => l[i].length)));
  for (const l of table) console.log(l.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  '));
}

// the template for 200 workers differs from the one for 3 only in the size parameter's default and range
const a = rows.find((r) => r.s.name === 'workers-3');
const b = rows.find((r) => r.s.name === 'workers-200');
if (a && b) {
  const diff = [];
  const walk = (x, y, path) => {
    if (JSON.stringify(x) === JSON.stringify(y)) return;
    if (x && y && typeof x === 'object' && typeof y === 'object' && !Array.isArray(x)) {
      for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) walk(x[k], y[k], `${path}.${k}`);
    } else diff.push(path);
  };
  walk(a.stats.docs, b.stats.docs, 'templates');
  console.log(`\nworkers-3 vs workers-200 templates differ at: ${diff.length ? diff.join(', ') : '(nowhere)'}`);
}
