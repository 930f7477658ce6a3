import { mkdtemp, readFile, stat, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Construct } from 'constructs';
import { describe, expect, it } from 'vitest';
import {
  App,
  Cond,
  Fn,
  HeatCondition,
  HeatOutput,
  HeatParameter,
  HeatResource,
  HeatStack,
  HotError,
  HotValidationError,
  makeLogicalId,
  synthesize,
} from '../../src/index.js';
import { HotTemplate, Match } from '../../src/assertions/index.js';

function stack(version?: ConstructorParameters<typeof HeatStack>[2]) {
  const app = new App();
  return { app, stack: new HeatStack(app, 'demo', version) };
}

describe('logical ids', () => {
  it('keeps top-level ids verbatim and hashes deep paths (pinned)', () => {
    const { stack: s } = stack();
    const top = new HeatResource(s, 'Network', { type: 'OS::Neutron::Net' });
    const group = new Construct(s, 'Cluster');
    const deep = new HeatResource(new Construct(group, 'Etcd'), 'ServerGroup', { type: 'OS::Nova::ServerGroup' });
    expect(top.logicalId).toBe('Network');
    // pinned: a change here renames resources in users' stacks, which makes Heat replace them
    expect(deep.logicalId).toBe('ClusterEtcdServerGroup' + makeLogicalId(['Cluster', 'Etcd', 'ServerGroup']).slice(-8));
    expect(makeLogicalId(['Cluster', 'Etcd', 'ServerGroup'])).toBe('ClusterEtcdServerGroupBCF16005');
    expect(makeLogicalId(['Cluster', 'Network', 'Resource'])).toBe(
      'ClusterNetwork' + makeLogicalId(['Cluster', 'Network', 'Resource']).slice(-8),
    );
  });

  it('drops Default from the path entirely', () => {
    expect(makeLogicalId(['A', 'Default', 'B'])).toBe(makeLogicalId(['A', 'B']));
  });

  it('fails when two elements end up with the same logical id', () => {
    const { stack: s } = stack();
    new HeatResource(s, 'Net', { type: 'OS::Neutron::Net' });
    const other = new HeatResource(new Construct(s, 'X'), 'Y', { type: 'OS::Neutron::Net' });
    other.overrideLogicalId('Net');
    expect(() => s.toTemplate()).toThrow(/logical id "Net" is already used by demo\/Net/);
  });

  it('overrideLogicalId rejects names Heat cannot use', () => {
    const { stack: s } = stack();
    const r = new HeatResource(s, 'Net', { type: 'OS::Neutron::Net' });
    expect(() => r.overrideLogicalId('a b')).toThrow(HotError);
  });
});

