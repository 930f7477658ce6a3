#!/usr/bin/env node
// Time the synth-time validation of a sizeable HOT bundle (a cluster-shaped root template with N worker groups,
// each a ResourceGroup of a nested member template, about a dozen resource types), in a fresh process:
//
//   import     loading the validator module (src/heat/validate.js) and what it imports eagerly
//   first      the first validateHotBundle call (loads or compiles the validators it needs)
//   steady     median of the following calls
//
//     npm run build && node scripts/measure-validate.mjs [--groups N] [--runs N] [--dist DIR] [--out OUTDIR] [--json]
//
// DIR is the compiled tree to measure (default: dist), so an older build kept elsewhere can be compared.
// With --out, the bundle is instead every *.yaml of a synthesized output directory (`hotk8s synth --out OUTDIR`),
// read as Heat reads YAML.
// Each figure is the median over --runs fresh processes (default 5); the document must validate without errors.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function arg(flag, fallback) {
  const i = process.argv.indexOf(flag);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

const GROUPS = Number(arg('--groups', '100'));
const RUNS = Number(arg('--runs', '5'));
const DIST = resolve(ROOT, arg('--dist', 'dist'));
const OUT = arg('--out', undefined);
const CHILD = process.env.HOTK8S_MEASURE_CHILD === '1';

