import { Construct } from 'constructs';
import { HotError, describeValue } from '../core/errors.js';
import type { Input } from '../core/tokens.js';
import { OsOctaviaListener } from '../heat/generated/octavia.generated.js';
import type { OctaviaProvider } from './load-balancer.js';
import { LoadBalancerPool, type LoadBalancerPoolProps } from './load-balancer-pool.js';
import { checkProps } from './private/check.js';
import { LISTENER_PROPS_SPEC } from './private/l2-spec.js';
import { checkInt, checkOneOf } from './private/names.js';

export type ListenerProtocol = 'TCP' | 'UDP' | 'HTTP' | 'HTTPS';
export const LISTENER_PROTOCOLS: readonly ListenerProtocol[] = ['TCP', 'UDP', 'HTTP', 'HTTPS'];

export interface LoadBalancerListenerProps {
  readonly port: number;
  /** HTTPS is passed through to the members (no TLS termination). @default 'TCP' */
  readonly protocol?: ListenerProtocol;
  /**
   * Client CIDRs admitted by the listener (amphora only: the ovn provider keeps client addresses and is
   * restricted with the members' security group instead). A list or a comma_delimited_list parameter.
   * @default - every address
   */
  readonly allowedCidrs?: Input<string[]>;
  /** @default - unlimited */
  readonly connectionLimit?: number;
  readonly name?: Input<string>;
}

/** Context a listener needs from its load balancer. */
export interface ListenerParent {
  readonly provider: OctaviaProvider;
  readonly loadBalancerRef: ReturnType<OsOctaviaListener['ref']>;
}

/** Where a listener's traffic reaches the members from, for their security groups. */
export interface TrafficSources {
  /** CIDRs known at synth (the members' subnet: amphorae and OVN health checks come from it). */
  readonly cidrs: readonly string[];
  /** Client CIDRs that reach the members with their own addresses (ovn), possibly a parameter. */
  readonly clientCidrs?: Input<string[]>;
}

/** An Octavia listener on a port, with its pools. */
export class LoadBalancerListener extends Construct {
  public readonly resource: OsOctaviaListener;
  public readonly port: number;
  public readonly protocol: ListenerProtocol;
  public readonly provider: OctaviaProvider;
  /** The client CIDRs given (for the ovn provider's security-group rules). */
  public readonly clientCidrs?: Input<string[]>;
  private _defaultPool?: LoadBalancerPool;

  constructor(scope: Construct, id: string, parent: ListenerParent, props: LoadBalancerListenerProps) {
    super(scope, id);
    const path = this.node.path;
    if (typeof props !== 'object' || props === null)
      throw new HotError(path, `a listener needs props { port, protocol? }; got ${describeValue(props)}`);
    checkProps(path, 'props', LISTENER_PROPS_SPEC, props);
    this.provider = parent.provider;
    this.port = checkInt(path, 'port', props.port, 1, 65535);
    this.protocol = checkOneOf(path, 'protocol', props.protocol ?? 'TCP', LISTENER_PROTOCOLS);
    if (this.provider === 'ovn') {
      if (!['TCP', 'UDP'].includes(this.protocol))
        throw new HotError(path, `the ovn provider listens on TCP or UDP only; got ${this.protocol}`);
      if (props.allowedCidrs !== undefined) {
        throw new HotError(
          path,
          "the ovn provider has no listener allowedCidrs; restrict clients with the members' security group (the Cluster does so from apiAllowedCidrs)",
        );
      }
    }
    if (props.connectionLimit !== undefined) checkInt(path, 'connectionLimit', props.connectionLimit, 1);
    this.clientCidrs = props.allowedCidrs;
    this.resource = new OsOctaviaListener(this, 'Resource', {
      loadbalancer: parent.loadBalancerRef,
      protocol: this.protocol,
      protocolPort: this.port,
      allowedCidrs: props.allowedCidrs,
      connectionLimit: props.connectionLimit,
      name: props.name,
    });
    this.node.defaultChild = this.resource;
  }

  /** The listener's pool (one per listener; its id is `Pool`). */
  addPool(props: LoadBalancerPoolProps = {}): LoadBalancerPool {
    if (this._defaultPool) throw new HotError(this.node.path, 'this listener has a pool already');
    this._defaultPool = new LoadBalancerPool(
      this,
      'Pool',
      { provider: this.provider, listenerProtocol: this.protocol, listenerRef: this.resource.ref() },
      props,
    );
    return this._defaultPool;
  }

  get pool(): LoadBalancerPool | undefined {
    return this._defaultPool;
  }

  /**
   * Where this listener's traffic comes from at the members: amphorae (and their health checks) from the
   * members' subnet; with ovn the clients themselves (their CIDRs, or anywhere when none are given) plus the
   * members' subnet for health checks.
   */
  trafficSources(memberSubnetCidr: string, clientCidrs?: Input<string[]>): TrafficSources {
    if (this.provider === 'amphora') return { cidrs: [memberSubnetCidr] };
    return { cidrs: [memberSubnetCidr], clientCidrs: clientCidrs ?? this.clientCidrs ?? ['0.0.0.0/0'] };
  }
}