describe('resources', () => {
  it('renders type, properties, policies, metadata and depends_on in a fixed order', () => {
    const { stack: s } = stack();
    const net = new HeatResource(s, 'Net', { type: 'OS::Neutron::Net', properties: { name: 'n' } });
    const sub = new HeatResource(s, 'Subnet', { type: 'OS::Neutron::Subnet', properties: { network: net.ref(), cidr: '10.0.0.0/24' } });
    sub.heatDeletionPolicy = 'Retain';
    sub.heatMetadata = { b: 1, a: 2 };
    const router = new HeatResource(s, 'Router', { type: 'OS::Neutron::Router' });
    router.addDependency(sub);
    const doc = s.toTemplate() as { resources: Record<string, Record<string, unknown>> };
    expect(Object.keys(doc.resources.Subnet!)).toEqual(['type', 'properties', 'metadata', 'deletion_policy']);
    expect(doc.resources.Subnet!.properties).toEqual({ cidr: '10.0.0.0/24', network: { get_resource: 'Net' } });
    expect(doc.resources.Router!.depends_on).toEqual(['Subnet']);
    expect(Object.keys(doc.resources.Subnet!.metadata as object)).toEqual(['a', 'b']);
  });

  it('lifts construct-level dependencies to every resource below, sorted and deduplicated', () => {
    const { stack: s } = stack();
    const a = new Construct(s, 'A');
    new HeatResource(a, 'Two', { type: 'OS::Heat::RandomString' });
    new HeatResource(a, 'One', { type: 'OS::Heat::RandomString' });
    const b = new Construct(s, 'B');
    const r = new HeatResource(b, 'R', { type: 'OS::Heat::RandomString' });
    b.node.addDependency(a);
    r.addDependency(a);
    const t = HotTemplate.fromStack(s);
    const deps = (t.findResources('OS::Heat::RandomString')[r.logicalId] as { depends_on: string[] }).depends_on;
    expect(deps).toEqual([makeLogicalId(['A', 'One']), makeLogicalId(['A', 'Two'])].sort());
  });

  it('applies overrides and deletion overrides after rendering', () => {
    const { stack: s } = stack();
    const r = new HeatResource(s, 'Server', { type: 'OS::Nova::Server', properties: { flavor: 'm1', image: 'x' } });
    r.addPropertyOverride('metadata.role', 'etcd');
    r.addDeletionOverride('properties.image');
    r.addOverride('properties.a\\.b', 1);
    HotTemplate.fromStack(s).hasResourceProperties('OS::Nova::Server', Match.exact({ flavor: 'm1', metadata: { role: 'etcd' }, 'a.b': 1 }));
  });

  it('maps camelCase props through a property spec and rejects unknown ones', () => {
    const { stack: s } = stack();
    const spec = {
      fixedIps: {
        heat: 'fixed_ips',
        type: 'list',
        update: 'update',
        items: {
          heat: 'item',
          type: 'map',
          update: 'update',
          schema: { ipAddress: { heat: 'ip_address', type: 'string', update: 'update' } },
        },
      },
    } as const;
    new HeatResource(s, 'Port', { type: 'OS::Neutron::Port', properties: { fixedIps: [{ ipAddress: '10.0.0.5' }] }, propertySpec: spec });
    HotTemplate.fromStack(s).hasResourceProperties('OS::Neutron::Port', { fixed_ips: [{ ip_address: '10.0.0.5' }] });
    const { stack: s2 } = stack();
    new HeatResource(s2, 'Port', { type: 'OS::Neutron::Port', properties: { fixedIPs: [] }, propertySpec: spec });
    expect(() => s2.toTemplate()).toThrow(/demo\/Port: unknown property `fixedIPs`; known properties: fixedIps/);
  });

  it('fails when a resource has no type', () => {
    const { stack: s } = stack();
    expect(() => new HeatResource(s, 'X', { type: '' })).toThrow(/demo\/X: a resource needs a type/);
  });

  it('fails when an element is created outside a stack', () => {
    const app = new App();
    expect(() => new HeatResource(app, 'X', { type: 'OS::Heat::None' })).toThrow(/must be created inside a HeatStack/);
  });

  it('rejects a token turned into a string', () => {
    const { stack: s } = stack();
    const net = new HeatResource(s, 'Net', { type: 'OS::Neutron::Net' });
    new HeatResource(s, 'Sub', { type: 'OS::Neutron::Subnet', properties: { name: `x-${net.ref()}` } });
    expect(() => s.toTemplate()).toThrow(/demo\/Sub: a Heat function was turned into a plain string/);
  });
});

