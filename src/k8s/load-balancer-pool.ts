import { Construct } from 'constructs';
import { HotError, describeValue } from '../core/errors.js';
import type { IResolvable, Input } from '../core/tokens.js';
import { OsOctaviaHealthMonitor, OsOctaviaPool, OsOctaviaPoolMember } from '../heat/generated/octavia.generated.js';
import type { OctaviaProvider } from './load-balancer.js';
import { checkProps } from './private/check.js';
import { POOL_PROPS_SPEC } from './private/l2-spec.js';
import { checkInt, checkOneOf } from './private/names.js';

export type PoolProtocol = 'TCP' | 'UDP' | 'HTTP' | 'HTTPS' | 'PROXY';
export type LbAlgorithm = 'ROUND_ROBIN' | 'LEAST_CONNECTIONS' | 'SOURCE_IP' | 'SOURCE_IP_PORT';
export const LB_ALGORITHMS: readonly LbAlgorithm[] = ['ROUND_ROBIN', 'LEAST_CONNECTIONS', 'SOURCE_IP', 'SOURCE_IP_PORT'];
export type HealthMonitorType = 'TCP' | 'HTTP' | 'HTTPS' | 'PING' | 'UDP-CONNECT';
export const HEALTH_MONITOR_TYPES: readonly HealthMonitorType[] = ['TCP', 'HTTP', 'HTTPS', 'PING', 'UDP-CONNECT'];

export interface HealthMonitorOptions {
  /** @default - TCP for TCP pools, UDP-CONNECT for UDP pools, HTTP for HTTP pools, TCP for HTTPS passthrough pools (Heat 19 offers no TLS-HELLO) */
  readonly type?: HealthMonitorType;
  /** Seconds between probes. @default 5 */
  readonly delaySec?: number;
  /** Seconds a probe may take; at most delaySec. @default 5 */
  readonly timeoutSec?: number;
  /** Successful probes before a member is up (1-10). @default 3 */
  readonly maxRetries?: number;
  /** HTTP(S) monitors: path probed. @default '/' */
  readonly urlPath?: string;
  /** HTTP(S) monitors: codes that count as healthy ('200', '200,202', '200-204'). @default '200' */
  readonly expectedCodes?: string;
  /** HTTP(S) monitors. @default 'GET' */
  readonly httpMethod?: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE' | 'OPTIONS' | 'PATCH' | 'CONNECT' | 'TRACE';
}

export interface LoadBalancerPoolProps {
  /** @default - the listener's protocol (HTTPS passthrough pools are HTTPS) */
  readonly protocol?: PoolProtocol;
  /** @default 'ROUND_ROBIN' (amphora), 'SOURCE_IP_PORT' (ovn, its only algorithm) */
  readonly algorithm?: LbAlgorithm;
  /** The health monitor; one is always created. @default - the type that fits the protocol, 5 s delay and timeout, 3 retries */
  readonly healthMonitor?: HealthMonitorOptions;
  /** Session persistence (amphora only). @default - none */
  readonly sessionPersistence?: { readonly type: 'SOURCE_IP' | 'HTTP_COOKIE' | 'APP_COOKIE'; readonly cookieName?: string };
  readonly name?: Input<string>;
}

/** Context a pool needs from its listener. */
export interface PoolParent {
  readonly provider: OctaviaProvider;
  readonly listenerProtocol: string;
  readonly listenerRef: IResolvable;
}

/**
 * An Octavia pool behind a listener, with a health monitor that is always created (Magnum's never is). Members in
 * the same template come from `addMember()`; members created per node inside a group's member template get the
 * pool's id (`poolId`) as a nested-template parameter.
 */
export class LoadBalancerPool extends Construct {
  public readonly resource: OsOctaviaPool;
  public readonly healthMonitor: OsOctaviaHealthMonitor;
  public readonly protocol: PoolProtocol;
  public readonly algorithm: LbAlgorithm;
  public readonly provider: OctaviaProvider;

