import { describe, expect, it } from 'vitest';
import { HotTemplate, Match } from '../../src/assertions/index.js';
import { App, ClusterNetwork, HeatStack, type ClusterNetworkProps } from '../../src/index.js';
import { cluster, failsWith } from './k8s-helpers.js';

/** A ClusterNetwork alone in a root stack `s` (construct path `s/Net`). */
function network(props: Partial<ClusterNetworkProps> = {}): { stack: HeatStack; net: ClusterNetwork } {
  const stack = new HeatStack(new App(), 's');
  const net = new ClusterNetwork(stack, 'Net', { namePrefix: 'demo', externalNetwork: 'public', ...props });
  return { stack, net };
}

/** Expect `f` to throw a HotError `<path>: <rule>` whose detail matches `detail`. */

const ip = (s: string) => s.split('.').reduce((a, o) => a * 256 + Number(o), 0);

describe('ClusterNetwork (new network)', () => {
  it('creates a net, an IPv4 subnet with gateway .1 and a router with an external gateway, all named by the prefix', () => {
    const { stack, net } = network();
    const t = HotTemplate.fromStack(stack);
    t.resourceCountIs('OS::Neutron::Net', 1);
    t.resourceCountIs('OS::Neutron::Subnet', 1);
    t.resourceCountIs('OS::Neutron::Router', 1);
    t.resourceCountIs('OS::Neutron::RouterInterface', 1);
    t.hasResourceProperties('OS::Neutron::Net', { name: 'demo-net' });
    t.hasResourceProperties('OS::Neutron::Subnet', {
      name: 'demo-subnet',
      cidr: '10.0.0.0/24',
      ip_version: 4,
      gateway_ip: '10.0.0.1',
      network: { get_resource: Match.stringLikeRegexp('^NetNet[0-9A-F]{8}$') },
      dns_nameservers: Match.absent(),
    });
    t.hasResourceProperties('OS::Neutron::Router', { name: 'demo-router', external_gateway_info: { network: 'public' } });
    t.hasResourceProperties('OS::Neutron::RouterInterface', {
      router: { get_resource: Match.stringLikeRegexp('^NetRouter[0-9A-F]{8}$') },
      subnet: { get_resource: Match.stringLikeRegexp('^NetSubnet[0-9A-F]{8}$') },
    });
    expect(net.created).toBe(true);
    expect(net.cidr.text).toBe('10.0.0.0/24');
    expect(net.routerInterface).toBeDefined();
  });

  it('keeps 8 addresses above the gateway out of the allocation pool by default', () => {
    const { stack, net } = network();
    HotTemplate.fromStack(stack).hasResourceProperties('OS::Neutron::Subnet', {
      allocation_pools: [{ start: '10.0.0.10', end: '10.0.0.254' }],
    });
    expect(net.poolSize).toBe(245);
  });

  it('takes the cidr prop', () => {
    const { stack, net } = network({ cidr: '192.168.16.0/20' });
    HotTemplate.fromStack(stack).hasResourceProperties('OS::Neutron::Subnet', {
      cidr: '192.168.16.0/20',
      gateway_ip: '192.168.16.1',
      allocation_pools: [{ start: '192.168.16.10', end: '192.168.31.254' }],
    });
    expect(net.poolSize).toBe(4096 - 10 - 1);
  });

  it('reserves a quarter of a small subnet when 8 would be too many', () => {
    const { stack, net } = network({ cidr: '10.1.2.16/28' });
    HotTemplate.fromStack(stack).hasResourceProperties('OS::Neutron::Subnet', {
      allocation_pools: [{ start: '10.1.2.22', end: '10.1.2.30' }],
    });
    expect(net.poolSize).toBe(9);
  });

  it('takes reservedAddresses', () => {
    const { stack, net } = network({ reservedAddresses: 2 });
    HotTemplate.fromStack(stack).hasResourceProperties('OS::Neutron::Subnet', {
      allocation_pools: [{ start: '10.0.0.4', end: '10.0.0.254' }],
    });
    expect(net.poolSize).toBe(251);
  });

  it('passes dnsNameservers to the subnet', () => {
    const { stack } = network({ dnsNameservers: ['192.0.2.53', '198.51.100.53'] });
    HotTemplate.fromStack(stack).hasResourceProperties('OS::Neutron::Subnet', { dns_nameservers: ['192.0.2.53', '198.51.100.53'] });
  });

  it('hands out reserved addresses in call order, the same one for the same purpose, all outside the allocation pool', () => {
    const { stack, net } = network({ reservedAddresses: 3 });
    expect(net.reserveAddress('api')).toBe('10.0.0.2');
    expect(net.reserveAddress('etcd')).toBe('10.0.0.3');
    expect(net.reserveAddress('api')).toBe('10.0.0.2');
    expect(net.reserveAddress('apps')).toBe('10.0.0.4');
    const subnet = Object.values(HotTemplate.fromStack(stack).findResources('OS::Neutron::Subnet'))[0]!.properties as {
      allocation_pools: { start: string; end: string }[];
    };
    const [pool] = subnet.allocation_pools;
    for (const a of ['10.0.0.2', '10.0.0.3', '10.0.0.4']) {
      expect(net.contains(a)).toBe(true);
      expect(ip(a) < ip(pool!.start) || ip(a) > ip(pool!.end), a).toBe(true);
      expect(a).not.toBe('10.0.0.1');
    }
  });

  it('fails when every reserved address is in use', () => {
    const { net } = network({ reservedAddresses: 2 });
    net.reserveAddress('api');
    net.reserveAddress('etcd');
    failsWith(
      () => net.reserveAddress('apps'),
      's/Net',
      /^all 2 reserved addresses are in use \(api, etcd\); raise reservedAddresses to reserve one for apps$/,
    );
  });

  it('tells which addresses lie inside the subnet', () => {
    const { net } = network({ cidr: '10.1.0.0/24' });
    expect(net.contains('10.1.0.0')).toBe(true);
    expect(net.contains('10.1.0.255')).toBe(true);
    expect(net.contains('10.1.1.0')).toBe(false);
    expect(net.contains('10.0.255.255')).toBe(false);
    expect(net.contains('not-an-address')).toBe(false);
  });
});

