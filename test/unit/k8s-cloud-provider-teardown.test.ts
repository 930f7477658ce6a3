/**
 * src/k8s/teardown.ts: the commands that find what the cloud-controller-manager made for a cluster. The filters are
 * run for real (sh, awk, xargs) against stand-in `openstack` and `kubectl` programs that print what the real clients
 * print and record what they are asked to delete; the script passes shellcheck.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HotError } from '../../src/index.js';
import {
  controllerLoadBalancerPrefix,
  controllerTeardownScript,
  controllerTeardownSteps,
  listControllerFloatingIpsCommand,
  listControllerLoadBalancersCommand,
  listControllerSecurityGroupsCommand,
} from '../../src/k8s/teardown.js';

const work = mkdtempSync(join(tmpdir(), 'hotk8s-teardown-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** `openstack -f value -c ...` output of a project that holds two clusters, k8s and k8s-2, and other things. */
const LB_LIST = [
  '11111111-0000-0000-0000-000000000001 kube_service_k8s_default_web',
  '11111111-0000-0000-0000-000000000002 kube_service_k8s_shop_cart',
  '11111111-0000-0000-0000-000000000003 kube_service_k8s-2_default_web',
  '11111111-0000-0000-0000-000000000004 k8s-api',
  '11111111-0000-0000-0000-000000000005 my_kube_service_k8s_x',
  '11111111-0000-0000-0000-000000000006 ',
].join('\n');
const FIP_LIST = [
  '22222222-0000-0000-0000-000000000001 Floating IP for Kubernetes external service default/web from cluster k8s',
  '22222222-0000-0000-0000-000000000002 Floating IP for Kubernetes external service default/web from cluster k8s-2',
  '22222222-0000-0000-0000-000000000003 ',
  '22222222-0000-0000-0000-000000000004 my note: from cluster k8s',
  '22222222-0000-0000-0000-000000000005 Floating IP for Kubernetes external service shop/cart from cluster k8s',
].join('\n');
const SG_LIST = [
  '33333333-0000-0000-0000-000000000001 Security Group for default/web Service LoadBalancer in cluster k8s',
  '33333333-0000-0000-0000-000000000002 Security Group for default/web Service LoadBalancer in cluster k8s-2',
  '33333333-0000-0000-0000-000000000003 hotk8s Kubernetes workers',
].join('\n');