describe('intrinsic functions', () => {
  it('renders each function in its HOT form', () => {
    const { stack: s } = stack();
    const p = new HeatParameter(s, 'image', { type: 'string' });
    const r = new HeatResource(s, 'Server', { type: 'OS::Nova::Server' });
    const values = {
      a: Fn.getParam(p),
      b: Fn.getAttr(r, 'networks', 'private', 0),
      c: Fn.join(',', ['a', Fn.getParam('x')]),
      d: Fn.strReplace('$a', { $a: 1 }, 'strict'),
      e: Fn.split(',', 'a,b', 1),
      f: Fn.repeat('<%p%>', { '<%p%>': [1, 2] }),
      g: Fn.mapMerge({ a: 1 }, { b: 2 }),
      h: Fn.listConcatUnique([1], [1, 2]),
      i: Fn.contains('a', ['a']),
      j: Fn.digest('sha256', 'x'),
      k: Fn.filter([null], [1, null]),
      l: Fn.makeUrl({ scheme: 'https', host: 'h', port: 6443 }),
      m: Fn.yaql('$.data.x', { x: 1 }),
      n: Fn.getFile('script.sh'),
      o: Fn.mapReplace({ a: 1 }, { keys: { a: 'b' } }),
      q: Fn.listConcat([1], [2]),
    };
    new HeatOutput(s, 'Out', { value: values });
    const out = (s.toTemplate().outputs as Record<string, { value: Record<string, unknown> }>).Out!.value;
    expect(out).toEqual({
      a: { get_param: 'image' },
      b: { get_attr: ['Server', 'networks', 'private', 0] },
      c: { list_join: [',', ['a', { get_param: 'x' }]] },
      d: { str_replace_strict: { params: { $a: 1 }, template: '$a' } },
      e: { str_split: [',', 'a,b', 1] },
      f: { repeat: { for_each: { '<%p%>': [1, 2] }, template: '<%p%>' } },
      g: { map_merge: [{ a: 1 }, { b: 2 }] },
      h: { list_concat_unique: [[1], [1, 2]] },
      i: { contains: ['a', ['a']] },
      j: { digest: ['sha256', 'x'] },
      k: { filter: [[null], [1, null]] },
      l: { make_url: { host: 'h', port: 6443, scheme: 'https' } },
      m: { yaql: { data: { x: 1 }, expression: '$.data.x' } },
      n: { get_file: 'script.sh' },
      o: { map_replace: [{ a: 1 }, { keys: { a: 'b' } }] },
      q: { list_concat: [[1], [2]] },
    });
  });

  it('fails when a function is newer than the stack version, naming the construct path', () => {
    const { stack: s } = stack({ templateVersion: '2016-04-08' });
    new HeatOutput(s, 'Url', { value: Fn.makeUrl({ host: 'h' }) });
    expect(() => s.toTemplate()).toThrow(
      /demo\/Url: function `make_url` needs heat_template_version 2017-09-01 or newer; the stack declares 2016-04-08/,
    );
  });

  it('fails when a reference crosses templates', () => {
    const { stack: s } = stack();
    const nested = new HeatStack(s, 'Member');
    const net = new HeatResource(s, 'Net', { type: 'OS::Neutron::Net' });
    new HeatResource(nested, 'Port', { type: 'OS::Neutron::Port', properties: { network: net.ref() } });
    expect(() => nested.toTemplate()).toThrow(
      /demo\/Member\/Port: get_resource refers to demo\/Net, which is in template demo, not in demo\/Member; pass values across templates as parameters/,
    );
  });

  it('keeps condition functions out of values and refuses a boolean compared with a list', () => {
    const { stack: s } = stack();
    const flag = new HeatParameter(s, 'enable', { type: 'boolean', default: true });
    expect(() => Cond.equals(Fn.getParam(flag), [])).toThrow(/equals compares a boolean with a list/);
    new HeatOutput(s, 'Bad', { value: Cond.equals(1, 1) });
    expect(() => s.toTemplate()).toThrow(/condition function `equals` can only be used in conditions/);
  });
});