describe('ClusterNetwork (existing network)', () => {
  const existing = { networkId: 'net-id', subnetId: 'subnet-id', subnetCidr: '192.168.0.0/24' };

  it('creates no Neutron resource and passes the ids through', () => {
    const stack = new HeatStack(new App(), 's');
    const net = new ClusterNetwork(stack, 'Net', { namePrefix: 'demo', existing });
    expect(Object.keys((stack.toTemplate().resources as object | undefined) ?? {})).toEqual([]);
    expect(net.networkId).toBe('net-id');
    expect(net.subnetId).toBe('subnet-id');
    expect(net.created).toBe(false);
    expect(net.cidr.text).toBe('192.168.0.0/24');
    expect(net.poolSize).toBe(253);
    expect(net.routerInterface).toBeUndefined();
  });

  it('reserves nothing in a reused subnet (hotk8s cannot know which addresses are free)', () => {
    const stack = new HeatStack(new App(), 's');
    const net = new ClusterNetwork(stack, 'Net', { namePrefix: 'demo', existing });
    expect(net.reserveAddress('api')).toBeUndefined();
  });

  it('in a Cluster: no net, subnet or router; every port joins the given network and subnet', () => {
    const { stack } = cluster({ existingNetwork: existing, loadBalancer: { vipAddress: '192.168.0.250' } });
    const t = HotTemplate.fromStack(stack);
    for (const type of ['OS::Neutron::Net', 'OS::Neutron::Subnet', 'OS::Neutron::Router', 'OS::Neutron::RouterInterface'])
      t.resourceCountIs(type, 0);
    const groups = Object.values(t.findResources('OS::Heat::ResourceGroup')).filter((r) => JSON.stringify(r).includes('ports-member'));
    expect(groups.length).toBe(3);
    for (const g of groups) {
      expect(g.properties).toMatchObject({ resource_def: { properties: { network: 'net-id', subnet: 'subnet-id' } } });
    }
    t.hasResourceProperties('OS::Octavia::LoadBalancer', { vip_subnet: 'subnet-id', vip_address: '192.168.0.250' });
  });
});

describe('ClusterNetwork in a Cluster', () => {
  it('gives the API load balancer the first reserved address as VIP and nodes the same address at boot', () => {
    const { stack, cluster: c } = cluster({ nodeCidr: '172.16.8.0/22' });
    const t = HotTemplate.fromStack(stack);
    t.hasResourceProperties('OS::Neutron::Subnet', {
      cidr: '172.16.8.0/22',
      allocation_pools: [{ start: '172.16.8.10', end: '172.16.11.254' }],
    });
    t.hasResourceProperties('OS::Octavia::LoadBalancer', { vip_address: '172.16.8.2' });
    expect(c.apiAddress).toBe('172.16.8.2');
    t.hasResourceProperties('OS::Heat::ResourceGroup', { resource_def: { properties: { api_address: '172.16.8.2' } } });
  });

  it('passes dnsNameservers to the subnet it creates', () => {
    const { stack } = cluster({ dnsNameservers: ['9.9.9.9'] });
    HotTemplate.fromStack(stack).hasResourceProperties('OS::Neutron::Subnet', { dns_nameservers: ['9.9.9.9'] });
  });

  it('feeds the router gateway from the external_network parameter', () => {
    const { stack } = cluster();
    const t = HotTemplate.fromStack(stack);
    t.hasResourceProperties('OS::Neutron::Router', {
      name: 'k8s-router',
      external_gateway_info: { network: { get_param: 'external_network' } },
    });
    t.hasParameter('external_network', { type: 'string', constraints: [{ custom_constraint: 'neutron.network' }] });
  });

  it('fails when nodeCidr is given with an existing network', () =>
    failsWith(
      () => cluster({ nodeCidr: '10.0.0.0/24', existingNetwork: { networkId: 'n', subnetId: 's', subnetCidr: '10.0.0.0/24' } }),
      'test/Cluster',
      /^nodeCidr applies to a network hotk8s creates/,
    ));

  it('fails when vipAddress lies outside a reused subnet', () =>
    failsWith(
      () =>
        cluster({
          existingNetwork: { networkId: 'n', subnetId: 's', subnetCidr: '192.168.0.0/24' },
          loadBalancer: { vipAddress: '192.168.1.5' },
        }),
      'test/Cluster',
      /^loadBalancer.vipAddress must lie in the subnet 192.168.0.0\/24; got "192.168.1.5"$/,
    ));

  it('fails when vipAddress is given for the subnet hotk8s creates', () =>
    failsWith(
      () => cluster({ loadBalancer: { vipAddress: '10.0.0.3' } }),
      'test/Cluster',
      /^loadBalancer.vipAddress is for a reused subnet; hotk8s reserves 10.0.0.2 .*; got 10.0.0.3$/,
    ));

  it('fails when the node subnet is malformed', () =>
    failsWith(
      () => cluster({ nodeCidr: '10.0.0/24' }),
      'test/Cluster/Network',
      /^cidr must be an IPv4 CIDR like 10.0.0.0\/24; got "10.0.0\/24"$/,
    ));
});

