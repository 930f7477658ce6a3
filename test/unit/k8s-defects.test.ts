// Regression tests for defects found by the construct test sweep: each gave a TypeError, a broken template, or a silent
// no-op before it was fixed.
import { describe, expect, it } from 'vitest';
import { App, Cluster, HeatStack, HotError } from '../../src/index.js';
import { HotTemplate } from '../../src/assertions/index.js';

function cluster(props: Record<string, unknown> = {}) {
  const app = new App();
  const stack = new HeatStack(app, 'prop');
  const c = new Cluster(stack, 'Cluster', props as never);
  return { app, stack, cluster: c };
}

describe('construct defects stay fixed', () => {
  it('bootVolume.volumeType becomes a typed Cinder boot volume (Heat 19 has no volume_type in block_device_mapping_v2)', () => {
    const { stack } = cluster({ masters: { bootVolume: { sizeGiB: 40, volumeType: 'fast' } } });
    const m = stack.nestedStacks().find((s) => s.fileName.includes('masters-nodes'))!;
    const t = HotTemplate.fromStack(m);
    t.hasResourceProperties('OS::Cinder::Volume', { size: 40, volume_type: 'fast', image: { get_param: 'image' } });
    t.hasResourceProperties('OS::Nova::Server', {
      block_device_mapping_v2: [{ boot_index: 0, volume_id: { get_resource: 'BootVolume' }, delete_on_termination: false }],
    });
    const server = Object.values(
      (m.toTemplate() as { resources: Record<string, { type: string; properties: Record<string, unknown> }> }).resources,
    ).find((r) => r.type === 'OS::Nova::Server')!;
    expect(server.properties.image).toBeUndefined();
    for (const bdm of server.properties.block_device_mapping_v2 as Record<string, unknown>[]) expect(bdm).not.toHaveProperty('volume_type');
  });

  it('bootVolume without a type keeps the image-backed mapping', () => {
    const { stack } = cluster({ masters: { bootVolume: { sizeGiB: 40 } } });
    const m = stack.nestedStacks().find((s) => s.fileName.includes('masters-nodes'))!;
    HotTemplate.fromStack(m).hasResourceProperties('OS::Nova::Server', {
      block_device_mapping_v2: [{ boot_index: 0, image: { get_param: 'image' }, volume_size: 40, delete_on_termination: true }],
    });
    HotTemplate.fromStack(m).resourceCountIs('OS::Cinder::Volume', 0);
  });

  it.each([
    [
      { loadBalancer: null },
      /loadBalancer must be false or an options object \{ provider\?, flavor\?, floatingIp\?, vipAddress\?, etcdListener\? \}; got null/,
    ],
    [{ loadBalancer: { floatingIp: 'x' } }, /loadBalancer.floatingIp must be true, false/],
    [{ loadBalancer: { floatingIp: { address: 'bogus' } } }, /floatingIp.address must be an IPv4 address; got "bogus"/],
    [{ workerGroups: 5 }, /workerGroups must be a list/],
    [{ workerGroups: [{ name: 'a', taints: 5 }] }, /taints must be a list/],
    [{ dnsNameservers: ['not-an-ip'] }, /dnsNameservers entries must be IPv4 addresses; got "not-an-ip"/],
    [{ imageRegistry: 5 }, /imageRegistry must be a string; got 5/],
    [{ apiAllowedCidrs: [] }, /apiAllowedCidrs must name at least one CIDR/],
    [
      { existingNetwork: { networkId: 'n', subnetId: 's', subnetCidr: '10.0.0.0/24' }, dnsNameservers: ['192.0.2.53'] },
      /dnsNameservers configure a subnet hotk8s creates/,
    ],
    [{ dnsServiceIp: '10.96.0.53' }, /dnsServiceIp must be 10.96.0.10, the tenth address of serviceCidr 10.96.0.0\/12/],
  ])('gives HotError for %j', (props, message) => {
    try {
      cluster(props);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(HotError);
      expect((e as HotError).message).toMatch(/^prop\/Cluster/);
      expect((e as HotError).message).toMatch(message);
    }
  });

  it('accepts the labels NodeRestriction lets a kubelet set, and refuses node-role', () => {
    expect(() =>
      cluster({ workerGroups: [{ name: 'a', labels: { 'kubelet.kubernetes.io/x': 'y', 'topology.kubernetes.io/zone': 'az1' } }] }),
    ).not.toThrow();
    expect(() => cluster({ workerGroups: [{ name: 'a', labels: { 'node-role.kubernetes.io/worker': '' } }] })).toThrow(/NodeRestriction/);
  });

  it('keeps the API closed to an empty client list at deploy time too', () => {
    const { stack } = cluster();
    HotTemplate.fromStack(stack).hasParameter('api_allowed_cidrs', { constraints: [{ length: { min: 1 } }] });
  });
});
