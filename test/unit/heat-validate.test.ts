import { mkdtempSync, writeFileSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  formatIssue,
  resolveHotVersion,
  validateHotBundle,
  validateHotDocument,
  validateHotFiles,
  validateHotText,
  type TemplateIssue,
} from '../../src/heat/validate.js';
import { loadedValidatorCount } from '../../src/heat/validate-schema.js';

const here = dirname(fileURLToPath(import.meta.url));

type Doc = Record<string, unknown>;
const hot = (rest: Doc, version = '2018-08-31'): Doc => ({ heat_template_version: version, ...rest });
const net = { type: 'OS::Neutron::Net', properties: { name: 'n' } };
const rules = (issues: readonly TemplateIssue[]): string[] => issues.filter((i) => i.severity === 'error').map((i) => i.rule);
const only = (issues: readonly TemplateIssue[], rule: string): TemplateIssue[] => issues.filter((i) => i.rule === rule);

describe('validateHotDocument: a valid document', () => {
  it('gives no issue for a realistic template', async () => {
    const doc = hot({
      description: 'ok',
      parameters: {
        image: { type: 'string', constraints: [{ custom_constraint: 'glance.image' }] },
        flavor: { type: 'string', default: 'm1.small' },
        size: { type: 'number', default: 3, constraints: [{ range: { min: 1, max: 7 } }, { modulo: { step: 2, offset: 1 } }] },
        lb: { type: 'boolean', default: false },
      },
      conditions: { with_lb: { equals: [{ get_param: 'lb' }, true] } },
      resources: {
        net,
        subnet: { type: 'OS::Neutron::Subnet', properties: { network: { get_resource: 'net' }, cidr: '10.0.0.0/24', ip_version: '4' } },
        port: {
          type: 'OS::Neutron::Port',
          properties: { network: { get_resource: 'net' }, fixed_ips: [{ subnet: { get_resource: 'subnet' } }], admin_state_up: 'True' },
        },
        server: {
          type: 'OS::Nova::Server',
          depends_on: ['subnet'],
          properties: {
            image: { get_param: 'image' },
            flavor: { get_param: 'flavor' },
            networks: [{ port: { get_resource: 'port' } }],
            user_data: { str_replace: { template: 'x=$X', params: { $X: { get_attr: ['port', 'fixed_ips', 0, 'ip_address'] } } } },
            user_data_format: 'RAW',
            metadata: { a: { list_join: [',', ['a', 'b']] } },
          },
        },
        group: {
          type: 'OS::Heat::ResourceGroup',
          condition: 'with_lb',
          properties: { count: { get_param: 'size' }, resource_def: { type: 'OS::Heat::RandomString', properties: { length: 8 } } },
        },
      },
      outputs: {
        ip: { value: { get_attr: ['server', 'first_address'] } },
        first: { value: { get_attr: ['group', 'resource.0', 'value'] }, condition: 'with_lb' },
        all: { value: { get_attr: ['server', 'show'] } },
        stack: { value: { get_param: 'OS::stack_name' } },
      },
    });
    expect(await validateHotDocument(doc)).toEqual([]);
  });

  it('compiles property schemas lazily, once per type', async () => {
    const before = loadedValidatorCount();
    await validateHotDocument(hot({ resources: { a: { type: 'OS::Heat::None' }, b: { type: 'OS::Heat::None' } } }, '2017-02-24'));
    const after = loadedValidatorCount();
    expect(after - before).toBe(2); // the 2017-02-24 document schema and OS::Heat::None
    await validateHotDocument(hot({ resources: { c: { type: 'OS::Heat::None' } } }, '2017-02-24'));
    expect(loadedValidatorCount()).toBe(after);
  });
});