describe('ClusterNetwork validation', () => {
  it('fails when the cidr is malformed', () =>
    failsWith(() => network({ cidr: 'ten/8' }), 's/Net', /^cidr must be an IPv4 CIDR like 10.0.0.0\/24; got "ten\/8"$/));
  it('fails when the cidr has host bits', () =>
    failsWith(
      () => network({ cidr: '10.0.0.5/24' }),
      's/Net',
      /^cidr must be a network address \(no host bits set for \/24\); got "10.0.0.5\/24"$/,
    ));
  it('fails when an octet is above 255', () =>
    failsWith(() => network({ cidr: '10.0.256.0/24' }), 's/Net', /^cidr must be an IPv4 CIDR.*got "10.0.256.0\/24"$/));
  it('fails when the prefix is above 32', () =>
    failsWith(() => network({ cidr: '10.0.0.0/33' }), 's/Net', /^cidr must be an IPv4 CIDR.*got "10.0.0.0\/33"$/));
  it('fails when the cidr is smaller than /28', () =>
    failsWith(
      () => network({ cidr: '10.0.0.0/29' }),
      's/Net',
      /^cidr must be \/28 or larger to hold nodes and reserved addresses; got 10.0.0.0\/29$/,
    ));
  it('fails when reservedAddresses is 0', () =>
    failsWith(
      () => network({ reservedAddresses: 0 }),
      's/Net',
      /^reservedAddresses must be a whole number from 1 to a quarter of the subnet \(64\); got 0$/,
    ));
  it('fails when reservedAddresses is fractional', () =>
    failsWith(() => network({ reservedAddresses: 1.5 }), 's/Net', /^reservedAddresses must be a whole number .*; got 1.5$/));
  it('fails when reservedAddresses is above a quarter of the subnet', () =>
    failsWith(
      () => network({ cidr: '10.0.0.0/28', reservedAddresses: 5 }),
      's/Net',
      /^reservedAddresses must be a whole number from 1 to a quarter of the subnet \(4\); got 5$/,
    ));
  it('fails when a new network has no externalNetwork', () =>
    failsWith(
      () => network({ externalNetwork: undefined }),
      's/Net',
      /^externalNetwork is required when hotk8s creates the network .*; got undefined$/,
    ));
  it('fails when existing comes with cidr, dnsNameservers or reservedAddresses', () => {
    const existing = { networkId: 'n', subnetId: 's', subnetCidr: '10.0.0.0/24' };
    for (const extra of [{ cidr: '10.0.0.0/24' }, { dnsNameservers: ['192.0.2.53'] }, { reservedAddresses: 2 }]) {
      failsWith(
        () => network({ existing, externalNetwork: undefined, ...extra }),
        's/Net',
        /^cidr, dnsNameservers and reservedAddresses apply to a network hotk8s creates/,
      );
    }
  });
  it('fails when existing.subnetCidr is malformed', () =>
    failsWith(
      () => network({ existing: { networkId: 'n', subnetId: 's', subnetCidr: '10.0.0.1/24' }, externalNetwork: undefined }),
      's/Net',
      /^existing.subnetCidr must be a network address .*got "10.0.0.1\/24"$/,
    ));
  it('fails when existing has no networkId', () =>
    failsWith(
      () => network({ existing: { subnetId: 's', subnetCidr: '10.0.0.0/24' } as never, externalNetwork: undefined }),
      's/Net',
      /^existing needs networkId and subnetId; got \{"subnetId":"s"\}$/,
    ));
});