/** A cluster-shaped bundle: network, security groups, API load balancer, masters, GROUPS worker groups. */
export function clusterBundle(groups) {
  const v = '2021-04-16';
  const sgRule = (sg, port, protocol = 'tcp') => ({
    type: 'OS::Neutron::SecurityGroupRule',
    properties: {
      security_group: { get_resource: sg },
      direction: 'ingress',
      ethertype: 'IPv4',
      protocol,
      port_range_min: port,
      port_range_max: port,
      remote_ip_prefix: '10.0.0.0/16',
    },
  });
  const resources = {
    network: {
      type: 'OS::Neutron::Net',
      properties: { name: { list_join: ['-', [{ get_param: 'OS::stack_name' }, 'net']] }, admin_state_up: true },
    },
    subnet: {
      type: 'OS::Neutron::Subnet',
      properties: {
        network: { get_resource: 'network' },
        cidr: { get_param: 'cidr' },
        ip_version: 4,
        dns_nameservers: { get_param: 'dns' },
        enable_dhcp: true,
      },
    },
    router: { type: 'OS::Neutron::Router', properties: { external_gateway_info: { network: { get_param: 'external_network' } } } },
    router_interface: {
      type: 'OS::Neutron::RouterInterface',
      properties: { router: { get_resource: 'router' }, subnet: { get_resource: 'subnet' } },
    },
    sg_nodes: { type: 'OS::Neutron::SecurityGroup', properties: { description: 'nodes', rules: [] } },
    sg_ssh: sgRule('sg_nodes', 22),
    sg_api: sgRule('sg_nodes', 6443),
    sg_kubelet: sgRule('sg_nodes', 10250),
    sg_vxlan: sgRule('sg_nodes', 8472, 'udp'),
    api_lb: { type: 'OS::Octavia::LoadBalancer', properties: { vip_subnet: { get_resource: 'subnet' }, name: 'api' } },
    api_listener: {
      type: 'OS::Octavia::Listener',
      properties: { loadbalancer: { get_resource: 'api_lb' }, protocol: 'TCP', protocol_port: 6443 },
    },
    api_pool: {
      type: 'OS::Octavia::Pool',
      properties: { listener: { get_resource: 'api_listener' }, lb_algorithm: 'ROUND_ROBIN', protocol: 'TCP' },
    },
    api_monitor: {
      type: 'OS::Octavia::HealthMonitor',
      properties: { pool: { get_resource: 'api_pool' }, type: 'TCP', delay: 5, max_retries: 3, timeout: 5 },
    },
    api_fip: {
      type: 'OS::Neutron::FloatingIP',
      properties: { floating_network: { get_param: 'external_network' }, port_id: { get_attr: ['api_lb', 'vip_port_id'] } },
    },
    token: {
      type: 'OS::Heat::RandomString',
      properties: {
        length: 32,
        character_classes: [
          { class: 'lowercase', min: 1 },
          { class: 'digits', min: 1 },
        ],
      },
    },
    masters: {
      type: 'OS::Heat::ResourceGroup',
      properties: {
        count: { get_param: 'master_count' },
        resource_def: {
          type: 'master.yaml',
          properties: {
            index: '%index%',
            network: { get_resource: 'network' },
            subnet: { get_resource: 'subnet' },
            pool: { get_resource: 'api_pool' },
            token: { get_attr: ['token', 'value'] },
          },
        },
      },
    },
  };
  const parameters = {
    cidr: { type: 'string', default: '10.0.0.0/24' },
    dns: { type: 'comma_delimited_list', default: '1.1.1.1' },
    external_network: { type: 'string', constraints: [{ custom_constraint: 'neutron.network' }] },
    master_count: { type: 'number', default: 3, constraints: [{ allowed_values: [1, 3, 5] }] },
    image: { type: 'string', constraints: [{ custom_constraint: 'glance.image' }] },
    key_name: { type: 'string', default: '' },
  };
  const outputs = {
    api_address: { value: { get_attr: ['api_fip', 'floating_ip_address'] } },
    masters: { value: { get_attr: ['masters', 'refs'] } },
  };
  for (let g = 0; g < groups; g++) {
    const name = `workers_${g}`;
    parameters[`${name}_count`] = { type: 'number', default: 1, constraints: [{ range: { min: 0, max: 200 } }] };
    parameters[`${name}_flavor`] = { type: 'string', default: 'm1.medium', constraints: [{ custom_constraint: 'nova.flavor' }] };
    resources[name] = {
      type: 'OS::Heat::ResourceGroup',
      depends_on: ['router_interface'],
      properties: {
        count: { get_param: `${name}_count` },
        removal_policies: [],
        resource_def: {
          type: 'worker.yaml',
          properties: {
            index: '%index%',
            group: name,
            flavor: { get_param: `${name}_flavor` },
            network: { get_resource: 'network' },
            subnet: { get_resource: 'subnet' },
            security_group: { get_resource: 'sg_nodes' },
            api: { get_attr: ['api_fip', 'floating_ip_address'] },
            token: { get_attr: ['token', 'value'] },
          },
        },
      },
    };
    outputs[`${name}_addresses`] = { value: { get_attr: [name, 'attributes', 'address'] } };
  }
  const root = { heat_template_version: v, description: `cluster with ${groups} worker groups`, parameters, resources, outputs };
  const nodeParams = (extra) => ({
    index: { type: 'number' },
    network: { type: 'string' },
    subnet: { type: 'string' },
    token: { type: 'string', hidden: true },
    ...extra,
  });
  const node = (role, extraResources, extraProps) => ({
    port: {
      type: 'OS::Neutron::Port',
      properties: {
        network: { get_param: 'network' },
        fixed_ips: [{ subnet: { get_param: 'subnet' } }],
        security_groups: extraProps.sg ?? [],
      },
    },
    config: {
      type: 'OS::Heat::SoftwareConfig',
      properties: {
        group: 'ungrouped',
        config: { str_replace: { template: '#!/bin/sh\necho $ROLE $TOKEN\n', params: { $ROLE: role, $TOKEN: { get_param: 'token' } } } },
      },
    },
    userdata: { type: 'OS::Heat::MultipartMime', properties: { parts: [{ config: { get_resource: 'config' } }] } },
    wait_handle: { type: 'OS::Heat::WaitConditionHandle' },
    wait: { type: 'OS::Heat::WaitCondition', properties: { handle: { get_resource: 'wait_handle' }, timeout: 1800 } },
    server: {
      type: 'OS::Nova::Server',
      properties: {
        name: { list_join: ['-', [{ get_param: 'OS::stack_name' }, role, { get_param: 'index' }]] },
        image: 'debian-12',
        flavor: extraProps.flavor ?? 'm1.large',
        networks: [{ port: { get_resource: 'port' } }],
        user_data_format: 'SOFTWARE_CONFIG',
        user_data: { get_resource: 'userdata' },
        metadata: { role, index: { get_param: 'index' } },
        config_drive: true,
      },
    },
    ...extraResources,
  });
  const master = {
    heat_template_version: v,
    parameters: nodeParams({ pool: { type: 'string' } }),
    resources: node(
      'master',
      {
        member: {
          type: 'OS::Octavia::PoolMember',
          properties: {
            pool: { get_param: 'pool' },
            address: { get_attr: ['server', 'first_address'] },
            protocol_port: 6443,
            subnet: { get_param: 'subnet' },
          },
        },
      },
      {},
    ),
    outputs: { address: { value: { get_attr: ['server', 'first_address'] } } },
  };
  const worker = {
    heat_template_version: v,
    parameters: nodeParams({
      group: { type: 'string' },
      flavor: { type: 'string' },
      security_group: { type: 'string' },
      api: { type: 'string' },
    }),
    resources: node('worker', {}, { flavor: { get_param: 'flavor' }, sg: [{ get_param: 'security_group' }] }),
    outputs: { address: { value: { get_attr: ['server', 'first_address'] } } },
  };
  const env = { parameter_defaults: { external_network: 'public', image: 'debian-12' } };
  return new Map([
    ['cluster.yaml', root],
    ['master.yaml', master],
    ['worker.yaml', worker],
    ['cluster.env.yaml', env],
  ]);
}