/** A PATH with stand-in openstack and kubectl that answer the list commands and log every other call. */
function fakeClients(): { env: NodeJS.ProcessEnv; log: string } {
  const bin = mkdtempSync(join(work, 'bin-'));
  const log = join(bin, 'calls.log');
  writeFileSync(join(bin, 'lb.txt'), `${LB_LIST}\n`);
  writeFileSync(join(bin, 'fip.txt'), `${FIP_LIST}\n`);
  writeFileSync(join(bin, 'sg.txt'), `${SG_LIST}\n`);
  writeFileSync(
    join(bin, 'openstack'),
    [
      '#!/bin/sh',
      `dir='${bin}'`,
      'case "$1 $2 $3" in',
      '  "loadbalancer list -f") cat "$dir/lb.txt" ;;',
      '  "floating ip list") cat "$dir/fip.txt" ;;',
      '  "security group list") cat "$dir/sg.txt" ;;',
      `  *) echo "openstack $*" >> '${log}' ;;`,
      'esac',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(bin, 'kubectl'),
    ['#!/bin/sh', 'if [ "$1" = get ]; then printf "default web\\nshop cart\\n"; exit 0; fi', `echo "kubectl $*" >> '${log}'`, ''].join(
      '\n',
    ),
  );
  chmodSync(join(bin, 'openstack'), 0o755);
  chmodSync(join(bin, 'kubectl'), 0o755);
  return { env: { ...process.env, PATH: `${bin}:/usr/bin:/bin` }, log };
}

const run = (command: string, env: NodeJS.ProcessEnv) => execFileSync('/bin/sh', ['-c', command], { env, encoding: 'utf8' });

describe("teardown of the controller's load balancers", () => {
  it('the prefix is kube_service_<cluster>_', () => {
    expect(controllerLoadBalancerPrefix('k8s')).toBe('kube_service_k8s_');
  });

  it("lists exactly the cluster's load balancers (not another cluster whose name starts the same, not a name containing the prefix)", () => {
    const { env } = fakeClients();
    expect(run(listControllerLoadBalancersCommand('k8s'), env).trim().split('\n')).toEqual([
      '11111111-0000-0000-0000-000000000001',
      '11111111-0000-0000-0000-000000000002',
    ]);
    expect(run(listControllerLoadBalancersCommand('k8s-2'), env).trim()).toBe('11111111-0000-0000-0000-000000000003');
    expect(run(listControllerLoadBalancersCommand('other'), env)).toBe('');
  });

  it("lists exactly the cluster's floating IPs by the controller's description", () => {
    const { env } = fakeClients();
    expect(run(listControllerFloatingIpsCommand('k8s'), env).trim().split('\n')).toEqual([
      '22222222-0000-0000-0000-000000000001',
      '22222222-0000-0000-0000-000000000005',
    ]);
    expect(run(listControllerFloatingIpsCommand('k8s-2'), env).trim()).toBe('22222222-0000-0000-0000-000000000002');
  });

  it("lists exactly the cluster's controller security groups", () => {
    const { env } = fakeClients();
    expect(run(listControllerSecurityGroupsCommand('k8s'), env).trim()).toBe('33333333-0000-0000-0000-000000000001');
  });

  it('the steps, in order: Services, load balancers, floating IPs, stack, security groups', () => {
    const steps = controllerTeardownSteps('k8s', { stackName: 'prod' });
    expect(steps.map((s) => s.when)).toEqual([
      'before-stack-delete',
      'before-stack-delete',
      'before-stack-delete',
      'before-stack-delete',
      'stack-delete',
      'after-stack-delete',
    ]);
    expect(steps[2]!.command).toBe(
      `${listControllerLoadBalancersCommand('k8s')} | xargs -r -n 1 openstack loadbalancer delete --cascade --wait`,
    );
    expect(steps[4]!.command).toBe('openstack stack delete --yes --wait prod');
    expect(steps[5]!.command).toContain('openstack security group delete');
  });

  it('without manageSecurityGroups there is no security-group step; without stackName no stack step', () => {
    const steps = controllerTeardownSteps('k8s', { manageSecurityGroups: false });
    expect(steps).toHaveLength(4);
    expect(steps.some((s) => s.command.includes('security group'))).toBe(false);
    expect(steps.some((s) => s.when === 'stack-delete')).toBe(false);
  });

  it("the script deletes the cluster's Services, load balancers, floating IPs and security groups, and nothing else", () => {
    const { env, log } = fakeClients();
    const script = join(work, 'teardown.sh');
    writeFileSync(script, controllerTeardownScript('k8s', { stackName: 'k8s' }));
    const r = spawnSync('/bin/sh', [script], { env, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(log, 'utf8').trim().split('\n')).toEqual([
      'kubectl delete service --namespace default web --wait=true',
      'kubectl delete service --namespace shop cart --wait=true',
      'openstack loadbalancer delete --cascade --wait 11111111-0000-0000-0000-000000000001',
      'openstack loadbalancer delete --cascade --wait 11111111-0000-0000-0000-000000000002',
      'openstack floating ip delete 22222222-0000-0000-0000-000000000001',
      'openstack floating ip delete 22222222-0000-0000-0000-000000000005',
      'openstack stack delete --yes --wait k8s',
      'openstack security group delete 33333333-0000-0000-0000-000000000001',
    ]);
  });

  it('the script passes shellcheck', () => {
    if (!existsSync('/usr/bin/shellcheck')) throw new Error('shellcheck is missing: apt-get install shellcheck');
    const script = join(work, 'check.sh');
    writeFileSync(script, controllerTeardownScript('k8s', { stackName: 'k8s' }));
    const r = spawnSync('/usr/bin/shellcheck', ['-s', 'sh', script], { encoding: 'utf8' });
    expect(r.status, r.stdout).toBe(0);
  });

  for (const bad of ['', 'my cluster', "k8s';rm -rf /;'", '-k8s', 'a'.repeat(201)]) {
    it(`fails when the cluster name is ${JSON.stringify(bad.slice(0, 20))}${bad.length > 20 ? '...' : ''}`, () => {
      expect(() => controllerTeardownSteps(bad)).toThrow(HotError);
      expect(() => listControllerLoadBalancersCommand(bad)).toThrow(
        /the controller's cluster name must be letters, digits, '.', '_' or '-'/,
      );
    });
  }
  it('fails when the stack name is unsafe', () => expect(() => controllerTeardownSteps('k8s', { stackName: 'a b' })).toThrow(/got "a b"/));
});
