/**
 * Declared shapes of the props of the general L2 constructs a program may create on its own (load balancer, listener,
 * pool, flannel), checked by `check.ts` like the Cluster's (`props-spec.ts`). This module imports no construct module
 * (the constructs import it), so value lists are written here, each checked against its type.
 */
import { Construct } from 'constructs';
import { isResolvable } from '../../core/tokens.js';
import type { FlannelBackend } from '../../bootstrap/addons.js';
import type { FlannelNetworkProps } from '../flannel-network.js';
import type { LoadBalancerListenerProps } from '../load-balancer-listener.js';
import type { HealthMonitorOptions, LoadBalancerPoolProps } from '../load-balancer-pool.js';
import type { LoadBalancerFloatingIp, LoadBalancerProps, OctaviaProvider } from '../load-balancer.js';
import { anyOf, custom, list, num, oneOf, shape, str, strInput, type Rule } from './check.js';

const construct = custom('a construct', (v) => v instanceof Construct);
const resolvable = custom('a deploy-time value (Fn..., a parameter)', isResolvable);
const PROVIDERS = ['amphora', 'ovn'] as const satisfies readonly OctaviaProvider[];

type NewFip = Extract<LoadBalancerFloatingIp, { network: unknown }>;
type ExistingFip = Extract<LoadBalancerFloatingIp, { existingId: unknown }>;

export const LOAD_BALANCER_PROPS_SPEC: Rule = shape<LoadBalancerProps>(
  {
    vipSubnet: strInput,
    vipAddress: strInput,
    provider: oneOf(PROVIDERS),
    flavor: strInput,
    floatingIp: anyOf(
      [
        shape<NewFip>({ network: strInput, address: strInput }, { required: ['network'] }),
        shape<ExistingFip>({ existingId: strInput }, { required: ['existingId'] }),
      ],
      '{ network, address? } or { existingId }',
    ),
    floatingIpDependsOn: list(construct),
    name: strInput,
    description: strInput,
    availabilityZone: strInput,
  },
  { required: ['vipSubnet'] },
);

export const LISTENER_PROPS_SPEC: Rule = shape<LoadBalancerListenerProps>(
  {
    port: num,
    protocol: oneOf(['TCP', 'UDP', 'HTTP', 'HTTPS'] satisfies LoadBalancerListenerProps['protocol'][]),
    allowedCidrs: anyOf([list(strInput), resolvable], 'a list of CIDRs or a comma_delimited_list parameter'),
    connectionLimit: num,
    name: strInput,
  },
  { required: ['port'] },
);

export const HEALTH_MONITOR_SPEC: Rule = shape<HealthMonitorOptions>({
  type: oneOf(['TCP', 'HTTP', 'HTTPS', 'PING', 'UDP-CONNECT'] satisfies HealthMonitorOptions['type'][]),
  delaySec: num,
  timeoutSec: num,
  maxRetries: num,
  urlPath: strInput,
  expectedCodes: strInput,
  httpMethod: oneOf([
    'GET',
    'HEAD',
    'POST',
    'PUT',
    'DELETE',
    'OPTIONS',
    'PATCH',
    'CONNECT',
    'TRACE',
  ] satisfies HealthMonitorOptions['httpMethod'][]),
});

export const POOL_PROPS_SPEC: Rule = shape<LoadBalancerPoolProps>({
  protocol: oneOf(['TCP', 'UDP', 'HTTP', 'HTTPS', 'PROXY'] satisfies LoadBalancerPoolProps['protocol'][]),
  algorithm: oneOf(['ROUND_ROBIN', 'LEAST_CONNECTIONS', 'SOURCE_IP', 'SOURCE_IP_PORT'] satisfies LoadBalancerPoolProps['algorithm'][]),
  healthMonitor: HEALTH_MONITOR_SPEC,
  sessionPersistence: shape<NonNullable<LoadBalancerPoolProps['sessionPersistence']>>(
    { type: oneOf(['SOURCE_IP', 'HTTP_COOKIE', 'APP_COOKIE']), cookieName: strInput },
    { required: ['type'] },
  ),
  name: strInput,
});

export const FLANNEL_PROPS_SPEC: Rule = shape<FlannelNetworkProps>({
  podCidr: str,
  subnetLength: num,
  backend: oneOf(['vxlan', 'host-gw', 'udp'] satisfies FlannelBackend[]),
  securityGroups: construct,
});