describe('parameters, outputs and conditions', () => {
  it('renders every parameter field and constraint kind', () => {
    const { stack: s } = stack();
    new HeatParameter(s, 'size', {
      type: 'number',
      label: 'Workers',
      description: 'how many',
      default: 3,
      immutable: false,
      tags: ['scale'],
      constraints: [
        { range: { min: 1, max: 10 } },
        { modulo: { step: 1, offset: 0 } },
        { allowedValues: [1, 3, 5, 10, 2, 4], description: 'pick' },
      ],
    });
    new HeatParameter(s, 'name', {
      type: 'string',
      hidden: true,
      constraints: [{ length: { min: 1, max: 63 } }, { allowedPattern: '[a-z0-9-]+' }, { customConstraint: 'nova.keypair' }],
    });
    const t = HotTemplate.fromStack(s);
    t.hasParameter(
      'size',
      Match.exact({
        type: 'number',
        label: 'Workers',
        description: 'how many',
        default: 3,
        immutable: false,
        tags: ['scale'],
        constraints: [
          { range: { min: 1, max: 10 } },
          { modulo: { step: 1, offset: 0 } },
          { allowed_values: [1, 3, 5, 10, 2, 4], description: 'pick' },
        ],
      }),
    );
    t.hasParameter('name', {
      hidden: true,
      constraints: [{ length: { min: 1, max: 63 } }, { allowed_pattern: '[a-z0-9-]+' }, { custom_constraint: 'nova.keypair' }],
    });
  });

  it('fails when a default breaks a constraint or the type', () => {
    const { stack: s } = stack();
    expect(() => new HeatParameter(s, 'a', { type: 'number', default: 11, constraints: [{ range: { min: 1, max: 10 } }] })).toThrow(
      /demo\/a: default must be within the range 1..10; got 11/,
    );
    expect(() => new HeatParameter(s, 'b', { type: 'number', default: 'x' })).toThrow(/demo\/b: default must be a number; got "x"/);
    expect(() => new HeatParameter(s, 'c', { type: 'string', constraints: [{ range: { min: 1 } }] })).toThrow(
      /range constraint applies to number parameters/,
    );
    expect(() => new HeatParameter(s, 'd', { type: 'yaml' as never })).toThrow(/parameter type must be one of/);
    expect(() => new HeatParameter(s, 'e', { type: 'string', secretValue: () => 'x' })).toThrow(/must be hidden: true/);
  });

  it('fails when parameter tags are used with an old template version', () => {
    const { stack: s } = stack({ templateVersion: '2017-09-01' });
    new HeatParameter(s, 'a', { type: 'string', tags: ['x'] });
    expect(() => s.toTemplate()).toThrow(/parameter tags need heat_template_version 2018-03-02/);
  });

  it('renders conditions and uses them in resources, outputs and Fn.if', () => {
    const { stack: s } = stack();
    const fip = new HeatParameter(s, 'floating', { type: 'boolean', default: false });
    const region = new HeatParameter(s, 'region', { type: 'string', default: 'r1' });
    const want = new HeatCondition(s, 'WantFip', { expression: Cond.equals(Fn.getParam(fip), true) });
    const both = new HeatCondition(s, 'Both', { expression: Cond.and(want, Cond.not(Cond.equals(Fn.getParam(region), 'r2'))) });
    const r = new HeatResource(s, 'Fip', { type: 'OS::Neutron::FloatingIP', properties: { floating_network: 'public' } });
    r.heatCondition = want;
    new HeatOutput(s, 'Address', { value: Fn.if(both, Fn.getAttr(r, 'floating_ip_address'), ''), condition: want });
    const t = HotTemplate.fromStack(s);
    t.hasCondition('WantFip', { equals: [{ get_param: 'floating' }, true] });
    t.hasCondition('Both', { and: ['WantFip', { not: { equals: [{ get_param: 'region' }, 'r2'] } }] });
    t.hasResource('OS::Neutron::FloatingIP', { condition: 'WantFip' });
    t.hasOutput('Address', { condition: 'WantFip', value: { if: ['Both', { get_attr: ['Fip', 'floating_ip_address'] }, ''] } });
  });

  it('fails when a condition function is not available in the declared version', () => {
    const { stack: s } = stack({ templateVersion: '2016-10-14' });
    new HeatCondition(s, 'C', { expression: Cond.contains('a', ['a']) });
    expect(() => s.toTemplate()).toThrow(/demo\/C: function `contains` needs heat_template_version 2017-09-01/);
  });

  it('collects all validation errors at once', () => {
    const { stack: s } = stack({ templateVersion: '2013-05-23' });
    new HeatCondition(s, 'C', { expression: true });
    new HeatParameter(s, 'p', { type: 'string', tags: ['a'] });
    const c = new Construct(s, 'L2');
    c.node.addValidation({ validate: () => ['size must be odd (1, 3, 5 or 7); got 4'] });
    try {
      s.toTemplate();
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(HotValidationError);
      const msgs = (e as HotValidationError).errors.map((x) => x.message);
      expect(msgs).toEqual(
        expect.arrayContaining([
          'demo/C: conditions need heat_template_version 2016-10-14 or newer; the stack declares 2013-05-23',
          'demo/p: parameter tags need heat_template_version 2018-03-02 or newer; the stack declares 2013-05-23',
          'demo/L2: size must be odd (1, 3, 5 or 7); got 4',
        ]),
      );
    }
  });
});