/** The templates and environments of a synthesized output directory, parsed as Heat parses YAML. */
async function readOutput(dir) {
  const { parseHotYaml } = await import(pathToFileURL(join(DIST, 'src', 'heat', 'validate-yaml.js')).href);
  const files = new Map();
  for (const name of readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()) {
    const parsed = parseHotYaml(readFileSync(join(dir, name), 'utf8'), name);
    if (!parsed.ok) throw new Error(`${name}: ${parsed.problem.message}`);
    files.set(name, parsed.doc);
  }
  if (files.size === 0) throw new Error(`no *.yaml files in ${dir}`);
  return files;
}

async function child() {
  const started = performance.now();
  const mod = await import(pathToFileURL(join(DIST, 'src', 'heat', 'validate.js')).href);
  const imported = performance.now();
  const bundle = OUT === undefined ? clusterBundle(GROUPS) : await readOutput(resolve(OUT));
  const t0 = performance.now();
  const issues = await mod.validateHotBundle(bundle);
  const first = performance.now() - t0;
  if (issues.length > 0)
    throw new Error(`the measured bundle must be valid; got ${issues.length} issues, first: ${issues[0].location}: ${issues[0].message}`);
  const steady = [];
  for (let i = 0; i < 15; i++) {
    const t = performance.now();
    await mod.validateHotBundle(bundle);
    steady.push(performance.now() - t);
  }
  steady.sort((a, b) => a - b);
  const resources = [...bundle.values()].reduce((n, d) => n + Object.keys(d?.resources ?? {}).length, 0);
  const templates = [...bundle.values()].filter((d) => d && typeof d === 'object' && 'heat_template_version' in d).length;
  process.stdout.write(
    JSON.stringify({
      templates,
      import: imported - started,
      first,
      steady: steady[Math.floor(steady.length / 2)],
      resources,
      rssMiB: process.memoryUsage().rss / 2 ** 20,
    }),
  );
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main() {
  const entry = join(DIST, 'src', 'heat', 'validate.js');
  if (!existsSync(entry)) {
    console.error(`measure-validate: ${entry} not found; run \`npm run build\` first (or pass --dist DIR of a compiled tree)`);
    process.exit(1);
  }
  const rows = [];
  for (let i = 0; i < RUNS + 1; i++) {
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
      env: { ...process.env, HOTK8S_MEASURE_CHILD: '1' },
      encoding: 'utf8',
    });
    if (r.status !== 0) {
      console.error(`measure-validate: the measuring process failed (${r.status}):\n${r.stderr}`);
      process.exit(1);
    }
    if (i > 0) rows.push(JSON.parse(r.stdout)); // the first run warms the file cache
  }
  const out = {
    dist: DIST,
    bundle: OUT === undefined ? `cluster bundle, ${GROUPS} worker groups` : resolve(OUT),
    resources: rows[0].resources,
    templates: rows[0].templates,
    runs: RUNS,
    importMs: median(rows.map((r) => r.import)),
    firstValidationMs: median(rows.map((r) => r.first)),
    steadyValidationMs: median(rows.map((r) => r.steady)),
    rssMiB: median(rows.map((r) => r.rssMiB)),
  };
  if (process.argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify(out)}\n`);
    return;
  }
  const f = (x) => `${x.toFixed(1)} ms`;
  console.log(
    `validation of ${out.bundle} (${out.resources} resources over ${out.templates} templates), median of ${RUNS} fresh processes`,
  );
  console.log(`  tree:                 ${DIST}`);
  console.log(`  import validate.js:   ${f(out.importMs)}`);
  console.log(`  first validation:     ${f(out.firstValidationMs)}`);
  console.log(`  steady validation:    ${f(out.steadyValidationMs)}`);
  console.log(`  RSS after:            ${out.rssMiB.toFixed(1)} MiB`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  if (CHILD) await child();
  else await main();
}