describe('document shape', () => {
  it('fails when the version is missing or unknown', async () => {
    expect(rules(await validateHotDocument({ resources: {} }))).toEqual(['version-missing']);
    const issues = await validateHotDocument({ heat_template_version: '2019-01-01' });
    expect(rules(issues)).toEqual(['version-unknown']);
    expect(issues[0]!.message).toContain('2021-04-16');
  });

  it('accepts release names and YAML dates', async () => {
    expect(resolveHotVersion('rocky')).toBe('2018-08-31');
    expect(resolveHotVersion(new Date('2016-10-14T00:00:00Z'))).toBe('2016-10-14');
    expect(resolveHotVersion('Rocky')).toBeUndefined();
    expect(await validateHotDocument({ heat_template_version: 'queens', resources: { net } })).toEqual([]);
  });

  it('fails on an unknown section, with a suggestion', async () => {
    const issues = await validateHotDocument(hot({ resource: { net } }));
    expect(rules(issues)).toEqual(['unknown-section']);
    expect(issues[0]!.message).toContain('did you mean `resources`?');
    expect(rules(await validateHotDocument(hot({ conditions: {} }, '2016-04-08')))).toEqual(['unknown-section']);
    expect(rules(await validateHotDocument(hot({ conditions: {} }, '2016-10-14')))).toEqual([]);
  });

  it('fails on an unknown resource key and a resource without type', async () => {
    expect(rules(await validateHotDocument(hot({ resources: { net: { ...net, propertes: {} } } })))).toEqual(['resource-key-unknown']);
    expect(rules(await validateHotDocument(hot({ resources: { net: { properties: {} } } })))).toEqual(['resource-type-missing']);
  });

  it('fails on a bad parameter definition', async () => {
    expect(rules(await validateHotDocument(hot({ parameters: { p: { type: 'integer' } } })))).toEqual(['parameter-type-unknown']);
    expect(
      rules(
        await validateHotDocument(
          hot({ parameters: { p: { type: 'number', constraints: [{ modulo: { step: 2, offset: 1 } }] } } }, '2016-10-14'),
        ),
      ),
    ).toEqual(['parameter-constraint-unknown']);
    expect(rules(await validateHotDocument(hot({ parameters: { p: { type: 'string', defualt: 'x' } } })))).toEqual([
      'parameter-key-unknown',
    ]);
  });

  it('fails on an output without value', async () => {
    expect(rules(await validateHotDocument(hot({ outputs: { o: { description: 'x' } } })))).toEqual(['output-value-missing']);
  });
});

