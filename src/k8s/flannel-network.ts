import { Construct } from 'constructs';
import { HotError } from '../core/errors.js';
import type { FlannelBackend, FlannelOptions } from '../bootstrap/addons.js';
import type { ClusterSecurityGroups } from './cluster-security-groups.js';
import { parseCidr, type Ipv4Cidr } from '../private/cidr.js';
import { checkProps } from './private/check.js';
import { FLANNEL_PROPS_SPEC } from './private/l2-spec.js';
import { checkInt, checkOneOf } from './private/names.js';

export type { FlannelBackend };
export const FLANNEL_BACKENDS: readonly FlannelBackend[] = ['vxlan', 'host-gw', 'udp'];

export interface FlannelNetworkProps {
  /** The pod network (kubeadm's podSubnet, flannel's Network). @default '10.244.0.0/16' */
  readonly podCidr?: string;
  /** Prefix length of each node's share of the pod network (kube-controller-manager's --node-cidr-mask-size). @default 24 */
  readonly subnetLength?: number;
  /**
   * vxlan: encapsulated in UDP 8472, works across routed subnets. host-gw: plain routes, needs every node on one
   * L2 subnet and Neutron's allowed_address_pairs for the pod CIDR. udp: UDP 8285, for debugging only.
   * @default 'vxlan'
   */
  readonly backend?: FlannelBackend;
  /** The security groups that receive the backend's rules. @default - none: add them with `applyTo()` */
  readonly securityGroups?: ClusterSecurityGroups;
}

/**
 * Flannel, the pod overlay. It contributes what the OpenStack network needs for its backend: security-group
 * rules between Kubernetes nodes (UDP 8472 for vxlan, UDP 8285 for udp, pod-CIDR traffic for host-gw) and, for
 * host-gw, an `allowed_address_pairs` entry covering the pod CIDR on every node port (port security would drop
 * pod traffic otherwise). It hands the node bootstrap its configuration (`bootstrapOptions`).
 */
export class FlannelNetwork extends Construct {
  public readonly podCidr: Ipv4Cidr;
  public readonly subnetLength: number;
  public readonly backend: FlannelBackend;

  constructor(scope: Construct, id: string, props: FlannelNetworkProps = {}) {
    super(scope, id);
    const path = this.node.path;
    checkProps(path, 'props', FLANNEL_PROPS_SPEC, props);
    const c = parseCidr(props.podCidr ?? '10.244.0.0/16');
    if (typeof c === 'string') throw new HotError(path, `podCidr ${c}`);
    this.podCidr = c;
    this.backend = checkOneOf(path, 'backend', props.backend ?? 'vxlan', FLANNEL_BACKENDS);
    this.subnetLength = checkInt(path, 'subnetLength', props.subnetLength ?? 24, 1, 30);
    if (this.subnetLength <= c.prefix) {
      throw new HotError(
        path,
        `subnetLength must be longer than the pod CIDR's prefix (/${c.prefix}) so that each node gets a share; got ${this.subnetLength}`,
      );
    }
    if (props.securityGroups) this.applyTo(props.securityGroups);
  }

  /** How many nodes the pod CIDR can serve: 2^(subnetLength - pod prefix). */
  get maxNodes(): number {
    return 2 ** (this.subnetLength - this.podCidr.prefix);
  }

  /** Neutron `allowed_address_pairs` each node port needs (host-gw only). */
  get allowedAddressPairs(): { ipAddress: string }[] | undefined {
    return this.backend === 'host-gw' ? [{ ipAddress: this.podCidr.text }] : undefined;
  }

  /** The flannel options the bootstrap renders (net-conf backend). */
  get bootstrapOptions(): FlannelOptions {
    return { backend: this.backend };
  }

  /** Add the backend's rules between masters and workers. */
  applyTo(sgs: ClusterSecurityGroups): void {
    for (const to of ['master', 'worker'] as const) {
      if (this.backend === 'host-gw') {
        sgs.allowFromCidr(
          to,
          this.podCidr.text,
          { protocol: 'any', description: 'flannel host-gw: pod traffic routed between nodes' },
          `${to}-from-pods-host-gw`,
        );
        continue;
      }
      for (const from of ['master', 'worker'] as const) {
        const port = this.backend === 'vxlan' ? 8472 : 8285;
        sgs.allowFromRole(to, from, { protocol: 'udp', port, description: `flannel ${this.backend} between nodes` });
      }
    }
  }
}
