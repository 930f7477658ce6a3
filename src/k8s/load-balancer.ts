import { Construct } from 'constructs';
import { HotError, describeValue } from '../core/errors.js';
import type { HeatResource } from '../core/resource.js';
import type { IResolvable, Input } from '../core/tokens.js';
import { OsNeutronFloatingIP, OsNeutronFloatingIPAssociation } from '../heat/generated/neutron.generated.js';
import { OsOctaviaLoadBalancer } from '../heat/generated/octavia.generated.js';
import { LoadBalancerListener, type LoadBalancerListenerProps } from './load-balancer-listener.js';
import { checkProps } from './private/check.js';
import { LOAD_BALANCER_PROPS_SPEC } from './private/l2-spec.js';
import { checkOneOf } from './private/names.js';

export type OctaviaProvider = 'amphora' | 'ovn';
export const OCTAVIA_PROVIDERS: readonly OctaviaProvider[] = ['amphora', 'ovn'];

/** A floating IP for the VIP: a new one from a network (optionally a given address), or an existing one by id. */
export type LoadBalancerFloatingIp =
  { readonly network: Input<string>; readonly address?: Input<string> } | { readonly existingId: Input<string> };

export interface LoadBalancerProps {
  /** The subnet of the VIP. */
  readonly vipSubnet: Input<string>;
  /** A fixed VIP address (e.g. one reserved outside the allocation pool). @default - Neutron picks one */
  readonly vipAddress?: Input<string>;
  /** Octavia provider; synth rejects what it cannot do. @default 'amphora' */
  readonly provider?: OctaviaProvider;
  /** Octavia flavor (amphora only). @default - the cloud's default */
  readonly flavor?: Input<string>;
  /** @default - no floating IP */
  readonly floatingIp?: LoadBalancerFloatingIp;
  /** Resources the floating IP must wait for (the router interface of the VIP's subnet). @default - none */
  readonly floatingIpDependsOn?: readonly HeatResource[];
  readonly name?: Input<string>;
  readonly description?: Input<string>;
  /** @default - the cloud's default */
  readonly availabilityZone?: Input<string>;
}

/**
 * A general Octavia load balancer: the VIP, listeners (`addListener`) with one pool each and a health monitor that
 * is really created, members, `allowed_cidrs`, an optional floating IP (new or existing), a provider and a flavor.
 * Listeners are children named by their id, so adding one never changes the logical id of another.
 */
export class LoadBalancer extends Construct {
  public readonly resource: OsOctaviaLoadBalancer;
  public readonly provider: OctaviaProvider;
  public readonly floatingIp?: OsNeutronFloatingIP;
  private readonly listeners = new Map<number, LoadBalancerListener>();

  constructor(scope: Construct, id: string, props: LoadBalancerProps) {
    super(scope, id);
    const path = this.node.path;
    if (typeof props !== 'object' || props === null || props.vipSubnet === undefined) {
      throw new HotError(path, `a load balancer needs vipSubnet; got ${describeValue(props)}`);
    }
    checkProps(path, 'props', LOAD_BALANCER_PROPS_SPEC, props);
    this.provider = checkOneOf(path, 'provider', props.provider ?? 'amphora', OCTAVIA_PROVIDERS);
    if (this.provider === 'ovn' && props.flavor !== undefined) {
      throw new HotError(path, `the ovn provider takes no Octavia flavor; got flavor ${describeValue(props.flavor)}`);
    }
    this.resource = new OsOctaviaLoadBalancer(this, 'Resource', {
      vipSubnet: props.vipSubnet,
      vipAddress: props.vipAddress,
      provider: this.provider,
      flavor: props.flavor,
      name: props.name,
      description: props.description,
      availabilityZone: props.availabilityZone,
    });
    this.node.defaultChild = this.resource;
    const fip = props.floatingIp;
    if (fip !== undefined) {
      if ('existingId' in fip) {
        const assoc = new OsNeutronFloatingIPAssociation(this, 'FloatingIpAssociation', {
          floatingipId: fip.existingId,
          portId: this.resource.attrVipPortId,
        });
        for (const d of props.floatingIpDependsOn ?? []) assoc.addDependency(d);
      } else if ('network' in fip && fip.network !== undefined) {
        // The address is allocated on its own (seconds) and associated with the VIP port once the load balancer
        // exists, so that nodes can put it in certificates without waiting for the load balancer.
        this.floatingIp = new OsNeutronFloatingIP(this, 'FloatingIp', { floatingNetwork: fip.network, floatingIpAddress: fip.address });
        const assoc = new OsNeutronFloatingIPAssociation(this, 'FloatingIpAssociation', {
          floatingipId: this.floatingIp.ref(),
          portId: this.resource.attrVipPortId,
        });
        for (const d of props.floatingIpDependsOn ?? []) assoc.addDependency(d);
      } else {
        throw new HotError(path, `floatingIp must be { network, address? } or { existingId }; got ${describeValue(fip)}`);
      }
    }
  }

  /** A listener on a port; its construct id is `id` (keep ids stable: they name the Heat resources). */
  addListener(id: string, props: LoadBalancerListenerProps): LoadBalancerListener {
    const port = props?.port;
    if (this.listeners.has(port)) {
      throw new HotError(
        this.node.path,
        `port ${port} already has a listener (${this.listeners.get(port)!.node.id}); got another for ${id}`,
      );
    }
    const l = new LoadBalancerListener(this, id, { provider: this.provider, loadBalancerRef: this.resource.ref() }, props);
    this.listeners.set(l.port, l);
    return l;
  }

  /** The load balancer's id. */
  get loadBalancerId(): IResolvable {
    return this.resource.ref();
  }

  /** The VIP address (deploy time). */
  get vipAddress(): IResolvable {
    return this.resource.attrVipAddress;
  }

  /** The public address: the new floating IP's address, else the VIP. */
  get publicAddress(): IResolvable {
    return this.floatingIp ? this.floatingIp.attrFloatingIpAddress : this.vipAddress;
  }
}
