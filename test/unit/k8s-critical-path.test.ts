import { describe, expect, it } from 'vitest';
import defaultStack from '../../stacks/default.js';
import devStack from '../../stacks/dev.js';
import { HeatStack } from '../../src/index.js';
import { criticalPath } from '../../src/k8s/private/critical-path.js';
import { templates } from './k8s-helpers.js';

function rootOf(app: ReturnType<typeof defaultStack>): HeatStack {
  return app.node.children.find((c) => HeatStack.isHeatStack(c)) as HeatStack;
}

describe('critical path under the issue latency model', () => {
  it('stacks/default completes with one server boot on its path, in about 410 s', () => {
    const root = rootOf(defaultStack());
    const cp = criticalPath(templates(root), root.fileName);
    const servers = cp.steps.filter((s) => s.type === 'OS::Nova::Server');
    expect(servers).toHaveLength(1);
    expect(cp.steps.filter((s) => s.type === 'OS::Octavia::LoadBalancer')).toHaveLength(0);
    expect(cp.totalSec).toBeLessThanOrEqual(410);
    expect(cp.steps[cp.steps.length - 1]!.type).toBe('OS::Heat::WaitCondition');
    console.log(
      `stacks/default critical path: ${cp.totalSec} s\n` +
        cp.steps.map((s) => `  ${s.startSec}-${s.finishSec} s ${s.file} ${s.logicalId} (${s.type})`).join('\n'),
    );
  });

  it('stacks/dev also has a single server boot on its path', () => {
    const root = rootOf(devStack());
    const cp = criticalPath(templates(root), root.fileName);
    expect(cp.steps.filter((s) => s.type === 'OS::Nova::Server')).toHaveLength(1);
  });

  it('counts a server that waits for a load balancer (the model can fail)', () => {
    const files = new Map<string, unknown>([
      [
        't.yaml',
        {
          resources: {
            lb: { type: 'OS::Octavia::LoadBalancer', properties: {} },
            h: { type: 'OS::Heat::WaitConditionHandle' },
            s: { type: 'OS::Nova::Server', properties: { x: { get_attr: ['lb', 'vip_address'] }, y: { get_attr: ['h', 'curl_cli'] } } },
            w: { type: 'OS::Heat::WaitCondition', properties: { handle: { get_resource: 'h' } } },
          },
        },
      ],
    ]);
    expect(criticalPath(files, 't.yaml').totalSec).toBe(120 + 90 + 300);
  });
});