describe('stacks', () => {
  it('orders sections and names nested template files', () => {
    const { stack: s } = stack({ description: 'd' });
    const member = new HeatStack(new Construct(s, 'Workers'), 'MemberTemplate');
    const explicit = new HeatStack(s, 'Etcd', { templateName: 'etcd-member' });
    new HeatParameter(s, 'p', { type: 'string' });
    new HeatOutput(s, 'o', { value: 1 });
    expect(Object.keys(s.toTemplate())).toEqual(['heat_template_version', 'description', 'parameters', 'resources', 'outputs']);
    expect(member.fileName).toBe('demo.workers-member-template.yaml');
    expect(explicit.fileName).toBe('demo.etcd-member.yaml');
    expect(s.fileName).toBe('demo.yaml');
    expect(s.nestedStacks()).toEqual([member, explicit]);
  });

  it('fails on stack names Heat rejects and unknown versions', () => {
    expect(() => new HeatStack(new App(), '1abc')).toThrow(/a stack name must start with a letter/);
    expect(() => new HeatStack(new App(), 'ok', { templateVersion: '2099-01-01' as never })).toThrow(/templateVersion must be one of/);
  });
});

describe('synth output contract', () => {
  async function build(dir: string) {
    const app = new App({ outdir: join(dir, 'out'), stateDir: join(dir, 'state') });
    const s = new HeatStack(app, 'demo', { createTimeoutMinutes: 30 });
    new HeatParameter(s, 'image', { type: 'string', value: 'ubuntu-24.04', constraints: [{ customConstraint: 'glance.image' }] });
    new HeatParameter(s, 'key', { type: 'string' });
    const secret = new HeatParameter(s, 'ca_key', {
      type: 'string',
      hidden: true,
      secretValue: (session) => session.memo('k', async () => 'SECRET-' + session.stateDir.length),
    });
    const member = new HeatStack(s, 'Member');
    const mp = new HeatParameter(member, 'ca_key', { type: 'string', hidden: true });
    new HeatResource(member, 'Random', { type: 'OS::Heat::RandomString', properties: { salt: mp.value } });
    new HeatResource(s, 'Group', {
      type: 'OS::Heat::ResourceGroup',
      properties: { count: 2, resource_def: { type: member.fileName, properties: { ca_key: secret.value } } },
    });
    s.addResourceRegistry('My::Type', 'demo.member.yaml');
    return app.synth({ checkers: [] });
  }

  it('writes templates, environment files, a 0600 secrets file and the manifest', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hotk8s-'));
    const result = await build(dir);
    const out = join(dir, 'out');
    expect((await readdir(out)).sort()).toEqual([
      'demo.env.yaml',
      'demo.member.yaml',
      'demo.secrets.env.yaml',
      'demo.yaml',
      'manifest.json',
    ]);
    expect(((await stat(join(out, 'demo.secrets.env.yaml'))).mode & 0o777).toString(8)).toBe('600');
    expect(((await stat(join(dir, 'state'))).mode & 0o777).toString(8)).toBe('700');
    const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8'));
    expect(manifest).toEqual({
      version: 1,
      stacks: [
        {
          name: 'demo',
          template: 'demo.yaml',
          environment: 'demo.env.yaml',
          secretEnvironment: 'demo.secrets.env.yaml',
          files: ['demo.member.yaml'],
          sharedFiles: {},
          artifacts: [],
          parameters: {
            ca_key: { type: 'string', required: false, hidden: true },
            image: { type: 'string', required: false, hidden: false },
            key: { type: 'string', required: true, hidden: false },
          },
          createCommand: 'openstack stack create -t demo.yaml -e demo.env.yaml -e demo.secrets.env.yaml --timeout 30 --wait demo',
        },
      ],
    });
    expect(await readFile(join(out, 'demo.env.yaml'), 'utf8')).toBe(
      'parameter_defaults:\n  image: ubuntu-24.04\nresource_registry:\n  My::Type: demo.member.yaml\n',
    );
    const secretText = await readFile(join(out, 'demo.secrets.env.yaml'), 'utf8');
    expect(secretText).toMatch(/^parameter_defaults:\n {2}ca_key: SECRET-\d+\n$/);
    for (const f of ['demo.yaml', 'demo.member.yaml', 'demo.env.yaml', 'manifest.json']) {
      expect(await readFile(join(out, f), 'utf8')).not.toContain('SECRET');
    }
    expect(result.manifest.stacks[0]!.files).toEqual(['demo.member.yaml']);
  });

  it('is byte-identical when run twice', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hotk8s-'));
    const a = await build(dir);
    const b = await build(dir);
    expect([...b.files]).toEqual([...a.files]);
  });

  it('fails when there is no stack', async () => {
    await expect(synthesize(new App(), { write: false, checkers: [] })).rejects.toThrow(/there is no HeatStack to synthesize/);
  });
});

