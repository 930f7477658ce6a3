/**
 * `hotk8s update`'s pure parts: which groups it gates (from the root template), the hook environments it passes to
 * Heat, the member of a nested stack name, and the health markers it reads from a console log.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { clearHookEnvironment, gatedGroups, healthyAfter, hookEnvironment, memberOf, parseHealthMarkers } from '../../src/cli/update.js';
import { main } from '../../src/cli/main.js';

const GOLDEN = join(import.meta.dirname, '..', 'golden', '__files__', 'stacks-default');
const root = yaml.load(readFileSync(join(GOLDEN, 'default.yaml'), 'utf8'));

describe('gatedGroups', () => {
  it('finds the etcd and master groups of stacks/default by their pause parameter, not the workers', () => {
    expect(gatedGroups(root)).toEqual([
      { name: 'ClusterControlMastersNodesGroupB0A86F7D', role: 'master' },
      { name: 'ClusterEtcdMembersNodesGroupFFD18568', role: 'etcd' },
    ]);
  });

  it('the member template of each gated group holds the Server the hook names', () => {
    const r = (root as { resources: Record<string, { properties: { resource_def: { type: string } } }> }).resources;
    for (const g of gatedGroups(root)) {
      const member = yaml.load(readFileSync(join(GOLDEN, r[g.name]!.properties.resource_def.type), 'utf8')) as {
        resources: Record<string, { type: string; properties: { metadata: Record<string, string> } }>;
      };
      expect(member.resources.Server!.type).toBe('OS::Nova::Server');
      expect(member.resources.Server!.properties.metadata['hotk8s-role']).toBe(g.role);
    }
  });

  it('a template without resources is an error naming it', () => {
    expect(() => gatedGroups({ heat_template_version: '2021-04-16' }, 'x.yaml')).toThrow(
      'x.yaml: a HOT template has a resources section; got none',
    );
  });
});

describe('hook environments', () => {
  const groups = [
    { name: 'ClusterEtcdMembersNodesGroupFFD18568', role: 'etcd' as const },
    { name: 'ClusterControlMastersNodesGroupB0A86F7D', role: 'master' as const },
  ];

  it('puts a post-update hook on every member Server of each group (Heat matches "*" with fnmatch)', () => {
    expect(yaml.load(hookEnvironment(groups))).toEqual({
      resource_registry: {
        resources: {
          ClusterEtcdMembersNodesGroupFFD18568: { '*': { Server: { hooks: 'post-update' } } },
          ClusterControlMastersNodesGroupB0A86F7D: { '*': { Server: { hooks: 'post-update' } } },
        },
      },
    });
  });

  it('removes them with null entries', () => {
    expect(yaml.load(clearHookEnvironment(groups))).toEqual({
      resource_registry: {
        resources: {
          ClusterEtcdMembersNodesGroupFFD18568: { '*': { Server: null } },
          ClusterControlMastersNodesGroupB0A86F7D: { '*': { Server: null } },
        },
      },
    });
  });

  it('memberOf reads group and index from a nested stack name Heat made', () => {
    expect(memberOf('default-ClusterEtcdMembersNodesGroupFFD18568-urt7ebj2eyid-2-huktcnty7fhm', groups)).toEqual({
      group: groups[0],
      index: '2',
    });
    expect(memberOf('default-ClusterWorkersdefaultWorkersNodesGroup54E6E5F0-abc-0-def', groups)).toBeUndefined();
  });
});

describe('health markers', () => {
  const log = [
    '[    0.000000] Linux version 6.1.0 (boot one)',
    'hotk8s-health role=etcd node=k8s-etcd-1 member=1 boot=11111111-aaaa-4bbb-8ccc-000000000001 time=1000 healthy',
    'some other line hotk8s-health role=etcd node=k8s-etcd-1 member=1 boot=2222 time=abc healthy',
    'hotk8s-health role=etcd node=k8s-etcd-1 member=1 boot=11111111-aaaa-4bbb-8ccc-000000000002 time=2000 healthy\r',
    'hotk8s-health role=master node=k8s-master-0 member=0 boot=33333333-aaaa-4bbb-8ccc-000000000003 time=2100 healthy',
  ].join('\n');

  it('parses every well-formed marker line, in order', () => {
    const m = parseHealthMarkers(log);
    expect(m.map((x) => [x.role, x.node, x.member, x.boot.slice(-1), x.time])).toEqual([
      ['etcd', 'k8s-etcd-1', '1', '1', 1000],
      ['etcd', 'k8s-etcd-1', '1', '2', 2000],
      ['master', 'k8s-master-0', '0', '3', 2100],
    ]);
  });

  it('takes a marker of a new boot, or one printed at or after the hook, of this node and role only', () => {
    const m = parseHealthMarkers(log);
    const node = { name: 'k8s-etcd-1', role: 'etcd' as const };
    const oldBoots = new Set(['11111111-aaaa-4bbb-8ccc-000000000001']);
    // a new boot (a rebuild) counts whatever its clock says
    expect(healthyAfter(m, node, oldBoots, 5000)?.boot).toBe('11111111-aaaa-4bbb-8ccc-000000000002');
    // both boots seen before the update: only a marker at or after the hook
    const both = new Set(['11111111-aaaa-4bbb-8ccc-000000000001', '11111111-aaaa-4bbb-8ccc-000000000002']);
    expect(healthyAfter(m, node, both, 2500)).toBeUndefined();
    expect(healthyAfter(m, node, both, 2000)?.time).toBe(2000);
    // another node's or another role's marker never counts
    expect(healthyAfter(m, { name: 'k8s-etcd-0', role: 'etcd' }, new Set(), 0)).toBeUndefined();
    expect(healthyAfter(m, { name: 'k8s-master-0', role: 'etcd' }, new Set(), 0)).toBeUndefined();
  });
});

describe('hotk8s update command line', () => {
  it('refuses --template with --out, naming the rule', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['update', 's', '--template', 'a.yaml', '--out', 'o', '--openstack', '/nonexistent/openstack'], {
      out: (t) => out.push(t),
      err: (t) => err.push(t),
    });
    expect(code).toBe(1);
    expect(err.join('\n')).toContain('hotk8s update: give --template or --out, not both');
  });

  it('a template without etcd or master groups is an error naming the file', async () => {
    const err: string[] = [];
    const file = join(GOLDEN, 'default.cluster-etcd-members-nodes-member.yaml');
    const code = await main(['update', 's', '--template', file, '--openstack', '/nonexistent/openstack'], {
      out: () => undefined,
      err: (t) => err.push(t),
    });
    expect(code).toBe(1);
    expect(err.join('\n')).toContain(`${file}: an update gated on health needs an etcd or master ResourceGroup`);
  });
});
