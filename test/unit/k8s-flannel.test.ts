import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { HotTemplate, Match } from '../../src/assertions/index.js';
import { App, ClusterSecurityGroups, FlannelNetwork, HeatStack, type FlannelNetworkProps } from '../../src/index.js';
import { cluster, failsWith } from './k8s-helpers.js';

function flannel(props: FlannelNetworkProps = {}) {
  const stack = new HeatStack(new App(), 's');
  return { stack, flannel: new FlannelNetwork(stack, 'Flannel', props) };
}

function withGroups(props: Omit<FlannelNetworkProps, 'securityGroups'> = {}) {
  const stack = new HeatStack(new App(), 's');
  const sgs = new ClusterSecurityGroups(stack, 'Sg', { namePrefix: 'demo' });
  const before = Object.keys(HotTemplate.fromStack(stack).findResources('OS::Neutron::SecurityGroupRule'));
  const f = new FlannelNetwork(stack, 'Flannel', { ...props, securityGroups: sgs });
  const rules = HotTemplate.fromStack(stack).findResources('OS::Neutron::SecurityGroupRule');
  const added = Object.fromEntries(Object.entries(rules).filter(([id]) => !before.includes(id)));
  return { stack, flannel: f, added: Object.values(added).map((r) => r.properties as Record<string, unknown>) };
}

/** A member template's user-data text with every gzip+base64 file expanded. */
function expandedUserData(doc: Record<string, unknown>): string {
  const text = JSON.stringify(doc);
  const parts = [text];
  for (const m of text.matchAll(/H4sI[A-Za-z0-9+/=]+/g)) parts.push(gunzipSync(Buffer.from(m[0], 'base64')).toString('utf8'));
  return parts.join('\n');
}

describe('FlannelNetwork', () => {
  it('defaults: 10.244.0.0/16, /24 per node, vxlan, 256 nodes, no address pairs', () => {
    const { flannel: f, stack } = flannel();
    expect(f.podCidr.text).toBe('10.244.0.0/16');
    expect(f.subnetLength).toBe(24);
    expect(f.backend).toBe('vxlan');
    expect(f.maxNodes).toBe(256);
    expect(f.allowedAddressPairs).toBeUndefined();
    expect(f.bootstrapOptions).toEqual({ backend: 'vxlan' });
    expect(stack.toTemplate().resources ?? {}).toEqual({});
  });

  it('takes podCidr and subnetLength (maxNodes = 2^(length - prefix))', () => {
    const { flannel: f } = flannel({ podCidr: '172.20.0.0/14', subnetLength: 26 });
    expect(f.podCidr.text).toBe('172.20.0.0/14');
    expect(f.subnetLength).toBe(26);
    expect(f.maxNodes).toBe(2 ** 12);
  });

  it('vxlan: UDP 8472 between masters and workers (4 rules, from role groups, never to etcd)', () => {
    const { added, stack } = withGroups();
    expect(added).toHaveLength(4);
    for (const r of added) {
      expect(r).toMatchObject({ direction: 'ingress', protocol: 'udp', port_range_min: 8472, port_range_max: 8472 });
      expect(r.remote_ip_prefix).toBeUndefined();
      expect(r.remote_group).toBeDefined();
    }
    const etcd = Object.entries(HotTemplate.fromStack(stack).findResources('OS::Neutron::SecurityGroup')).find(
      ([, g]) => (g.properties as { name: string }).name === 'demo-etcd',
    )![0];
    for (const r of added) expect(r.security_group).not.toEqual({ get_resource: etcd });
  });

  it('udp: UDP 8285 between masters and workers', () => {
    const { added, flannel: f } = withGroups({ backend: 'udp' });
    expect(added).toHaveLength(4);
    for (const r of added) expect(r).toMatchObject({ protocol: 'udp', port_range_min: 8285, port_range_max: 8285 });
    expect(f.allowedAddressPairs).toBeUndefined();
    expect(f.bootstrapOptions).toEqual({ backend: 'udp' });
  });

  it('host-gw: pod-CIDR traffic to masters and workers, allowed address pairs covering the pod CIDR', () => {
    const { added, flannel: f } = withGroups({ backend: 'host-gw', podCidr: '10.32.0.0/12' });
    expect(added).toHaveLength(2);
    for (const r of added) {
      expect(r).toMatchObject({ direction: 'ingress', remote_ip_prefix: '10.32.0.0/12' });
      expect(r.protocol).toBeUndefined();
      expect(r.remote_group).toBeUndefined();
    }
    expect(f.allowedAddressPairs).toEqual([{ ipAddress: '10.32.0.0/12' }]);
    expect(f.bootstrapOptions).toEqual({ backend: 'host-gw' });
  });

  it('applyTo adds the rules to groups given later', () => {
    const stack = new HeatStack(new App(), 's');
    const sgs = new ClusterSecurityGroups(stack, 'Sg', { namePrefix: 'demo' });
    const n = Object.keys(HotTemplate.fromStack(stack).findResources('OS::Neutron::SecurityGroupRule')).length;
    new FlannelNetwork(stack, 'Flannel', { backend: 'udp' }).applyTo(sgs);
    expect(Object.keys(HotTemplate.fromStack(stack).findResources('OS::Neutron::SecurityGroupRule')).length).toBe(n + 4);
  });
});

