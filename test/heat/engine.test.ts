import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_HEAT_PYTHON,
  HEAT_ENGINE_INSTALL_HINT,
  HeatEngineUnavailableError,
  HeatHarnessError,
  heatEngineAvailable,
  heatValidateScript,
  validateManyWithHeat,
  validateWithHeat,
  type HeatEngineBatchReport,
  type HeatEngineReport,
  type HeatValidateJob,
} from '../../src/heat/engine/index.js';

const fixtures = join(import.meta.dirname, '..', 'fixtures');
const positive = join(fixtures, 'heat-positive');
const negative = join(fixtures, 'negative');
const positiveJob: HeatValidateJob = { template: join(positive, 'root.yaml'), environments: [join(positive, 'env.yaml')] };

interface Expected {
  heat: { rejects: boolean; message?: string; role?: string };
  hotk8s: { rejects: boolean; rule: string; message: string };
}
const negativeCases = readdirSync(negative)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => ({
    name: basename(f, '.yaml'),
    template: join(negative, f),
    expected: JSON.parse(readFileSync(join(negative, `${basename(f, '.yaml')}.expected.json`), 'utf8')) as Expected,
  }));

/** Fails (never skips) where the engine is missing, saying what to install. */
async function requireHeat(): Promise<void> {
  const ok = await heatEngineAvailable();
  if (!ok) throw new Error(`python3-heat is not importable with ${DEFAULT_HEAT_PYTHON}: ${HEAT_ENGINE_INSTALL_HINT}`);
}

const missingFile = join(negative, 'does-not-exist.yaml');
// A copy of the scaling fixture whose scaled member has a property of the wrong type (made in beforeAll).
const brokenScaling = mkdtempSync(join(tmpdir(), 'hotk8s-heat-scaling-'));
// Every job of the suite runs in one Python process: Heat is imported once.
const jobs = {
  positive: positiveJob,
  allMembers: { ...positiveJob, parameters: { flavor: 'm1.small', worker_count: '3' }, allMembers: true },
  noWorkers: { ...positiveJob, parameters: { worker_count: '0' } },
  badCidr: { ...positiveJob, parameters: { cluster_cidr: 'not-a-cidr' } },
  missing: { template: missingFile },
  scaling: { template: join(positive, 'scaling.yaml') },
  brokenScaling: { template: join(brokenScaling, 'scaling.yaml') },
  adminOnly: { template: join(brokenScaling, 'admin-only.yaml') },
} satisfies Record<string, HeatValidateJob>;
const jobNames = Object.keys(jobs) as (keyof typeof jobs)[];

let batch: HeatEngineBatchReport;
const reportOf = (template: string): HeatEngineReport => {
  const i = negativeCases.findIndex((c) => c.template === template);
  const r = batch.reports[jobNames.length + i];
  if (i < 0 || !r) throw new Error(`no report for ${template}`);
  expect(r.template).toBe(template);
  return r;
};
const reportFor = (name: keyof typeof jobs): HeatEngineReport => {
  const r = batch.reports[jobNames.indexOf(name)];
  if (!r) throw new Error(`no report for job ${name}`);
  return r;
};

beforeAll(async () => {
  await requireHeat();
  writeFileSync(
    join(brokenScaling, 'admin-only.yaml'),
    'heat_template_version: 2021-04-16\nresources:\n  flavor:\n    type: OS::Nova::Flavor\n    properties: { ram: 1024, vcpus: 1 }\n',
  );
  writeFileSync(join(brokenScaling, 'scaling.yaml'), readFileSync(join(positive, 'scaling.yaml')));
  const member = readFileSync(join(positive, 'scaled-member.yaml'), 'utf8');
  expect(member).toContain('      image: debian-12\n');
  writeFileSync(
    join(brokenScaling, 'scaled-member.yaml'),
    member.replace('      image: debian-12\n', '      image: debian-12\n      config_drive: maybe\n'),
  );
  batch = await validateManyWithHeat([...jobNames.map((n) => jobs[n]), ...negativeCases.map((c) => ({ template: c.template }))]);
});

afterAll(() => rmSync(brokenScaling, { recursive: true, force: true }));

