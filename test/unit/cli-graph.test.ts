import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { stackGraph, toDot, toMermaid } from '../../src/cli/graph.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

/** A root with a network, a port group whose member template holds a port, and a server waiting for its signal. */
const files = new Map<string, unknown>([
  [
    's.yaml',
    {
      resources: {
        Net: { type: 'OS::Neutron::Net' },
        Sg: { type: 'OS::Neutron::SecurityGroup' },
        Ports: {
          type: 'OS::Heat::ResourceGroup',
          properties: { count: 2, resource_def: { type: 's.port.yaml', properties: { net: { get_resource: 'Net' } } } },
        },
        Handle: { type: 'OS::Heat::WaitConditionHandle' },
        Server: {
          type: 'OS::Nova::Server',
          depends_on: ['Sg'],
          properties: { networks: [{ port: { get_attr: ['Ports', 'resource.0'] } }], user_data: { get_attr: ['Handle', 'curl_cli'] } },
        },
        Wait: { type: 'OS::Heat::WaitCondition', properties: { handle: { get_resource: 'Handle' } } },
      },
    },
  ],
  [
    's.port.yaml',
    {
      parameters: { net: { type: 'string' } },
      resources: { Port: { type: 'OS::Neutron::Port', properties: { network: { get_param: 'net' } } } },
    },
  ],
]);

describe('hotk8s graph', { timeout: 60_000 }, () => {
  const g = stackGraph('s', 's.yaml', files);

  it('has every resource of every template, the dependency edges and the member edges', () => {
    expect(g.nodes.map((n) => n.id).sort()).toEqual(['t0_Handle', 't0_Net', 't0_Ports', 't0_Server', 't0_Sg', 't0_Wait', 't1_Port'].sort());
    expect([...g.edges].map(([a, b]) => `${a}>${b}`).sort()).toEqual(
      ['t0_Net>t0_Ports', 't0_Sg>t0_Server', 't0_Ports>t0_Server', 't0_Handle>t0_Server', 't0_Handle>t0_Wait'].sort(),
    );
    expect(g.memberEdges).toEqual([['t0_Ports', 't1']]);
  });

  it('marks the critical path under the latency model: net, port member, server, its signal', () => {
    // 5 s net + 5 s port (members in parallel) + 90 s server + 300 s bootstrap
    expect(g.totalSec).toBe(400);
    expect(g.nodes.filter((n) => n.critical).map((n) => n.id)).toEqual(['t0_Net', 't0_Ports', 't0_Server', 't0_Wait', 't1_Port']);
  });

  it('writes Mermaid and DOT with the estimate, the subgraphs and the critical nodes', () => {
    const m = toMermaid(g);
    expect(m).toMatch(/^%% s: estimated time to CREATE_COMPLETE 400 s \(6\.7 min\)/);
    expect(m).toContain('  subgraph t1["s.port.yaml (per member)"]');
    expect(m).toContain('  t0_Ports -. members .-> t1');
    expect(m).toContain('  class t0_Net,t0_Ports,t0_Server,t0_Wait,t1_Port critical');
    const d = toDot(g);
    expect(d).toContain('t0_Server [label="Server\\nOS::Nova::Server", color=red, penwidth=3];');
    expect(d).toContain('t0_Sg [label="Sg\\nOS::Neutron::SecurityGroup"];');
    expect(d).toContain('  t0_Sg -> t0_Server;');
    expect(d.split('{').length).toBe(d.split('}').length);
  });

  it('graphs a ready-made stack through main(), nested members included', async () => {
    const r = capture();
    expect(await main(['graph', '--stack', 'dev', '--json'], r.io), r.err.join('\n')).toBe(0);
    const [graph] = JSON.parse(r.out.join('\n')) as { files: string[]; nodes: { type: string; critical: boolean }[]; totalSec: number }[];
    expect(graph!.files.length).toBeGreaterThan(1);
    expect(graph!.nodes.some((n) => n.type === 'OS::Nova::Server' && n.critical)).toBe(true);
    expect(graph!.totalSec).toBeGreaterThan(0);
  }, 120_000);
});
