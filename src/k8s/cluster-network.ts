import { Construct } from 'constructs';
import { HotError, describeValue } from '../core/errors.js';
import type { HeatResource } from '../core/resource.js';
import type { Input } from '../core/tokens.js';
import { OsNeutronNet, OsNeutronRouter, OsNeutronRouterInterface, OsNeutronSubnet } from '../heat/generated/neutron.generated.js';
import { formatIpv4, nthAddress, parseCidr, parseIpv4, type Ipv4Cidr } from '../private/cidr.js';

/** An existing Neutron network and subnet the cluster's nodes join. */
export interface ExistingNetwork {
  /** Network id or name. */
  readonly networkId: Input<string>;
  /** Subnet id or name (IPv4). */
  readonly subnetId: Input<string>;
  /** The subnet's CIDR, for synth-time cross-checks and for security-group rules that admit the load balancer. */
  readonly subnetCidr: string;
}

export interface ClusterNetworkProps {
  /** Prefix of the Neutron resource names. */
  readonly namePrefix: string;
  /**
   * CIDR of the subnet hotk8s creates.
   * @default '10.0.0.0/24'
   */
  readonly cidr?: string;
  /** DNS servers handed out by the new subnet's DHCP. @default - none: Neutron's DHCP resolver */
  readonly dnsNameservers?: Input<string[]>;
  /** The external network of the new router's gateway (required when hotk8s creates the network). */
  readonly externalNetwork?: Input<string>;
  /**
   * Addresses kept out of the new subnet's allocation pool (just above the gateway), handed out at synth for
   * load-balancer VIPs so that every node knows them at boot.
   * @default 8 (a quarter of the subnet when that is fewer)
   */
  readonly reservedAddresses?: number;
  /** Reuse this network and subnet instead of creating them. @default - create a network, subnet and router */
  readonly existing?: ExistingNetwork;
}

/**
 * The nodes' network: a new Neutron net, IPv4 subnet and router with an external gateway, or an existing
 * network and subnet. When hotk8s creates the subnet it keeps a few addresses out of the allocation pool and
 * hands them out with `reserveAddress()` (the API VIP), so the address is known at synth time.
 */
export class ClusterNetwork extends Construct {
  public readonly networkId: Input<string>;
  public readonly subnetId: Input<string>;
  /** The subnet's CIDR. */
  public readonly cidr: Ipv4Cidr;
  /** True when hotk8s creates the network (and can reserve addresses). */
  public readonly created: boolean;
  public readonly net?: OsNeutronNet;
  public readonly subnet?: OsNeutronSubnet;
  public readonly router?: OsNeutronRouter;
  /** What a floating IP on this subnet must wait for (the router interface). */
  public readonly routerInterface?: HeatResource;
  /** Number of addresses nodes can get from the allocation pool. */
  public readonly poolSize: number;
  private readonly reservedCount: number;
  private readonly reserved = new Map<string, string>();

  constructor(scope: Construct, id: string, props: ClusterNetworkProps) {
    super(scope, id);
    const path = this.node.path;
    if (props.existing) {
      if (props.cidr !== undefined || props.dnsNameservers !== undefined || props.reservedAddresses !== undefined) {
        throw new HotError(
          path,
          'cidr, dnsNameservers and reservedAddresses apply to a network hotk8s creates; remove them or remove existing',
        );
      }
      const c = parseCidr(props.existing.subnetCidr);
      if (typeof c === 'string') throw new HotError(path, `existing.subnetCidr ${c}`);
      if (props.existing.networkId === undefined || props.existing.subnetId === undefined) {
        throw new HotError(
          path,
          `existing needs networkId and subnetId; got ${describeValue({ networkId: props.existing.networkId, subnetId: props.existing.subnetId })}`,
        );
      }
      this.cidr = c;
      this.created = false;
      this.networkId = props.existing.networkId;
      this.subnetId = props.existing.subnetId;
      this.reservedCount = 0;
      this.poolSize = Math.max(0, c.size - 3);
      return;
    }
    const c = parseCidr(props.cidr ?? '10.0.0.0/24');
    if (typeof c === 'string') throw new HotError(path, `cidr ${c}`);
    if (c.prefix > 28) throw new HotError(path, `cidr must be /28 or larger to hold nodes and reserved addresses; got ${c.text}`);
    const reserved = props.reservedAddresses ?? Math.min(8, c.size / 4);
    if (!Number.isInteger(reserved) || reserved < 1 || reserved > c.size / 4) {
      throw new HotError(
        path,
        `reservedAddresses must be a whole number from 1 to a quarter of the subnet (${c.size / 4}); got ${describeValue(reserved)}`,
      );
    }
    if (props.externalNetwork === undefined) {
      throw new HotError(path, 'externalNetwork is required when hotk8s creates the network (the router gateway); got undefined');
    }
    this.cidr = c;
    this.created = true;
    this.reservedCount = reserved;
    // gateway = .1, reserved = .2 .. .(1+reserved), pool = .(2+reserved) .. broadcast-1
    const poolStart = nthAddress(c, 2 + reserved);
    const poolEnd = nthAddress(c, -2);
    this.poolSize = poolEnd - poolStart + 1;
    this.net = new OsNeutronNet(this, 'Net', { name: `${props.namePrefix}-net` });
    this.subnet = new OsNeutronSubnet(this, 'Subnet', {
      name: `${props.namePrefix}-subnet`,
      network: this.net.ref(),
      cidr: c.text,
      ipVersion: 4,
      gatewayIp: formatIpv4(nthAddress(c, 1)),
      allocationPools: [{ start: formatIpv4(poolStart), end: formatIpv4(poolEnd) }],
      dnsNameservers: props.dnsNameservers,
    });
    this.router = new OsNeutronRouter(this, 'Router', {
      name: `${props.namePrefix}-router`,
      externalGatewayInfo: { network: props.externalNetwork },
    });
    this.routerInterface = new OsNeutronRouterInterface(this, 'RouterInterface', { router: this.router.ref(), subnet: this.subnet.ref() });
    this.networkId = this.net.ref();
    this.subnetId = this.subnet.ref();
  }

  /**
   * A fixed address outside the allocation pool for `purpose` (e.g. the API VIP), or undefined when the
   * subnet is reused (hotk8s cannot know which addresses are free). The same purpose gets the same address;
   * addresses are handed out in call order, so add new purposes after existing ones.
   */
  reserveAddress(purpose: string): string | undefined {
    if (!this.created) return undefined;
    const had = this.reserved.get(purpose);
    if (had) return had;
    if (this.reserved.size >= this.reservedCount) {
      throw new HotError(
        this.node.path,
        `all ${this.reservedCount} reserved addresses are in use (${[...this.reserved.keys()].join(', ')}); raise reservedAddresses to reserve one for ${purpose}`,
      );
    }
    const address = formatIpv4(nthAddress(this.cidr, 2 + this.reserved.size));
    this.reserved.set(purpose, address);
    return address;
  }

  /** Whether `address` (dotted quad) lies inside the subnet. */
  contains(address: string): boolean {
    const a = parseIpv4(address);
    return a !== undefined && a >= this.cidr.network && a < this.cidr.network + this.cidr.size;
  }
}
