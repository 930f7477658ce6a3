/**
 * Teardown of what the OpenStack cloud-controller-manager creates outside the stack.
 *
 * With `cloudProvider` set, every `Service type=LoadBalancer` makes the controller create an Octavia load balancer
 * (VIP and members on the stack's subnet), usually a floating IP, and with `manageSecurityGroups` a security group
 * attached to the nodes' ports. Heat does not know them: a stack delete then fails on the subnet and router
 * (ports still in use). The controller names what it makes after its `--cluster-name` (the Cluster's
 * `cloudProvider.controllerClusterName`, by default the cluster name):
 *
 * - load balancers: `kube_service_<cluster>_<namespace>_<service>` (and, where Octavia has tags, a tag equal to the
 *   name, one per Service, so `--tags` finds one Service's load balancer, not a cluster's);
 * - floating IPs: description `Floating IP for Kubernetes external service <namespace>/<service> from cluster <cluster>`;
 * - security groups: description `Security Group for <namespace>/<service> Service LoadBalancer in cluster <cluster>`.
 *
 * `controllerTeardownSteps()` returns the commands, in order, that find and remove them.
 */
import { HotError, describeValue } from '../core/errors.js';

/** One teardown step: what it does, when to run it, and the exact shell command. */
export interface TeardownStep {
  readonly description: string;
  /** Its place around the stack delete (the controller's security groups stay attached to node ports until Heat deletes them). */
  readonly when: 'before-stack-delete' | 'stack-delete' | 'after-stack-delete';
  readonly command: string;
}

export interface TeardownOptions {
  /** Whether the controller manages security groups (`cloudProvider.manageSecurityGroups`). @default true */
  readonly manageSecurityGroups?: boolean;
  /** The Heat stack to delete between the steps, for the `openstack stack delete` line. @default - no such step */
  readonly stackName?: string;
}

const CONTROLLER_CLUSTER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function checkName(name: unknown): string {
  if (typeof name !== 'string' || !CONTROLLER_CLUSTER_NAME.test(name) || name.length > 200) {
    throw new HotError(
      'teardown',
      `the controller's cluster name must be letters, digits, '.', '_' or '-' (at most 200 characters); got ${describeValue(name)}`,
    );
  }
  return name;
}

/** The name prefix of every load balancer the controller creates for `clusterName`. */
export function controllerLoadBalancerPrefix(clusterName: string): string {
  return `kube_service_${checkName(clusterName)}_`;
}

/** A shell pipeline printing the id of every controller load balancer of the cluster (name prefix match). */
export function listControllerLoadBalancersCommand(clusterName: string): string {
  const prefix = controllerLoadBalancerPrefix(clusterName);
  return `openstack loadbalancer list -f value -c id -c name | awk -v prefix='${prefix}' 'index($2, prefix) == 1 { print $1 }'`;
}

/** A shell pipeline printing the id of every floating IP the controller allocated for the cluster. */
export function listControllerFloatingIpsCommand(clusterName: string): string {
  const name = checkName(clusterName);
  return (
    `openstack floating ip list --long -f value -c ID -c Description | ` +
    `awk -v head='Floating IP for Kubernetes external service ' -v tail=' from cluster ${name}' ` +
    `'{ d = substr($0, length($1) + 2) } index(d, head) == 1 && length(d) >= length(tail) && substr(d, length(d) - length(tail) + 1) == tail { print $1 }'`
  );
}

/** A shell pipeline printing the id of every security group the controller made for the cluster's Services. */
export function listControllerSecurityGroupsCommand(clusterName: string): string {
  const name = checkName(clusterName);
  return (
    `openstack security group list -f value -c ID -c Description | ` +
    `awk -v head='Security Group for ' -v tail=' Service LoadBalancer in cluster ${name}' ` +
    `'{ d = substr($0, length($1) + 2) } index(d, head) == 1 && length(d) >= length(tail) && substr(d, length(d) - length(tail) + 1) == tail { print $1 }'`
  );
}

/**
 * The teardown steps for a cluster whose controller uses `clusterName`, in order: let the controller remove its own
 * load balancers (delete every LoadBalancer Service), then remove whatever is left by name, the floating IPs by
 * description, delete the stack, and the controller's security groups last.
 */
export function controllerTeardownSteps(clusterName: string, options: TeardownOptions = {}): TeardownStep[] {
  const name = checkName(clusterName);
  const steps: TeardownStep[] = [
    {
      description:
        'Delete every Service of type LoadBalancer, so that the cloud-controller-manager removes its load balancers, floating IPs and security groups itself (needs a working cluster and kubeconfig)',
      when: 'before-stack-delete',
      command:
        `kubectl get services --all-namespaces -o jsonpath='{range .items[?(@.spec.type=="LoadBalancer")]}{.metadata.namespace}{" "}{.metadata.name}{"\\n"}{end}' | ` +
        `while read -r ns svc; do kubectl delete service --namespace "$ns" "$svc" --wait=true; done`,
    },
    {
      description: `List the load balancers the controller made for cluster ${name} that are left (names starting with ${controllerLoadBalancerPrefix(name)})`,
      when: 'before-stack-delete',
      command: listControllerLoadBalancersCommand(name),
    },
    {
      description: 'Delete them with their listeners, pools and members, waiting for each (python-octaviaclient with --wait, 2.x or newer)',
      when: 'before-stack-delete',
      command: `${listControllerLoadBalancersCommand(name)} | xargs -r -n 1 openstack loadbalancer delete --cascade --wait`,
    },
    {
      description: `Release the floating IPs the controller allocated for cluster ${name}`,
      when: 'before-stack-delete',
      command: `${listControllerFloatingIpsCommand(name)} | xargs -r -n 1 openstack floating ip delete`,
    },
  ];
  if (options.stackName !== undefined) {
    const stack = checkName(options.stackName);
    steps.push({ description: `Delete the stack ${stack}`, when: 'stack-delete', command: `openstack stack delete --yes --wait ${stack}` });
  }
  if (options.manageSecurityGroups ?? true) {
    steps.push({
      description: `Delete the security groups the controller made for cluster ${name}'s Services (attached to node ports until the stack is gone)`,
      when: 'after-stack-delete',
      command: `${listControllerSecurityGroupsCommand(name)} | xargs -r -n 1 openstack security group delete`,
    });
  }
  return steps;
}

/**
 * The steps as one POSIX shell script (comments say what each line does). It does not stop on errors: the first
 * step fails when the cluster no longer answers, and the ones after it clean up by name regardless.
 */
export function controllerTeardownScript(clusterName: string, options: TeardownOptions = {}): string {
  const lines = [
    '#!/bin/sh',
    `# Teardown of the cloud-controller-manager's resources for cluster ${checkName(clusterName)} (hotk8s)`,
    'set -u',
  ];
  for (const s of controllerTeardownSteps(clusterName, options)) lines.push('', `# ${s.description} [${s.when}]`, s.command);
  return `${lines.join('\n')}\n`;
}