describe('identical nested templates', () => {
  /** Two groups of pools, each pool a nested template holding a nested member template; `shapes` picks each pool's salt. */
  function build(shapes: string[]) {
    const app = new App();
    const s = new HeatStack(app, 'demo');
    const pools = shapes.map((salt, i) => {
      const pool = new HeatStack(s, `Pool${i}`);
      const member = new HeatStack(pool, 'Member');
      new HeatResource(member, 'Random', { type: 'OS::Heat::RandomString', properties: { salt } });
      new HeatResource(pool, 'Group', {
        type: 'OS::Heat::ResourceGroup',
        properties: { count: 2, resource_def: { type: member.fileName } },
      });
      new HeatResource(s, `Pool${i}Stack`, { type: pool.fileName });
      return { pool, member };
    });
    s.addResourceRegistry('My::Pool', pools.at(-1)!.pool.fileName);
    return { app, s, pools };
  }

  it('writes each distinct document once and points every reference at the shared file, deepest first', async () => {
    const { app } = build(['a', 'a', 'b', 'a']);
    const result = await app.synth({ checkers: [], write: false });
    const [m] = result.manifest.stacks;
    expect(m!.files).toEqual(['demo.pool0-member.yaml', 'demo.pool0.yaml', 'demo.pool2-member.yaml', 'demo.pool2.yaml']);
    expect(m!.sharedFiles).toEqual({
      'demo.pool0-member.yaml': ['demo/Pool0/Member', 'demo/Pool1/Member', 'demo/Pool3/Member'],
      // the pools became identical only once their members were merged
      'demo.pool0.yaml': ['demo/Pool0', 'demo/Pool1', 'demo/Pool3'],
    });
    const root = result.files.get('demo.yaml')!;
    expect(root).toContain('Pool1Stack:\n    type: demo.pool0.yaml');
    expect(root).toContain('Pool2Stack:\n    type: demo.pool2.yaml');
    expect(root).toContain('Pool3Stack:\n    type: demo.pool0.yaml');
    expect(result.files.get('demo.pool2.yaml')).toContain('type: demo.pool2-member.yaml');
    expect(result.files.get('demo.env.yaml')).toContain('My::Pool: demo.pool0.yaml');
    for (const gone of ['demo.pool1.yaml', 'demo.pool3.yaml', 'demo.pool1-member.yaml', 'demo.pool3-member.yaml']) {
      expect(result.files.has(gone)).toBe(false);
      for (const text of result.files.values()) expect(text).not.toContain(gone);
    }
  });

  it('keeps every file when no two documents are identical, and toTemplate() is unchanged', async () => {
    const { app, pools } = build(['a', 'b']);
    const result = await app.synth({ checkers: [], write: false });
    expect(result.manifest.stacks[0]!.sharedFiles).toEqual({});
    expect(result.manifest.stacks[0]!.files).toHaveLength(4);
    const again = build(['a', 'a']);
    expect(again.pools[1]!.pool.toTemplate()).toEqual({
      ...pools[1]!.pool.toTemplate(),
      resources: { Group: { type: 'OS::Heat::ResourceGroup', properties: { count: 2, resource_def: { type: 'demo.pool1-member.yaml' } } } },
    });
  });

  it('fails when the create request or a nested template is over the stack limits, naming the sizes', async () => {
    const app = new App();
    const s = new HeatStack(app, 'demo', { maxJsonBodySize: 600, maxTemplateSize: 100 });
    const member = new HeatStack(s, 'Member');
    new HeatResource(member, 'Random', { type: 'OS::Heat::RandomString', properties: { salt: 'x'.repeat(200) } });
    new HeatResource(s, 'Group', { type: 'OS::Heat::ResourceGroup', properties: { count: 2, resource_def: { type: member.fileName } } });
    const err = await app.synth({ checkers: [], write: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HotValidationError);
    const message = (err as Error).message;
    expect(message).toMatch(
      /demo: nested template demo\.member\.yaml is \d+ bytes as heatclient sends it \(JSON\), above max_template_size 100/,
    );
    expect(message).toMatch(
      /demo: the request 'openstack stack create' sends is about \d+ bytes .*above heat-api's max_json_body_size 600/,
    );
    expect(() => new HeatStack(new App(), 'x', { maxJsonBodySize: 0 })).toThrow(
      /x: maxJsonBodySize must be a positive whole number of bytes; got 0/,
    );
    expect(() => new HeatStack(new App(), 'x', { maxTemplateSize: 1.5 })).toThrow(/maxTemplateSize must be a positive whole number/);
  });

  it('passes the schema checker with shared files', async () => {
    const { app } = build(['a', 'a']);
    const result = await app.synth({ write: false });
    expect(result.manifest.stacks[0]!.files).toEqual(['demo.pool0-member.yaml', 'demo.pool0.yaml']);
  });
});

describe('overrides into lists and exact matching with matchers', () => {
  it('indexes into an existing list with a numeric path part', () => {
    const { stack: s } = stack();
    const r = new HeatResource(s, 'Server', {
      type: 'OS::Nova::Server',
      properties: { block_device_mapping_v2: [{ boot_index: 0, image: 'img' }], networks: [{ port: 'a' }, { port: 'b' }] },
    });
    r.addPropertyOverride('block_device_mapping_v2.0.volume_type', 'fast');
    r.addDeletionOverride('properties.networks.0');
    r.addPropertyOverride('metadata.0', 'key'); // not a list: a plain key
    HotTemplate.fromStack(s).hasResourceProperties(
      'OS::Nova::Server',
      Match.exact({
        block_device_mapping_v2: [{ boot_index: 0, image: 'img', volume_type: 'fast' }],
        networks: [{ port: 'b' }],
        metadata: { '0': 'key' },
      }),
    );
  });

  it('Match.exact keeps nested matchers', () => {
    const { stack: s } = stack();
    new HeatResource(s, 'R', { type: 'OS::Heat::RandomString', properties: { length: 8, salt: 'x' } });
    const t = HotTemplate.fromStack(s);
    t.hasResourceProperties('OS::Heat::RandomString', Match.exact({ length: Match.anyValue(), salt: 'x' }));
    expect(() => t.hasResourceProperties('OS::Heat::RandomString', Match.exact({ length: Match.anyValue() }))).toThrow(/unexpected key/);
  });
});
