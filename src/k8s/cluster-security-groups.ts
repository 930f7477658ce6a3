import { Construct } from 'constructs';
import { HotError, describeValue } from '../core/errors.js';
import { Fn } from '../core/intrinsics.js';
import type { IResolvable, Input } from '../core/tokens.js';
import { OsNeutronSecurityGroup, OsNeutronSecurityGroupRule } from '../heat/generated/neutron.generated.js';

/** The node roles that get a security group of their own. */
export type NodeRole = 'etcd' | 'master' | 'worker';
export const NODE_ROLES: readonly NodeRole[] = ['etcd', 'master', 'worker'];

export type RuleProtocol = 'tcp' | 'udp' | 'icmp' | 'any';

/** Ports of an ingress rule. */
export interface IngressPorts {
  readonly protocol: RuleProtocol;
  /** A single port, or the first port of a range. Not for icmp / any. */
  readonly port?: number;
  /** Last port of a range. @default - `port` */
  readonly toPort?: number;
  readonly description: string;
}

export interface ClusterSecurityGroupsProps {
  /** Prefix of the security group names. */
  readonly namePrefix: string;
  /** CIDRs admitted to SSH (22/tcp) on every node; a list or a comma_delimited_list parameter. @default - none */
  readonly sshCidrs?: Input<string[]>;
}

/**
 * One security group per node role, least privilege: etcd client and peer ports only from etcd members and
 * masters, kube-apiserver from masters and workers, the kubelet only from masters, ICMP between Kubernetes nodes
 * (path MTU discovery under an overlay), SSH only from the CIDRs given. Other constructs add their rules
 * (the flannel backend, the load balancer's sources) with `allowFromRole` / `allowFromCidr` / `allowFromCidrList`.
 */
export class ClusterSecurityGroups extends Construct {
  public readonly etcd: OsNeutronSecurityGroup;
  public readonly master: OsNeutronSecurityGroup;
  public readonly worker: OsNeutronSecurityGroup;
  /** SSH access, attached to every node. Its rules come from the `sshCidrs` list (possibly empty). */
  public readonly ssh?: OsNeutronSecurityGroup;
  private readonly extra = new Map<NodeRole, OsNeutronSecurityGroup[]>();

  constructor(scope: Construct, id: string, props: ClusterSecurityGroupsProps) {
    super(scope, id);
    const sg = (role: NodeRole, what: string) =>
      new OsNeutronSecurityGroup(this, role[0]!.toUpperCase() + role.slice(1), { name: `${props.namePrefix}-${role}`, description: what });
    this.etcd = sg('etcd', 'hotk8s etcd members');
    this.master = sg('master', 'hotk8s Kubernetes control plane');
    this.worker = sg('worker', 'hotk8s Kubernetes workers');
    this.allowFromRole('etcd', 'etcd', {
      protocol: 'tcp',
      port: 2379,
      toPort: 2380,
      description: 'etcd client and peer traffic between members',
    });
    this.allowFromRole('etcd', 'master', { protocol: 'tcp', port: 2379, description: 'etcd clients: kube-apiserver' });
    this.allowFromRole('master', 'master', { protocol: 'tcp', port: 6443, description: 'kube-apiserver from masters' });
    this.allowFromRole('master', 'worker', { protocol: 'tcp', port: 6443, description: 'kube-apiserver from workers' });
    this.allowFromRole('master', 'master', { protocol: 'tcp', port: 10250, description: 'kubelet API from the control plane' });
    this.allowFromRole('worker', 'master', { protocol: 'tcp', port: 10250, description: 'kubelet API from the control plane' });
    for (const to of ['master', 'worker'] as const) {
      for (const from of ['master', 'worker'] as const)
        this.allowFromRole(to, from, { protocol: 'icmp', description: 'ICMP between Kubernetes nodes (path MTU discovery)' });
    }
    if (props.sshCidrs !== undefined) {
      this.ssh = this.cidrListGroup('Ssh', `${props.namePrefix}-ssh`, props.sshCidrs, {
        protocol: 'tcp',
        port: 22,
        description: 'SSH from the allowed CIDRs',
      });
      for (const role of NODE_ROLES) this.extra.set(role, [...(this.extra.get(role) ?? []), this.ssh]);
    }
  }

  groupFor(role: NodeRole): OsNeutronSecurityGroup {
    return role === 'etcd' ? this.etcd : role === 'master' ? this.master : this.worker;
  }

  /** Security group ids a node of `role` gets. */
  groupIdsFor(role: NodeRole): IResolvable[] {
    return [this.groupFor(role).ref(), ...(this.extra.get(role) ?? []).map((g) => g.ref())];
  }

  /** Admit traffic to `role` from every node of `from`. */
  allowFromRole(role: NodeRole, from: NodeRole, ports: IngressPorts, id?: string): OsNeutronSecurityGroupRule {
    return this.rule(role, id ?? `${role}-from-${from}-${ruleSuffix(ports)}`, ports, { remoteGroup: this.groupFor(from).ref() });
  }