describe('FlannelNetwork validation', () => {
  it('fails when podCidr is malformed', () =>
    failsWith(() => flannel({ podCidr: '10.244.0.0' }), 's/Flannel', /^podCidr must be an IPv4 CIDR like 10.0.0.0\/24; got "10.244.0.0"$/));
  it('fails when podCidr has host bits', () =>
    failsWith(() => flannel({ podCidr: '10.244.1.0/16' }), 's/Flannel', /^podCidr must be a network address .*got "10.244.1.0\/16"$/));
  it('fails when the backend is unknown', () =>
    failsWith(
      () => flannel({ backend: 'wireguard' as never }),
      's/Flannel',
      /^backend must be one of "vxlan", "host-gw", "udp"; got "wireguard"$/,
    ));
  it('fails when subnetLength is 0', () =>
    failsWith(() => flannel({ subnetLength: 0 }), 's/Flannel', /^subnetLength must be a whole number 1..30; got 0$/));
  it('fails when subnetLength is 31', () =>
    failsWith(() => flannel({ subnetLength: 31 }), 's/Flannel', /^subnetLength must be a whole number 1..30; got 31$/));
  it('fails when subnetLength is fractional', () =>
    failsWith(() => flannel({ subnetLength: 24.5 }), 's/Flannel', /^subnetLength must be a whole number 1..30; got 24.5$/));
  it('fails when subnetLength is not longer than the pod prefix', () =>
    failsWith(
      () => flannel({ podCidr: '10.244.0.0/24', subnetLength: 24 }),
      's/Flannel',
      /^subnetLength must be longer than the pod CIDR's prefix \(\/24\) so that each node gets a share; got 24$/,
    ));
  it("fails in a Cluster with the Cluster's path", () =>
    failsWith(() => cluster({ flannel: { backend: 'geneve' as never } }), 'test/Cluster', /^flannel.backend must be one of/));
});

describe('FlannelNetwork in a Cluster', () => {
  const portsOf = (stack: HeatStack, part: string) => HotTemplate.fromStack(stack.nestedStacks().find((s) => s.fileName.includes(part))!);

  it('host-gw: allowed_address_pairs on every master and worker port (all groups), none on etcd ports', () => {
    const { stack, cluster: c } = cluster({
      flannel: { backend: 'host-gw', podCidr: '10.32.0.0/16' },
      workerGroups: [{ name: 'a' }, { name: 'b', size: 1 }],
    });
    // every group's ports template (group b uses group a's: they share one)
    for (const t of [portsOf(stack, 'masters-ports'), ...c.workerGroups.map((g) => HotTemplate.fromStack(g.nodes.ports.template))]) {
      t.hasResourceProperties('OS::Neutron::Port', { allowed_address_pairs: [{ ip_address: '10.32.0.0/16' }] });
    }
    portsOf(stack, 'etcd-members-ports').hasResourceProperties('OS::Neutron::Port', { allowed_address_pairs: Match.absent() });
  });

  it('vxlan: no allowed_address_pairs on any port', () => {
    const { stack } = cluster();
    for (const s of stack.nestedStacks()) expect(JSON.stringify(s.toTemplate()), s.fileName).not.toContain('allowed_address_pairs');
  });

  it("hands the backend and the pod CIDR to the masters' bootstrap", () => {
    for (const backend of ['vxlan', 'host-gw', 'udp'] as const) {
      const { stack } = cluster({ flannel: { backend, podCidr: '10.32.0.0/16', subnetLength: 25 } });
      const text = expandedUserData(
        stack
          .nestedStacks()
          .find((s) => s.fileName.includes('masters-nodes'))!
          .toTemplate(),
      );
      expect(text).toContain('10.32.0.0/16');
      expect(text).toMatch(new RegExp(`"Type":\\s*"${backend}"|Type: ${backend}|\\\\"Type\\\\":\\s*\\\\"${backend}\\\\"`));
      expect(text).toMatch(/node-cidr-mask-size[^\n]*25/);
    }
  });
});
