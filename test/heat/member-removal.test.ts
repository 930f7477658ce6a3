/**
 * Removing or replacing a chosen worker, judged by the real Heat engine's own code (Debian's python3-heat): the
 * expressions are taken from a synthesized cluster and evaluated by Heat's intrinsic functions and its ResourceGroup
 * (test/heat/fixtures/heat_eval.py; no cloud, no database).
 *
 * - `workers_<group>_remove` takes member numbers or server names (spaces tolerated) and the ports group skips exactly
 *   those names; the nodes group takes the ports group's `removed_rsrc_list`, so a server and its port go together;
 * - a member finds its port and address by its own name in maps (`get_attr: [ports, attributes, x]`): after member
 *   "2" is removed, member "3" still gets port 3. A position in the list attribute would have given it port 4: Heat
 *   leaves removed members out of list attributes (shown below with the same Heat code).
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { App, Cluster, HeatStack, synthesize } from '../../src/index.js';
import { DEFAULT_HEAT_PYTHON } from '../../src/heat/engine/index.js';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';

type Doc = Record<string, any>;

const EVAL = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'heat_eval.py');

function heatEval(jobs: unknown[]): Doc[] {
  const r = spawnSync(process.env.HOTK8S_HEAT_PYTHON ?? DEFAULT_HEAT_PYTHON, [EVAL], {
    input: JSON.stringify(jobs),
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (r.status !== 0) throw new Error(`heat_eval.py failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as Doc[];
}

async function synthCluster(): Promise<Map<string, Doc>> {
  const app = new App();
  const stack = new HeatStack(app, 'demo');
  const cluster = new Cluster(stack, 'Cluster', { name: 'demo', workerGroups: [{ name: 'general', size: 3 }] });
  cluster.exposeNodePort('web', { port: 80, nodePort: 30080 });
  const work = await mkdtemp(join(tmpdir(), 'hotk8s-removal-'));
  const result = await synthesize(app, { outdir: join(work, 'out'), stateDir: join(work, 'state') });
  const docs = new Map<string, Doc>();
  for (const [file, text] of result.files) if (file.endsWith('.yaml')) docs.set(file, yaml.load(text) as Doc);
  return docs;
}

function resourceOf(doc: Doc, idPrefix: string): [string, Doc] {
  const found = Object.entries(doc.resources as Doc).filter(([id]) => id.startsWith(idPrefix));
  expect(found, idPrefix).toHaveLength(1);
  return found[0] as [string, Doc];
}

describe('removing a chosen worker, with Heat’s own code', async () => {
  const docs = await synthCluster();
  const root = docs.get('demo.yaml')!;
  const [portsId, ports] = resourceOf(root, 'ClusterWorkersgeneralWorkersPortsGroup');
  const [, nodes] = resourceOf(root, 'ClusterWorkersgeneralWorkersNodesGroup');
  const [, members] = resourceOf(root, 'ClusterWorkersgeneralWorkersAppwebMembersGroup');

  it('the ports group skips the listed members: numbers, server names, stray spaces', () => {
    // the ports group as synthesized, its members replaced by OS::Heat::None (their names are what is judged)
    const template = {
      heat_template_version: root.heat_template_version,
      parameters: { workers_general_remove: root.parameters.workers_general_remove, count: { type: 'number' } },
      resources: {
        ports: {
          type: 'OS::Heat::ResourceGroup',
          properties: {
            ...ports.properties,
            count: { get_param: 'count' },
            resource_def: { type: 'OS::Heat::None' },
          },
        },
      },
    };
    const cases: [Record<string, unknown>, string[]][] = [
      [{ count: 3 }, ['0', '1', '2']],
      [{ count: 3, workers_general_remove: '1' }, ['0', '2', '3']], // replaced: same count, a new name
      [{ count: 2, workers_general_remove: 'demo-general-1, 0' }, ['2', '3']], // removed: count lowered by two
      [{ count: 3, workers_general_remove: '' }, ['0', '1', '2']],
    ];
    const answers = heatEval(cases.map(([parameters]) => ({ kind: 'groupNames', template, parameters, resource: 'ports' })));
    expect(answers.map((a) => a.names)).toEqual(cases.map(([, names]) => names));
  });

  it("the nodes and pool-member groups skip exactly the ports group's removed names", () => {
    for (const g of [nodes, members]) {
      expect(g.properties.removal_policies).toEqual([{ resource_list: { get_attr: [portsId, 'removed_rsrc_list'] } }]);
      expect(g.properties.count).toEqual(ports.properties.count);
    }
  });

  it('after member "2" is removed, member "3" finds its own port and address', () => {
    const nodeMember = docs.get(nodes.properties.resource_def.type as string)!;
    const poolMember = docs.get(members.properties.resource_def.type as string)!;
    const server = Object.values(nodeMember.resources as Doc).find((r) => r.type === 'OS::Nova::Server')!;
    const poolMemberRes = Object.values(poolMember.resources as Doc).find((r) => r.type === 'OS::Octavia::PoolMember')!;
    // what the ports group's attributes hold once member "2" is gone (Heat leaves it out)
    const portIds = { '0': 'port-0', '1': 'port-1', '3': 'port-3', '4': 'port-4' };
    const addresses = { '0': '10.0.0.10', '1': '10.0.0.11', '3': '10.0.0.13', '4': '10.0.0.14' };
    const lookups = (doc: Doc, outputs: Doc) => ({
      heat_template_version: doc.heat_template_version,
      parameters: Object.fromEntries(
        ['index', 'port_id_map', 'address_map'].filter((p) => p in doc.parameters).map((p) => [p, doc.parameters[p]]),
      ),
      outputs,
    });
    // the way it used to be: a member took the port at its position in the group's list attribute
    const positional = {
      heat_template_version: nodeMember.heat_template_version,
      parameters: { index: { type: 'number' }, port_ids: { type: 'comma_delimited_list' } },
      outputs: { port: { value: { get_param: ['port_ids', { get_param: 'index' }] } } },
    };
    const [fromNodes, fromPool, byPosition] = heatEval([
      {
        kind: 'outputs',
        template: lookups(nodeMember, {
          port: { value: server.properties.networks[0].port },
          address: { value: server.properties.user_data.str_replace.params.__NODE_ADDRESS__ },
        }),
        parameters: { index: '3', port_id_map: portIds, address_map: addresses },
      },
      {
        kind: 'outputs',
        template: lookups(poolMember, { address: { value: poolMemberRes.properties.address } }),
        parameters: { index: '3', address_map: addresses },
      },
      {
        kind: 'outputs',
        template: positional,
        parameters: { index: '3', port_ids: Object.values(portIds).join(',') },
      },
    ]);
    expect(fromNodes!.outputs).toEqual({ port: 'port-3', address: '10.0.0.13' });
    // with no member removed, every member gets what the positional lookup gave it: an update changes no server
    const full = { '0': 'port-0', '1': 'port-1', '2': 'port-2', '3': 'port-3' };
    const before = heatEval(
      Object.keys(full).map((index) => ({
        kind: 'outputs',
        template: positional,
        parameters: { index, port_ids: Object.values(full).join(',') },
      })),
    );
    const after = heatEval(
      Object.keys(full).map((index) => ({
        kind: 'outputs',
        template: lookups(nodeMember, { port: { value: server.properties.networks[0].port } }),
        parameters: { index, port_id_map: full, address_map: addresses },
      })),
    );
    expect(after.map((a) => a.outputs.port)).toEqual(before.map((b) => b.outputs.port));
    expect(fromPool!.outputs).toEqual({ address: '10.0.0.13' });
    expect(byPosition!.outputs).toEqual({ port: 'port-4' });
  });
}, 600_000);
