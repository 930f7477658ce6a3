import { describe, expect, it } from 'vitest';
import { HotTemplate, Match } from '../../src/assertions/index.js';
import { App, HeatStack, HotError, LoadBalancer } from '../../src/index.js';

function lb(props: Partial<ConstructorParameters<typeof LoadBalancer>[2]> = {}) {
  const stack = new HeatStack(new App(), 's');
  const l = new LoadBalancer(stack, 'Lb', { vipSubnet: 'sub', ...props });
  return { stack, lb: l };
}

describe('LoadBalancer', () => {
  it('creates listener, pool and a health monitor with HTTP options', () => {
    const { stack, lb: l } = lb({ flavor: 'small' });
    l.addListener('Web', { port: 80, protocol: 'HTTP', allowedCidrs: ['192.0.2.0/24'] }).addPool({
      healthMonitor: { urlPath: '/healthz', expectedCodes: '200-204' },
    });
    const t = HotTemplate.fromStack(stack);
    t.hasResourceProperties('OS::Octavia::LoadBalancer', { flavor: 'small', provider: 'amphora' });
    t.hasResourceProperties('OS::Octavia::Listener', { protocol: 'HTTP', protocol_port: 80, allowed_cidrs: ['192.0.2.0/24'] });
    t.hasResourceProperties('OS::Octavia::HealthMonitor', {
      type: 'HTTP',
      url_path: '/healthz',
      expected_codes: '200-204',
      http_method: 'GET',
    });
  });
  it('creates a new floating IP apart from the VIP and associates it', () => {
    const { stack } = lb({ floatingIp: { network: 'public' } });
    const t = HotTemplate.fromStack(stack);
    t.hasResourceProperties('OS::Neutron::FloatingIP', { floating_network: 'public' });
    t.hasResourceProperties('OS::Neutron::FloatingIPAssociation', {
      floatingip_id: { get_resource: Match.stringLikeRegexp('^LbFloatingIp[0-9A-F]{8}$') },
    });
  });
  it('associates an existing floating IP', () => {
    const { stack } = lb({ floatingIp: { existingId: 'fip-1' } });
    HotTemplate.fromStack(stack).hasResourceProperties('OS::Neutron::FloatingIPAssociation', { floatingip_id: 'fip-1' });
    HotTemplate.fromStack(stack).resourceCountIs('OS::Neutron::FloatingIP', 0);
  });
  it('adding a listener never changes the ids of existing ones', () => {
    const a = lb();
    a.lb.addListener('Api', { port: 6443 }).addPool();
    const ids = Object.keys((a.stack.toTemplate() as { resources: object }).resources);
    const b = lb();
    b.lb.addListener('Api', { port: 6443 }).addPool();
    b.lb.addListener('App', { port: 80 }).addPool();
    const idsB = Object.keys((b.stack.toTemplate() as { resources: object }).resources);
    for (const id of ids) expect(idsB).toContain(id);
  });
  const fails = (f: () => unknown, re: RegExp) => expect(f).toThrow(HotError) && expect(f).toThrow(re);
  it('fails when ovn gets a flavor', () => fails(() => lb({ provider: 'ovn', flavor: 'x' }), /ovn provider takes no Octavia flavor/));
  it('fails when ovn gets an HTTP listener', () =>
    fails(() => lb({ provider: 'ovn' }).lb.addListener('W', { port: 80, protocol: 'HTTP' }), /TCP or UDP only; got HTTP/));
  it('fails when ovn gets listener allowedCidrs', () =>
    fails(() => lb({ provider: 'ovn' }).lb.addListener('W', { port: 80, allowedCidrs: ['0.0.0.0/0'] }), /no listener allowedCidrs/));
  it('fails when ovn gets another algorithm', () =>
    fails(() => lb({ provider: 'ovn' }).lb.addListener('W', { port: 80 }).addPool({ algorithm: 'ROUND_ROBIN' }), /SOURCE_IP_PORT only/));
  it('fails when ovn gets an HTTP monitor', () =>
    fails(
      () =>
        lb({ provider: 'ovn' })
          .lb.addListener('W', { port: 80 })
          .addPool({ healthMonitor: { type: 'HTTP' } }),
      /TCP or UDP-CONNECT/,
    ));
  it('fails when amphora gets SOURCE_IP_PORT', () =>
    fails(() => lb().lb.addListener('W', { port: 80 }).addPool({ algorithm: 'SOURCE_IP_PORT' }), /does not offer SOURCE_IP_PORT/));
  it('fails when two listeners share a port', () => {
    const { lb: l } = lb();
    l.addListener('A', { port: 80 });
    fails(() => l.addListener('B', { port: 80 }), /port 80 already has a listener/);
  });
  it('fails when the monitor timeout exceeds its delay', () =>
    fails(
      () =>
        lb()
          .lb.addListener('W', { port: 80 })
          .addPool({ healthMonitor: { delaySec: 2, timeoutSec: 5 } }),
      /must not exceed delaySec/,
    ));
  it('fails when a TCP monitor gets a URL path', () =>
    fails(
      () =>
        lb()
          .lb.addListener('W', { port: 80 })
          .addPool({ healthMonitor: { urlPath: '/' } }),
      /apply to HTTP and HTTPS monitors/,
    ));
  it('fails when a port is out of range', () =>
    fails(() => lb().lb.addListener('W', { port: 70000 }), /port must be a whole number 1..65535; got 70000/));
  it('fails when a pool protocol does not fit the listener', () =>
    fails(
      () => lb().lb.addListener('W', { port: 53, protocol: 'UDP' }).addPool({ protocol: 'TCP' }),
      /UDP listener takes a pool of protocol UDP/,
    ));
});
