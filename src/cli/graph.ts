import yaml from 'js-yaml';
import { criticalPath, ISSUE_LATENCY_MODEL } from '../k8s/private/critical-path.js';
import { outputOf } from './params.js';
import { reportError, type Io } from './report.js';

interface GraphNode {
  readonly id: string;
  readonly file: string;
  readonly logicalId: string;
  readonly type: string;
  readonly critical: boolean;
}

/** The dependency graph of one stack of a synth output: every template (each nested file once), its edges, the critical path. */
export interface StackGraph {
  readonly stack: string;
  readonly files: readonly string[];
  readonly nodes: readonly GraphNode[];
  /** [from, to]: `to` is created after `from` (depends_on, get_resource, get_attr), or `from` holds the members of file `to`. */
  readonly edges: readonly (readonly [string, string])[];
  readonly memberEdges: readonly (readonly [string, string])[];
  readonly totalSec: number;
}

function refs(value: unknown, out: Set<string>): void {
  if (Array.isArray(value)) for (const v of value) refs(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (k === 'get_resource' && typeof v === 'string') out.add(v);
      else if (k === 'get_attr' && Array.isArray(v) && typeof v[0] === 'string') out.add(v[0]);
      else refs(v, out);
    }
  }
}

const safe = (s: string) => s.replace(/[^A-Za-z0-9_]/g, '_');

export function stackGraph(stack: string, root: string, files: ReadonlyMap<string, unknown>): StackGraph {
  const cp = criticalPath(files, root, ISSUE_LATENCY_MODEL);
  const onPath = new Set(cp.steps.map((s) => `${s.file}\u0000${s.logicalId}`));
  const order = [root, ...[...files.keys()].filter((f) => f !== root).sort()];
  const fileIndex = new Map(order.map((f, i) => [f, i]));
  const nodes: GraphNode[] = [];
  const edges: [string, string][] = [];
  const memberEdges: [string, string][] = [];
  for (const file of order) {
    const doc = files.get(file) as {
      resources?: Record<string, { type?: string; depends_on?: unknown; properties?: Record<string, unknown> }>;
    };
    const resources = doc?.resources ?? {};
    const id = (logical: string) => `t${fileIndex.get(file)}_${safe(logical)}`;
    for (const [logical, r] of Object.entries(resources)) {
      const type = String(r.type);
      nodes.push({ id: id(logical), file, logicalId: logical, type, critical: onPath.has(`${file}\u0000${logical}`) });
      const deps = new Set<string>();
      const d = r.depends_on;
      for (const x of Array.isArray(d) ? d : d ? [d] : []) deps.add(String(x));
      refs(r.properties, deps);
      for (const dep of [...deps].sort()) if (dep in resources && dep !== logical) edges.push([id(dep), id(logical)]);
      const nested = type === 'OS::Heat::ResourceGroup' ? String((r.properties?.resource_def as { type?: unknown })?.type ?? '') : type;
      if (files.has(nested)) memberEdges.push([id(logical), `t${fileIndex.get(nested)}`]);
    }
  }
  return { stack, files: order, nodes, edges, memberEdges, totalSec: cp.totalSec };
}

function minutes(sec: number): string {
  return `${sec} s (${(sec / 60).toFixed(1)} min)`;
}

export function toMermaid(g: StackGraph): string {
  const lines = [
    `%% ${g.stack}: estimated time to CREATE_COMPLETE ${minutes(g.totalSec)} under the documented latency model; critical path in red`,
    'flowchart LR',
  ];
  g.files.forEach((file, i) => {
    lines.push(`  subgraph t${i}["${file}${i === 0 ? '' : ' (per member)'}"]`);
    for (const n of g.nodes.filter((x) => x.file === file)) lines.push(`    ${n.id}["${n.logicalId}<br/>${n.type}"]`);
    lines.push('  end');
  });
  for (const [a, b] of g.edges) lines.push(`  ${a} --> ${b}`);
  for (const [a, b] of g.memberEdges) lines.push(`  ${a} -. members .-> ${b}`);
  const critical = g.nodes.filter((n) => n.critical).map((n) => n.id);
  lines.push('  classDef critical stroke:#d00,stroke-width:3px');
  if (critical.length > 0) lines.push(`  class ${critical.join(',')} critical`);
  return lines.join('\n') + '\n';
}

export function toDot(g: StackGraph): string {
  const q = (s: string) => JSON.stringify(s);
  const lines = [
    `// ${g.stack}: estimated time to CREATE_COMPLETE ${minutes(g.totalSec)} under the documented latency model; critical path in red`,
    `digraph ${q(g.stack)} {`,
    '  rankdir=LR;',
    '  compound=true;',
    '  node [shape=box, fontsize=10];',
    `  label=${q(`${g.stack}: about ${minutes(g.totalSec)} to CREATE_COMPLETE`)};`,
  ];
  g.files.forEach((file, i) => {
    lines.push(
      `  subgraph cluster_t${i} {`,
      `    label=${q(file + (i === 0 ? '' : ' (per member)'))};`,
      `    t${i} [shape=point, style=invis];`,
    );
    for (const n of g.nodes.filter((x) => x.file === file)) {
      lines.push(`    ${n.id} [label=${q(`${n.logicalId}\n${n.type}`)}${n.critical ? ', color=red, penwidth=3' : ''}];`);
    }
    lines.push('  }');
  });
  for (const [a, b] of g.edges) lines.push(`  ${a} -> ${b};`);
  for (const [a, b] of g.memberEdges) lines.push(`  ${a} -> ${b} [style=dashed, lhead=cluster_${b}, label="members"];`);
  lines.push('}');
  return lines.join('\n') + '\n';
}

export interface GraphArgs {
  readonly app?: string;
  readonly stack?: string;
  readonly format: 'mermaid' | 'dot' | 'json';
  readonly debug?: boolean;
}

export async function runGraph(args: GraphArgs, io: Io): Promise<number> {
  try {
    const { manifest, read } = await outputOf({ app: args.app, stack: args.stack });
    const graphs = manifest.stacks.map((s) => {
      const files = new Map<string, unknown>([s.template, ...s.files].map((f) => [f, yaml.load(read(f))]));
      return stackGraph(s.name, s.template, files);
    });
    if (args.format === 'json') io.out(JSON.stringify(graphs, null, 2));
    else io.out(graphs.map(args.format === 'dot' ? toDot : toMermaid).join('\n'));
    return 0;
  } catch (e) {
    return reportError(e, io, { debug: args.debug, json: args.format === 'json' });
  }
}