  constructor(scope: Construct, id: string, parent: PoolParent, props: LoadBalancerPoolProps = {}) {
    super(scope, id);
    const path = this.node.path;
    checkProps(path, 'props', POOL_PROPS_SPEC, props);
    this.provider = parent.provider;
    const fromListener: Record<string, PoolProtocol> = { TCP: 'TCP', UDP: 'UDP', HTTP: 'HTTP', HTTPS: 'HTTPS' };
    this.protocol = checkOneOf(path, 'protocol', props.protocol ?? fromListener[parent.listenerProtocol], [
      'TCP',
      'UDP',
      'HTTP',
      'HTTPS',
      'PROXY',
    ]);
    const compatible: Record<string, PoolProtocol[]> = {
      TCP: ['TCP', 'PROXY'],
      UDP: ['UDP'],
      HTTP: ['HTTP', 'PROXY'],
      HTTPS: ['HTTPS', 'TCP', 'PROXY'],
    };
    if (!compatible[parent.listenerProtocol]?.includes(this.protocol)) {
      throw new HotError(
        path,
        `a ${parent.listenerProtocol} listener takes a pool of protocol ${compatible[parent.listenerProtocol]?.join(' or ')}; got ${this.protocol}`,
      );
    }
    const ovn = this.provider === 'ovn';
    this.algorithm = checkOneOf(path, 'algorithm', props.algorithm ?? (ovn ? 'SOURCE_IP_PORT' : 'ROUND_ROBIN'), LB_ALGORITHMS);
    if (ovn && this.algorithm !== 'SOURCE_IP_PORT') {
      throw new HotError(path, `the ovn provider balances with SOURCE_IP_PORT only; got algorithm ${this.algorithm}`);
    }
    if (!ovn && this.algorithm === 'SOURCE_IP_PORT') {
      throw new HotError(
        path,
        `the amphora provider does not offer SOURCE_IP_PORT (use ROUND_ROBIN, LEAST_CONNECTIONS or SOURCE_IP); got ${this.algorithm}`,
      );
    }
    if (ovn && props.sessionPersistence)
      throw new HotError(path, `the ovn provider has no session persistence; got ${describeValue(props.sessionPersistence)}`);
    if (ovn && !['TCP', 'UDP'].includes(this.protocol))
      throw new HotError(path, `the ovn provider balances TCP and UDP only; got pool protocol ${this.protocol}`);
    const sp = props.sessionPersistence;
    if (sp && (sp.type === 'APP_COOKIE') !== (sp.cookieName !== undefined)) {
      throw new HotError(path, `sessionPersistence.cookieName is required for APP_COOKIE and only for it; got ${describeValue(sp)}`);
    }
    this.resource = new OsOctaviaPool(this, 'Resource', {
      listener: parent.listenerRef,
      protocol: this.protocol,
      lbAlgorithm: this.algorithm,
      name: props.name,
      sessionPersistence: sp ? { type: sp.type, cookieName: sp.cookieName } : undefined,
    });
    this.node.defaultChild = this.resource;

    const hm = props.healthMonitor ?? {};
    const defaultType: Record<PoolProtocol, HealthMonitorType> = {
      TCP: 'TCP',
      PROXY: 'TCP',
      UDP: 'UDP-CONNECT',
      HTTP: 'HTTP',
      HTTPS: 'TCP',
    };
    const type = checkOneOf(path, 'healthMonitor.type', hm.type ?? defaultType[this.protocol], HEALTH_MONITOR_TYPES);
    if (ovn && !['TCP', 'UDP-CONNECT'].includes(type))
      throw new HotError(path, `the ovn provider's health monitors are TCP or UDP-CONNECT; got ${type}`);
    if (this.protocol === 'UDP' && !['UDP-CONNECT', 'PING', 'HTTP', 'TCP'].includes(type)) {
      throw new HotError(path, `a UDP pool is monitored by UDP-CONNECT, TCP, HTTP or PING; got ${type}`);
    }
    const http = type === 'HTTP' || type === 'HTTPS';
    if (!http && (hm.urlPath !== undefined || hm.expectedCodes !== undefined || hm.httpMethod !== undefined)) {
      throw new HotError(path, `urlPath, expectedCodes and httpMethod apply to HTTP and HTTPS monitors; the monitor is ${type}`);
    }
    if (hm.urlPath !== undefined && !/^\/\S*$/.test(hm.urlPath))
      throw new HotError(path, `healthMonitor.urlPath must start with '/' and hold no spaces; got ${describeValue(hm.urlPath)}`);
    if (hm.expectedCodes !== undefined && !/^\d{3}((,\d{3})*|-\d{3})$/.test(hm.expectedCodes)) {
      throw new HotError(
        path,
        `healthMonitor.expectedCodes must be a code, a list (200,202) or a range (200-204); got ${describeValue(hm.expectedCodes)}`,
      );
    }
    const delay = checkInt(path, 'healthMonitor.delaySec', hm.delaySec ?? 5, 1, 3600);
    const timeout = checkInt(path, 'healthMonitor.timeoutSec', hm.timeoutSec ?? 5, 1, 3600);
    if (timeout > delay) throw new HotError(path, `healthMonitor.timeoutSec must not exceed delaySec (${delay}); got ${timeout}`);
    this.healthMonitor = new OsOctaviaHealthMonitor(this, 'HealthMonitor', {
      pool: this.resource.ref(),
      type,
      delay,
      timeout,
      maxRetries: checkInt(path, 'healthMonitor.maxRetries', hm.maxRetries ?? 3, 1, 10),
      urlPath: http ? (hm.urlPath ?? '/') : undefined,
      expectedCodes: http ? (hm.expectedCodes ?? '200') : undefined,
      httpMethod: http ? (hm.httpMethod ?? 'GET') : undefined,
    });
  }

  /** The pool's id (pass it to member templates as a parameter). */
  get poolId(): IResolvable {
    return this.resource.ref();
  }

  /** A member in the same template as the pool. */
  addMember(
    id: string,
    props: { readonly address: Input<string>; readonly protocolPort: number; readonly subnet?: Input<string>; readonly weight?: number },
  ): OsOctaviaPoolMember {
    checkInt(this.node.path, 'member protocolPort', props.protocolPort, 1, 65535);
    return new OsOctaviaPoolMember(this, id, {
      pool: this.poolId,
      address: props.address,
      protocolPort: props.protocolPort,
      subnet: props.subnet,
      weight: props.weight,
    });
  }
}