describe('real Heat engine harness', () => {
  it('has python3-heat importable with Debian python', async () => {
    expect(await heatEngineAvailable(), HEAT_ENGINE_INSTALL_HINT).toBe(true);
    expect(batch.heatVersion).toBe('19.0.0');
    expect(batch.importSeconds).toBeGreaterThan(0);
  });

  describe('positive fixture', () => {
    it('is accepted, with the root, the template resource and the group member each validated', () => {
      const r = reportFor('positive');
      expect(r.templates.flatMap((t) => t.errors)).toEqual([]);
      expect(r.ok).toBe(true);
      const seen = r.templates.map((t) => [t.role, basename(t.file), t.resource, t.ok]);
      expect(seen).toEqual([
        ['root', 'root.yaml', 'hotk8s-validate', true],
        ['nested', 'bastion.yaml', 'hotk8s-validate/bastion', true],
        ['member', 'worker.yaml', 'hotk8s-validate/workers/0', true],
      ]);
    });

    it('supplies typed placeholders for site parameters that have no value and reports them', () => {
      const r = reportFor('positive');
      expect(r.placeholderParameters.map((p) => p.name).sort()).toEqual(['external_network', 'flavor', 'image', 'key_name']);
      for (const p of r.placeholderParameters) expect(p.type).toBe('string');
    });

    it('lists the client-backed constraints it could not check offline, with their location', () => {
      const r = reportFor('positive');
      const key = (c: (typeof r.skippedConstraints)[number]) =>
        `${basename(c.file ?? '')}:${c.resource ?? ''}${c.parameter ? 'param ' + c.parameter : ''}.${c.property ?? ''}=${c.constraint}`;
      const keys = r.skippedConstraints.map(key);
      expect(keys).toEqual(
        expect.arrayContaining([
          'root.yaml:param flavor.=nova.flavor',
          'root.yaml:param image.=glance.image',
          'root.yaml:param key_name.=nova.keypair',
          'root.yaml:master.flavor=nova.flavor',
          'worker.yaml:server.image=glance.image',
          'worker.yaml:port.network=neutron.network',
          'bastion.yaml:floating_ip.floating_network=neutron.network',
        ]),
      );
      // offline constraints (net_cidr on cluster_cidr) are checked for real, not skipped
      expect(r.skippedConstraints.some((c) => c.constraint === 'net_cidr')).toBe(false);
      // the server's own image lookup could not run either, and says so
      expect(r.skippedLookups).toEqual(expect.arrayContaining([expect.objectContaining({ client: 'glance', resource: 'master' })]));
    });

    it('stands in for values that only exist once the parent is created, per member parameter type', () => {
      const member = reportFor('positive').templates.find((t) => t.role === 'member');
      expect(member?.unresolvedInputs.map((u) => [u.name, u.dependsOn.join(',')])).toEqual([
        ['network', 'network'],
        ['subnet', 'subnet'],
        ['security_group', 'secgroup'],
        ['api_address', 'master_port'],
      ]);
    });
  });

  describe.each(negativeCases)('negative fixture $name', ({ name, template, expected }) => {
    it(expected.heat.rejects ? 'is rejected by Heat with the expected message' : 'is accepted silently by Heat', () => {
      const r = reportOf(template);
      expect(r.harnessError).toBeUndefined();
      const errors = r.templates.flatMap((t) => t.errors.map((e) => ({ role: t.role, e })));
      if (expected.heat.rejects) {
        expect(r.ok, `${name} should be rejected`).toBe(false);
        expect(errors.map((x) => x.e).join('\n')).toContain(expected.heat.message);
        if (expected.heat.role) {
          expect(errors.find((x) => x.e.includes(expected.heat.message ?? ''))?.role).toBe(expected.heat.role);
        }
      } else {
        expect(errors).toEqual([]);
        expect(r.ok).toBe(true);
      }
    });
  });

  it('validates AutoScalingGroup members, OS::Heat::Stack templates and deployment groups', () => {
    const r = reportFor('scaling');
    expect(r.templates.flatMap((t) => t.errors)).toEqual([]);
    expect(r.templates.map((t) => [t.role, t.resource, basename(t.file)])).toEqual([
      ['root', 'hotk8s-validate', 'scaling.yaml'],
      ['member', 'hotk8s-validate/configure/0', 'configure<OS::Heat::SoftwareDeployment>'],
      ['nested', 'hotk8s-validate/ingress', 'ingress<OS::Heat::Stack>'],
      ['member', 'hotk8s-validate/workers/0', 'scaled-member.yaml'],
    ]);
    // OS::Heat::Stack would ask a Heat API to validate its template: recorded as a lookup that could not run
    expect(r.skippedLookups).toEqual(expect.arrayContaining([expect.objectContaining({ client: 'heat', resource: 'ingress' })]));
  });

  it('checks property values inside scaled members and OS::Heat::Stack templates strictly', () => {
    const r = reportFor('brokenScaling');
    expect(r.ok).toBe(false);
    const failing = r.templates.filter((t) => !t.ok).map((t) => [t.resource, t.errors.join('\n')]);
    expect(failing).toEqual([
      ['hotk8s-validate/ingress', expect.stringContaining('config_drive: "maybe" is not a valid boolean')],
      ['hotk8s-validate/workers/0', expect.stringContaining('config_drive: "maybe" is not a valid boolean')],
    ]);
  });

  it("holds the stack to a project member's resource-type policy (admin-only types are refused)", () => {
    const r = reportFor('adminOnly');
    expect(r.ok).toBe(false);
    expect(r.templates[0]?.errors).toEqual(['You are not authorized to use resource_types:OS::Nova::Flavor.']);
  });

  it('passes parameters through and validates every member with allMembers', () => {
    const r = reportFor('allMembers');
    expect(r.ok).toBe(true);
    expect(r.placeholderParameters.map((p) => p.name)).not.toContain('flavor');
    expect(r.skippedConstraints).toEqual(
      expect.arrayContaining([expect.objectContaining({ constraint: 'nova.flavor', parameter: 'flavor', value: 'm1.small' })]),
    );
    expect(r.templates.filter((t) => t.role === 'member').map((t) => t.resource)).toEqual([
      'hotk8s-validate/workers/0',
      'hotk8s-validate/workers/1',
      'hotk8s-validate/workers/2',
    ]);
  });

  it('validates no member of a group whose condition is false', () => {
    const r = reportFor('noWorkers');
    expect(r.ok).toBe(true);
    expect(r.templates.map((t) => t.role)).toEqual(['root', 'nested']);
  });

  it('rejects a parameter value that breaks an offline constraint (net_cidr)', () => {
    const r = reportFor('badCidr');
    expect(r.ok).toBe(false);
    expect(r.templates[0]?.errors.join('\n')).toContain('cluster_cidr');
  });

  it('reports a missing file as a harness error of that job only, and validateWithHeat throws it', async () => {
    expect(reportFor('missing')).toMatchObject({ ok: false, harnessError: `file not found: ${missingFile}` });
    await expect(validateWithHeat({ template: missingFile })).rejects.toThrow(
      expect.objectContaining({ name: HeatHarnessError.name, message: expect.stringContaining(`file not found: ${missingFile}`) }),
    );
  });

  it('reports the import cost and a per-stack time', () => {
    expect(batch.importSeconds).toBeGreaterThan(0);
    expect(reportFor('positive').seconds).toBeGreaterThan(0);
    for (const t of reportFor('positive').templates) expect(t.seconds).toBeGreaterThan(0);
  });

  describe('the command line', () => {
    const cli = (...args: string[]) => spawnSync(DEFAULT_HEAT_PYTHON, [heatValidateScript(), ...args], { encoding: 'utf8' });

    it('exits 0 when Heat accepts, 1 when it rejects, 2 on a harness error', () => {
      const ok = cli(positiveJob.template, '-e', join(positive, 'env.yaml'), '--param', 'worker_count=1');
      expect(ok.status, ok.stderr).toBe(0);
      expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, heatVersion: '19.0.0' });
      const bad = cli(join(negative, 'unknown-property.yaml'));
      expect(bad.status).toBe(1);
      expect(JSON.parse(bad.stdout).templates[0].errors[0]).toContain('Unknown Property nmae');
      const missing = cli(join(negative, 'nope.yaml'));
      expect(missing.status).toBe(2);
      expect(missing.stderr).toContain('file not found');
    });
  });

  describe('without python3-heat', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'hotk8s-noheat-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('says what to install when the interpreter cannot import Heat', async () => {
      // Debian's python without site-packages: Heat is not importable.
      const python = join(dir, 'python-without-heat');
      writeFileSync(python, `#!/bin/sh\nexec ${DEFAULT_HEAT_PYTHON} -S "$@"\n`);
      chmodSync(python, 0o755);
      expect(await heatEngineAvailable({ python })).toBe(false);
      await expect(validateWithHeat({ ...positiveJob, python })).rejects.toThrow(
        expect.objectContaining({
          name: HeatEngineUnavailableError.name,
          message: expect.stringContaining('apt-get install -y python3-heat python3-heatclient'),
        }),
      );
    });

    it('says what to install when the interpreter does not exist', async () => {
      const python = join(dir, 'no-such-python');
      await expect(validateWithHeat({ ...positiveJob, python })).rejects.toThrow(HEAT_ENGINE_INSTALL_HINT);
    });
  });
});