  /** Admit traffic to `role` from one CIDR. */
  allowFromCidr(role: NodeRole, cidr: Input<string>, ports: IngressPorts, id: string): OsNeutronSecurityGroupRule {
    return this.rule(role, id, ports, { remoteIpPrefix: cidr });
  }

  /**
   * Admit traffic to `role` from every CIDR of a list known only at deploy time (a comma_delimited_list
   * parameter): a security group of its own whose rules Heat's `repeat` builds, attached to the role's nodes.
   */
  allowFromCidrList(
    role: NodeRole,
    cidrs: Input<string[]>,
    ports: IngressPorts | readonly IngressPorts[],
    id: string,
    name: string,
  ): OsNeutronSecurityGroup {
    const g = this.cidrListGroup(id, name, cidrs, ports);
    this.extra.set(role, [...(this.extra.get(role) ?? []), g]);
    return g;
  }

  /**
   * A security group admitting `ports` from every CIDR of a list (possibly a comma_delimited_list parameter),
   * attached to no node yet: the caller attaches it (e.g. `WorkerGroup.addSecurityGroup`) to the nodes it guards.
   * Several port specs share the group (one rule per CIDR and spec); the description is the first spec's.
   */
  createCidrListGroup(
    id: string,
    name: string,
    cidrs: Input<string[]>,
    ports: IngressPorts | readonly IngressPorts[],
  ): OsNeutronSecurityGroup {
    return this.cidrListGroup(id, name, cidrs, ports);
  }

  private cidrListGroup(
    id: string,
    name: string,
    cidrs: Input<string[]>,
    ports: IngressPorts | readonly IngressPorts[],
  ): OsNeutronSecurityGroup {
    const specs: readonly IngressPorts[] = Array.isArray(ports) ? ports : [ports as IngressPorts];
    if (specs.length === 0) throw new HotError(this.node.path, `security group ${id} needs at least one port spec; got none`);
    for (const p of specs) checkPorts(this.node.path, p);
    const repeatFor = (p: IngressPorts) =>
      Fn.repeat(
        {
          direction: 'ingress',
          ethertype: 'IPv4',
          protocol: p.protocol === 'any' ? undefined : p.protocol,
          port_range_min: p.port,
          port_range_max: p.port === undefined ? undefined : (p.toPort ?? p.port),
          remote_ip_prefix: '<%cidr%>',
        },
        { '<%cidr%>': cidrs },
      );
    return new OsNeutronSecurityGroup(this, id, {
      name,
      description: specs[0]!.description,
      rules: (specs.length === 1 ? repeatFor(specs[0]!) : Fn.listConcat(...specs.map(repeatFor))) as unknown as [],
    });
  }

  private rule(
    role: NodeRole,
    id: string,
    ports: IngressPorts,
    remote: { remoteGroup?: Input<string>; remoteIpPrefix?: Input<string> },
  ): OsNeutronSecurityGroupRule {
    checkPorts(this.node.path, ports);
    const cid = id.replace(/[^A-Za-z0-9-]/g, '-');
    if (this.node.tryFindChild(cid))
      throw new HotError(this.node.path, `a rule with id ${JSON.stringify(cid)} exists already; give the new rule another id`);
    return new OsNeutronSecurityGroupRule(this, cid, {
      securityGroup: this.groupFor(role).ref(),
      direction: 'ingress',
      ethertype: 'IPv4',
      protocol: ports.protocol === 'any' ? undefined : ports.protocol,
      portRangeMin: ports.port,
      portRangeMax: ports.port === undefined ? undefined : (ports.toPort ?? ports.port),
      description: ports.description,
      ...remote,
    });
  }
}

function ruleSuffix(p: IngressPorts): string {
  return p.port === undefined ? p.protocol : `${p.protocol}${p.port}${p.toPort !== undefined && p.toPort !== p.port ? `-${p.toPort}` : ''}`;
}

function checkPorts(path: string, p: IngressPorts): void {
  const portless = p.protocol === 'icmp' || p.protocol === 'any';
  if (portless && (p.port !== undefined || p.toPort !== undefined)) {
    throw new HotError(path, `a ${p.protocol} rule has no ports; got port ${describeValue(p.port)}`);
  }
  if (!portless) {
    const ok = (n: unknown) => typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535;
    if (!ok(p.port)) throw new HotError(path, `a ${p.protocol} rule needs a port 1-65535; got ${describeValue(p.port)}`);
    if (p.toPort !== undefined && (!ok(p.toPort) || p.toPort < p.port!)) {
      throw new HotError(path, `toPort must be a port from ${p.port} to 65535; got ${describeValue(p.toPort)}`);
    }
  }
}
