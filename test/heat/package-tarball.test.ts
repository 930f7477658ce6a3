/**
 * The package as a user installs it: `npm pack` of the built tree, `hotk8s init` of a fresh project beside it, the
 * tarball installed there without the network (test/lib/packed-project.ts), then the project's own `npm run synth`,
 * `npm test` and `tsc`, and every command a user runs next through the installed bin: `params`, `graph`, `diff` (a
 * worker-count change against the last synth), the real Heat engine's `validate`, `kubeconfig` (with the API address
 * given; against a stack on the Heat twin in test/twin/kubeconfig.test.ts) and `init --from`. A file the package needs
 * and does not ship (the bundle, a declaration file, the Heat harness script, a ready-made stack) fails it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initProject, installedBin, installTarball, packTree, run } from '../lib/packed-project.js';

describe('the packed tarball in a fresh project', () => {
  const work = mkdtempSync(join(tmpdir(), 'hotk8s-tarball-'));
  let project = '';
  let tarball = '';

  beforeAll(() => {
    tarball = packTree(work);
  }, 300_000);

  it('ships no source maps and no compiled-but-bundled JavaScript', () => {
    const listed = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n').filter(Boolean);
    expect(listed.filter((f) => f.endsWith('.map'))).toEqual([]);
    expect(listed.filter((f) => /^package\/dist\/src\/.*(?<!\.d\.ts)$/.test(f))).toEqual([]);
    expect(listed).toContain('package/dist/lib/src/index.js');
    expect(listed).toContain('package/src/heat/engine/heat_validate.py');
  });

  it('init -> npm ci --offline -> npm run synth -> npm test -> tsc -> validate --engine heat', () => {
    project = initProject(work, 'my-cluster');
    const pkg = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(pkg.dependencies['hotk8s']).toMatch(/^\^\d/);
    const install = installTarball(project, tarball);
    expect(install.status, install.out).toBe(0);
    // bundled into dist/lib: not installed beside it
    for (const name of ['handlebars', 'yargs', 'js-yaml', 'ajv', 'ajv-formats', '@peculiar/x509']) {
      expect(existsSync(join(project, 'node_modules', name)), name).toBe(false);
    }
    expect(existsSync(join(project, 'node_modules', 'constructs', 'package.json'))).toBe(true);

    const synth = run(project, 'npm', ['run', 'synth']);
    expect(synth.status, synth.out).toBe(0);
    expect(synth.out).toContain('create with: (cd hotk8s.out && openstack stack create -t cluster.yaml');
    const manifest = JSON.parse(readFileSync(join(project, 'hotk8s.out', 'manifest.json'), 'utf8')) as { stacks: Array<{ name: string }> };
    expect(manifest.stacks.map((s) => s.name)).toEqual(['cluster']);
    expect(existsSync(join(project, '.hotk8s'))).toBe(true);

    const test = run(project, 'npm', ['test']);
    expect(test.status, test.out).toBe(0);
    expect(test.out).toMatch(/Tests\s+1 passed/);

    // the declaration files of every entry point ship: the user's program and test type-check against them
    const tsc = run(project, process.execPath, [join(project, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.']);
    expect(tsc.status, tsc.out).toBe(0);

    // the installed bin, with the Heat harness script the package ships
    const heat = run(project, installedBin(project), ['validate', '--engine', 'heat', 'hotk8s.out']);
    expect(heat.status, heat.out).toBe(0);
    expect(heat.out).toMatch(/^ok \(Heat [\d.]+\): hotk8s\.out\/cluster\.yaml \(8 template\(s\)/m);

    // and the installed init, from a stack the package ships
    const from = run(project, installedBin(project), ['init', 'dev', '--from', 'dev']);
    expect(from.status, from.out).toBe(0);
    expect(readFileSync(join(project, 'dev', 'app.ts'), 'utf8')).toContain("from 'hotk8s'");
  });

  it('params, graph and diff through the installed bin', () => {
    expect(project, 'the project of the test before').not.toBe('');
    const bin = installedBin(project);
    const params = run(project, bin, ['params', 'app.ts']);
    expect(params.status, params.out).toBe(0);
    expect(params.stdout).toMatch(/^parameters:$/m);
    expect(params.stdout).toMatch(/^ {2}image: /m);
    const paramsJson = run(project, bin, ['params', 'hotk8s.out', '--json']);
    expect(paramsJson.status, paramsJson.out).toBe(0);
    const [entry] = JSON.parse(paramsJson.stdout) as {
      stack: string;
      parameters: { name: string; required: boolean }[];
      createCommand: string;
    }[];
    expect(entry!.stack).toBe('cluster');
    const required = entry!.parameters.filter((p) => p.required).map((p) => p.name);
    expect(required).toContain('image');
    for (const p of required) expect(entry!.createCommand).toContain(`--parameter ${p}=`);

    const mermaid = run(project, bin, ['graph', 'app.ts']);
    expect(mermaid.status, mermaid.out).toBe(0);
    expect(mermaid.stdout).toMatch(/^%% cluster: estimated time to CREATE_COMPLETE \d+ s/m);
    expect(mermaid.stdout).toMatch(/^flowchart /m);
    const graph = run(project, bin, ['graph', 'hotk8s.out', '--json']);
    expect(graph.status, graph.out).toBe(0);
    const [g] = JSON.parse(graph.stdout) as { files: string[]; nodes: { type: string; critical: boolean }[]; totalSec: number }[];
    expect(g!.files.length).toBeGreaterThan(1);
    expect(g!.nodes.some((n) => n.type === 'OS::Nova::Server' && n.critical)).toBe(true);

    // no change yet: the last synth (hotk8s.out) against the program
    const same = run(project, bin, ['diff', '--app', 'app.ts']);
    expect(same.status, same.out).toBe(0);
    expect(same.stdout.trim()).toBe('no changes');
    // five workers instead of the default group's three: the group resized, nothing stateful replaced
    const app = join(project, 'app.ts');
    writeFileSync(
      app,
      readFileSync(app, 'utf8').replace("{ name: 'k8s' }", "{ name: 'k8s', workerGroups: [{ name: 'default', size: 5 }] }"),
    );
    const diff = run(project, bin, ['diff', '--app', 'app.ts', '--fail-on-replace=stateful']);
    expect(diff.status, diff.out).toBe(0);
    expect(diff.stdout).toMatch(/^resized {2}cluster\/\S+ \(OS::Heat::ResourceGroup\): count 3 -> 5$/m);
    expect(diff.stdout).not.toMatch(/REPLACED STATEFUL/);
    // two synth outputs
    const next = run(project, bin, ['synth', 'app.ts', '--out', 'next.out']);
    expect(next.status, next.out).toBe(0);
    const two = run(project, bin, ['diff', 'hotk8s.out', 'next.out', '--json']);
    expect(two.status, two.out).toBe(0);
    const changes = (JSON.parse(two.stdout) as { changes: { kind: string; path: string }[] }).changes;
    // the worker group's servers and their ports, each a group of three members made five
    const resized = changes.filter((c) => c.kind === 'resized').map((c) => c.path);
    expect(resized).toEqual([
      expect.stringMatching(/^cluster\/ClusterWorkersdefaultWorkersNodesGroup/),
      expect.stringMatching(/^cluster\/ClusterWorkersdefaultWorkersPortsGroup/),
    ]);
    // and each group's two new members (3 and 4) added; nothing else changes
    const added = changes.filter((c) => c.kind === 'added').map((c) => c.path.replace(/Group[0-9A-F]{8}/, 'Group'));
    expect(added.sort()).toEqual([
      'cluster/ClusterWorkersdefaultWorkersNodesGroup/3',
      'cluster/ClusterWorkersdefaultWorkersNodesGroup/4',
      'cluster/ClusterWorkersdefaultWorkersPortsGroup/3',
      'cluster/ClusterWorkersdefaultWorkersPortsGroup/4',
    ]);
    expect(changes.filter((c) => c.kind !== 'resized' && c.kind !== 'added')).toEqual([]);
    expect(diff.stdout).toMatch(/^2 resized, 4 added$/m);
  });

  it('kubeconfig through the installed bin, from the state directory the synth wrote', () => {
    expect(project, 'the project of the test before').not.toBe('');
    const r = run(project, installedBin(project), ['kubeconfig', 'mycluster', '--api-address', '203.0.113.7', '--json']);
    expect(r.status, r.out).toBe(0);
    const result = JSON.parse(r.stdout) as { ok: boolean; file: string };
    expect(result.ok).toBe(true);
    const file = join(project, 'mycluster.kubeconfig');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('server: https://203.0.113.7:6443');
    expect(text).toMatch(/^current-context: mycluster$/m);
  });
});