describe('resource properties (ajv)', () => {
  it('fails when a required property is missing, naming the construct path from describe', async () => {
    const issues = await validateHotDocument(hot({ resources: { server: { type: 'OS::Nova::Server', properties: { image: 'x' } } } }), {
      describe: (id) => (id === 'server' ? 'Cluster/Workers/Server' : undefined),
    });
    expect(rules(issues)).toEqual(['required-property']);
    expect(formatIssue(issues[0]!)).toBe('Cluster/Workers/Server: property `flavor` is required by OS::Nova::Server');
    expect(issues[0]!.path).toBe('resources.server.properties.flavor');
  });

  it('fails on an unknown property with a suggestion', async () => {
    const issues = await validateHotDocument(hot({ resources: { net: { type: 'OS::Neutron::Net', properties: { nmae: 'x' } } } }));
    expect(rules(issues)).toEqual(['unknown-property']);
    expect(issues[0]!.message).toBe('`nmae` is not a property of OS::Neutron::Net (did you mean `name`?)');
  });

  it('fails on an unknown key inside a nested property', async () => {
    const issues = await validateHotDocument(
      hot({ resources: { s: { type: 'OS::Nova::Server', properties: { flavor: 'f', networks: [{ prot: 'p' }] } } } }),
    );
    expect(rules(issues)).toEqual(['unknown-property']);
    expect(issues[0]!.message).toContain('property `networks[0]`');
    expect(issues[0]!.message).toContain('did you mean `port`?');
  });

  it('fails on a wrong type, following Heat coercions', async () => {
    const listener = (port: unknown): Doc =>
      hot({
        resources: { l: { type: 'OS::Octavia::Listener', properties: { protocol: 'TCP', protocol_port: port, loadbalancer: 'lb' } } },
      });
    const issues = await validateHotDocument(listener('https'));
    expect(rules(issues)).toEqual(['property-type']);
    expect(issues[0]!.message).toBe('property `protocol_port` of OS::Octavia::Listener must be an integer; got "https"');
    expect(await validateHotDocument(listener('443'))).toEqual([]); // Heat reads "443" as 443
    expect(await validateHotDocument(listener({ get_param: 'OS::stack_id' }))).toEqual([]);
    expect(rules(await validateHotDocument(listener([443])))).toEqual(['property-type']);
  });

  it('fails on a value outside allowed values or range', async () => {
    const issues = await validateHotDocument(
      hot({
        resources: { l: { type: 'OS::Octavia::Listener', properties: { protocol: 'FTP', protocol_port: 70000, loadbalancer: 'lb' } } },
      }),
    );
    expect(rules(issues).sort()).toEqual(['property-value', 'property-value']);
    expect(issues.map((i) => i.message).join('\n')).toMatch(/protocol` of OS::Octavia::Listener must be one of .*"TCP".*got "FTP"/);
  });

  it('checks the member definition of a ResourceGroup', async () => {
    const issues = await validateHotDocument(
      hot({
        resources: {
          g: { type: 'OS::Heat::ResourceGroup', properties: { resource_def: { type: 'OS::Nova::Server', properties: { image: 'x' } } } },
        },
      }),
    );
    expect(rules(issues)).toEqual(['required-property']);
    expect(issues[0]!.message).toContain('the member definition `resource_def` of OS::Heat::ResourceGroup');
  });

  it('warns about unknown, hidden, deprecated and admin-only types without failing', async () => {
    const issues = await validateHotDocument(
      hot({
        resources: {
          a: { type: 'OS::Nova::Sever' },
          b: { type: 'OS::Nova::FloatingIP' },
          c: { type: 'OS::Nova::Flavor', properties: { ram: 1, vcpus: 1 } },
        },
      }),
    );
    expect(rules(issues)).toEqual([]);
    expect(issues.map((i) => i.rule).sort()).toEqual(['resource-type-admin-only', 'resource-type-hidden', 'resource-type-unknown']);
    expect(only(issues, 'resource-type-unknown')[0]!.message).toContain('did you mean `OS::Nova::Server`?');
  });
});

describe('references', () => {
  it('fails on get_resource, depends_on and get_attr to a missing resource', async () => {
    const issues = await validateHotDocument(
      hot({
        resources: {
          subnet: {
            type: 'OS::Neutron::Subnet',
            depends_on: 'nett',
            properties: { network: { get_resource: 'network' }, cidr: '10.0.0.0/24' },
          },
          net,
        },
        outputs: { o: { value: { get_attr: ['nope', 'x'] } } },
      }),
    );
    expect(rules(issues)).toEqual(['missing-resource', 'missing-resource', 'missing-resource']);
    expect(issues[0]!.message).toContain('did you mean `net`?');
  });

  it('fails on get_attr of an attribute the type does not have', async () => {
    const issues = await validateHotDocument(
      hot({ resources: { net }, outputs: { o: { value: { get_attr: ['net', 'first_address'] } } } }),
    );
    expect(rules(issues)).toEqual(['unknown-attribute']);
    expect(issues[0]!.message).toContain('OS::Neutron::Net does not have');
    // dynamic attributes: software deployment outputs and group members
    const ok = hot({
      resources: {
        cfg: { type: 'OS::Heat::SoftwareConfig', properties: { config: 'x' } },
        dep: { type: 'OS::Heat::SoftwareDeployment', properties: { config: { get_resource: 'cfg' }, server: 's' } },
      },
      outputs: { o: { value: { get_attr: ['dep', 'my_output'] } } },
    });
    expect(await validateHotDocument(ok)).toEqual([]);
  });

  it('fails on get_param of an undeclared parameter, not on pseudo parameters', async () => {
    const doc = hot({
      parameters: { key: { type: 'string' } },
      resources: { net: { type: 'OS::Neutron::Net', properties: { name: { get_param: 'kye' } } } },
    });
    const issues = await validateHotDocument(doc);
    expect(rules(issues)).toEqual(['undeclared-parameter']);
    expect(issues[0]!.message).toContain('did you mean `key`?');
    expect(
      await validateHotDocument(
        hot({ resources: { net: { type: 'OS::Neutron::Net', properties: { name: { get_param: 'OS::stack_name' } } } } }),
      ),
    ).toEqual([]);
  });

  it('fails on a condition name that is not defined', async () => {
    expect(rules(await validateHotDocument(hot({ conditions: { a: true }, resources: { net: { ...net, condition: 'b' } } })))).toEqual([
      'missing-condition',
    ]);
    expect(rules(await validateHotDocument(hot({ conditions: { a: true }, resources: { net: { ...net, condition: 'a' } } })))).toEqual([]);
  });

  it('fails on a parameter group listing an undeclared parameter', async () => {
    expect(rules(await validateHotDocument(hot({ parameter_groups: [{ label: 'g', parameters: ['x'] }] })))).toEqual([
      'parameter-group-unknown',
    ]);
  });
});

describe('dependency cycles', () => {
  const sg = (extra: Doc): Doc => ({ type: 'OS::Neutron::SecurityGroup', ...extra });
  it('fails on a cycle through get_resource and depends_on', async () => {
    const issues = await validateHotDocument(
      hot({ resources: { sg_a: sg({ properties: { description: { get_resource: 'sg_b' } } }), sg_b: sg({ depends_on: ['sg_a'] }) } }),
    );
    expect(rules(issues)).toEqual(['dependency-cycle']);
    expect(issues[0]!.message).toBe(
      'resources `sg_a`, `sg_b` form a dependency cycle (`sg_a` get_resource `sg_b`, `sg_b` depends_on `sg_a`); Heat cannot order them, so stack create fails; remove one of these references',
    );
  });

  it('fails on a resource that refers to itself and on a three-resource cycle through get_attr', async () => {
    expect(rules(await validateHotDocument(hot({ resources: { a: sg({ properties: { name: { get_attr: ['a', 'show'] } } }) } })))).toEqual([
      'dependency-cycle',
    ]);
    const three = await validateHotDocument(
      hot({
        resources: { a: sg({ depends_on: 'b' }), b: sg({ depends_on: 'c' }), c: sg({ properties: { name: { get_attr: ['a', 'show'] } } }) },
      }),
    );
    expect(rules(three)).toEqual(['dependency-cycle']);
    expect(three[0]!.message).toContain('`a` depends_on `b`, `b` depends_on `c`, `c` get_attr `a`');
  });

  it('gives no cycle for a diamond', async () => {
    expect(
      await validateHotDocument(
        hot({ resources: { a: sg({}), b: sg({ depends_on: 'a' }), c: sg({ depends_on: 'a' }), d: sg({ depends_on: ['b', 'c'] }) } }),
      ),
    ).toEqual([]);
  });
});

describe('function availability per template version', () => {
  const withOutput = (version: string): Doc => hot({ outputs: { o: { value: { list_concat: [[1], [2]] } } } }, version);
  it('fails on a function newer than the declared version, in an output too', async () => {
    const issues = await validateHotDocument(withOutput('2016-10-14'));
    expect(rules(issues)).toEqual(['function-version']);
    expect(issues[0]!.message).toContain('needs heat_template_version 2017-09-01 or later');
    expect(issues[0]!.message).toContain('silently return the map itself');
    expect(await validateHotDocument(withOutput('2017-09-01'))).toEqual([]);
  });

  it('reports a too-new function in a typed property once', async () => {
    const doc = hot(
      { resources: { p: { type: 'OS::Neutron::Port', properties: { network: 'n', security_groups: { list_concat: [['a'], ['b']] } } } } },
      '2016-10-14',
    );
    expect(rules(await validateHotDocument(doc))).toEqual(['function-version']);
  });

  it('fails on a removed CFN function and on a condition function newer than the version', async () => {
    const cfn = await validateHotDocument(hot({ outputs: { o: { value: { 'Fn::Join': [',', ['a']] } } } }));
    expect(rules(cfn)).toEqual(['function-removed']);
    expect(cfn[0]!.message).toContain('use list_join');
    const cond = await validateHotDocument(
      hot({ parameters: { p: { type: 'string' } }, conditions: { c: { contains: ['a', { get_param: 'p' }] } } }, '2016-10-14'),
    );
    expect(rules(cond)).toEqual(['function-version']);
  });

  it('fails on a function that conditions do not allow', async () => {
    const issues = await validateHotDocument(
      hot({ resources: { net }, conditions: { c: { equals: [{ get_attr: ['net', 'name'] }, 'x'] } } }),
    );
    expect(rules(issues)).toEqual(['condition-function-invalid']);
  });
});

describe('conditions that can never be true', () => {
  const doc = (right: unknown, type = 'boolean'): Doc =>
    hot({
      parameters: { enable_health_monitor: { type, default: true } },
      conditions: { create_health_monitor: { not: { equals: [{ get_param: 'enable_health_monitor' }, right] } } },
    });
  it('fails when a boolean parameter is compared with a list (Magnum health monitor)', async () => {
    const issues = await validateHotDocument(doc([]));
    expect(rules(issues)).toEqual(['condition-type']);
    expect(issues[0]!.message).toContain('boolean parameter `enable_health_monitor` with the list []');
  });
  it('fails when a boolean parameter or literal is compared with a string, not with a boolean', async () => {
    expect(rules(await validateHotDocument(doc('true')))).toEqual(['condition-type']);
    expect(rules(await validateHotDocument(hot({ conditions: { c: { equals: [true, []] } } })))).toEqual(['condition-type']);
    expect(await validateHotDocument(doc(false))).toEqual([]);
    expect(await validateHotDocument(doc('', 'string'))).toEqual([]);
  });
  it('also checks inline conditions of if', async () => {
    const d = hot(
      {
        parameters: { b: { type: 'boolean' } },
        conditions: { c: { equals: [{ get_param: 'b' }, true] } },
        outputs: { o: { value: { if: [{ equals: [{ get_param: 'b' }, ['x']] }, 1, 2] } } },
      },
      '2021-04-16',
    );
    expect(rules(await validateHotDocument(d))).toEqual(['condition-type']);
  });
});

describe('nested templates', () => {
  const member = hot({
    parameters: { index: { type: 'number' }, name: { type: 'string', default: 'x' } },
    resources: { port: { type: 'OS::Neutron::Port', properties: { network: 'n', name: { get_param: 'name' } } } },
    outputs: { ip: { value: { get_attr: ['port', 'fixed_ips'] } } },
  });
  const root = (props: Doc, attr = 'ip'): Doc =>
    hot({ resources: { m: { type: 'member.yaml', properties: props } }, outputs: { o: { value: { get_attr: ['m', attr] } } } });

  it('accepts properties that are parameters and attributes that are outputs', async () => {
    expect(
      await validateHotBundle(
        new Map<string, unknown>([
          ['root.yaml', root({ index: 1 })],
          ['member.yaml', member],
        ]),
      ),
    ).toEqual([]);
  });

  it('fails on a property that is not a parameter, a missing required one and an unknown output', async () => {
    const issues = await validateHotBundle(
      new Map<string, unknown>([
        ['root.yaml', root({ nmae: 'x' }, 'addr')],
        ['member.yaml', member],
      ]),
    );
    expect(rules(issues).sort()).toEqual(['nested-required-property', 'nested-unknown-property', 'unknown-attribute']);
    expect(only(issues, 'nested-unknown-property')[0]!.message).toContain('did you mean `name`?');
  });

  it('takes parameter_defaults of an environment as values', async () => {
    const env = { parameter_defaults: { index: 0 } };
    expect(
      await validateHotBundle(
        new Map<string, unknown>([
          ['root.yaml', root({})],
          ['member.yaml', member],
          ['env.yaml', env],
        ]),
      ),
    ).toEqual([]);
  });

  it('fails on the parent resource when the nested template is broken or missing', async () => {
    const broken = hot({ resources: { port: { type: 'OS::Neutron::Port', properties: { network: 'n', admin_state_up: 'maybe' } } } });
    const issues = await validateHotBundle(
      new Map<string, unknown>([
        ['root.yaml', hot({ resources: { m: { type: 'member.yaml' } } })],
        ['member.yaml', broken],
      ]),
    );
    expect(issues.map((i) => `${i.file} ${i.rule}`).sort()).toEqual(['member.yaml property-type', 'root.yaml nested-template']);
    expect(only(issues, 'nested-template')[0]!.message).toContain('admin_state_up');
    expect(
      rules(await validateHotBundle(new Map<string, unknown>([['root.yaml', hot({ resources: { m: { type: 'gone.yaml' } } })]]))),
    ).toEqual(['nested-template-missing']);
  });

  it('does not loop on a template that nests itself', async () => {
    const self = hot({ resources: { again: { type: 'self.yaml' } } });
    expect(rules(await validateHotBundle(new Map<string, unknown>([['self.yaml', self]])))).toEqual([]);
  });
});

describe('validateHotText', () => {
  it('fails on a duplicate key with its line', async () => {
    const text = [
      'heat_template_version: 2018-08-31',
      'parameters:',
      '  fixed_subnet_cidr:',
      '    type: string',
      '  fixed_subnet_cidr:',
      '    type: string',
      '',
    ].join('\n');
    const issues = await validateHotText(text, 'magnum.yaml');
    expect(rules(issues)).toEqual(['duplicate-key']);
    expect(formatIssue(issues[0]!)).toMatch(/^magnum\.yaml: line 5: the key `fixed_subnet_cidr` appears twice/);
  });

  it('reads dates as strings and YAML 1.1 booleans as Heat does', async () => {
    const text =
      'heat_template_version: 2018-08-31\nresources:\n  p:\n    type: OS::Neutron::Port\n    properties: {network: n, admin_state_up: yes}\n';
    expect(await validateHotText(text, 'a.yaml')).toEqual([]);
  });

  it('fails on YAML syntax errors', async () => {
    expect(rules(await validateHotText('a: [1, 2\n', 'bad.yaml'))).toEqual(['yaml-syntax']);
  });
});

describe('validateHotFiles', () => {
  it('validates a directory and follows nested templates by relative name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hotk8s-validate-'));
    mkdirSync(join(dir, 'nested'));
    writeFileSync(
      join(dir, 'root.yaml'),
      'heat_template_version: 2018-08-31\nresources:\n  m:\n    type: nested/m.yaml\n    properties: {x: 1}\n',
    );
    writeFileSync(join(dir, 'nested', 'm.yaml'), 'heat_template_version: 2018-08-31\nparameters:\n  y: {type: string}\n');
    const issues = await validateHotFiles([join(dir, 'root.yaml')]);
    expect(rules(issues).sort()).toEqual(['nested-required-property', 'nested-unknown-property']);
    const all = await validateHotFiles([dir]);
    expect(rules(all).sort()).toEqual(['nested-required-property', 'nested-unknown-property']);
  });

  it('gives every negative fixture its expected rule and mentions the expected name', async () => {
    const dir = join(here, '../fixtures/negative');
    const names = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
    expect(names.length).toBeGreaterThanOrEqual(10);
    for (const name of names) {
      const expected = JSON.parse(readFileSync(join(dir, name.replace(/\.yaml$/, '.expected.json')), 'utf8')) as {
        hotk8s: { rejects: boolean; rule: string; message: string };
      };
      const issues = (await validateHotFiles([join(dir, name)])).filter((i) => i.severity === 'error' && i.file?.endsWith(name));
      expect(issues.length > 0, `${name}: expected hotk8s to reject it`).toBe(expected.hotk8s.rejects);
      const hit = issues.find((i) => i.rule === expected.hotk8s.rule && i.message.includes(expected.hotk8s.message));
      expect(
        hit,
        `${name}: expected rule ${expected.hotk8s.rule} mentioning ${expected.hotk8s.message}; got ${issues.map(formatIssue).join(' | ')}`,
      ).toBeDefined();
    }
  });
});

describe('ResourceGroup member attributes', () => {
  const member = {
    heat_template_version: '2018-08-31',
    parameters: { index: { type: 'number' } },
    resources: {},
    outputs: { address: { value: '10.0.0.1' } },
  };
  const root = (attr: string) => ({
    heat_template_version: '2018-08-31',
    resources: {
      Group: {
        type: 'OS::Heat::ResourceGroup',
        properties: { count: 2, resource_def: { type: 'member.yaml', properties: { index: '%index%' } } },
      },
    },
    outputs: { a: { value: { get_attr: ['Group', attr] } } },
  });
  it('accepts a member template output asked of the group (Heat returns the list over members)', async () => {
    const issues = await validateHotDocument(root('address'), { file: 'root.yaml', nested: new Map([['member.yaml', member]]) });
    expect(issues.filter((i) => i.severity === 'error')).toEqual([]);
  });
  it('fails when no member has the attribute', async () => {
    const issues = await validateHotDocument(root('adress'), { file: 'root.yaml', nested: new Map([['member.yaml', member]]) });
    expect(issues.map((i) => i.rule)).toContain('unknown-attribute');
    expect(issues.find((i) => i.rule === 'unknown-attribute')!.message).toMatch(/nested template `member.yaml`/);
  });
});

describe('validators are loaded for what the documents use', () => {
  it('loads the validator of a member definition nested two groups deep and reports its findings', async () => {
    const before = loadedValidatorCount();
    const doc = hot({
      resources: {
        outer: {
          type: 'OS::Heat::ResourceGroup',
          properties: {
            resource_def: {
              type: 'OS::Heat::AutoScalingGroup',
              properties: { min_size: 0, max_size: 1, resource: { type: 'OS::Trove::Cluster', properties: { datastore_type: 'mysql' } } },
            },
          },
        },
      },
    });
    const issues = await validateHotDocument(doc);
    expect(rules(issues)).toEqual(['required-property', 'required-property']);
    expect(issues.map((i) => i.message)).toEqual([
      'property `datastore_version` is required by OS::Trove::Cluster (the member definition `resource` of OS::Heat::AutoScalingGroup)',
      'property `instances` is required by OS::Trove::Cluster (the member definition `resource` of OS::Heat::AutoScalingGroup)',
    ]);
    expect(loadedValidatorCount()).toBeGreaterThan(before);
  });
});

describe('identical member templates', () => {
  const member = (flavorKey: string) => ({
    heat_template_version: '2018-08-31',
    resources: { Server: { type: 'OS::Nova::Server', properties: { [flavorKey]: 'm1', image: 'img' } } },
  });
  it('reports a finding in every file that holds the same broken document, each with its own construct path', async () => {
    const files = new Map<string, unknown>([
      ['a.yaml', member('flavr')],
      ['b.yaml', member('flavr')],
      ['c.yaml', member('flavor')],
      ['d.yaml', member('flavor')],
    ]);
    const describe = (file: string, id: string) => `App/${file.replace('.yaml', '')}/${id}`;
    const issues = await validateHotBundle(files, { describe });
    const where = [...new Set(issues.map((i) => `${i.file} ${i.location}`))];
    expect(where).toEqual(['a.yaml App/a/Server', 'b.yaml App/b/Server']);
  });
});
