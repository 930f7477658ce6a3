// The peer of `npm run bench:engine -- --layout magnum`: Magnum's Kubernetes driver template (k8s_fedora_coreos_v1 of
// Debian's python3-magnum 15.0.1, Zed, the generation of the twin's Heat 19), created on the twin with the parameters
// and environment files Magnum's conductor passes for a cluster of MAGNUM_MASTERS masters and N workers from a
// cluster template with Magnum's defaults: no fixed network (Magnum makes a private network and router), floating IPs
// on (ClusterTemplate.floating_ip_enabled defaults to true, so each node and the API load balancer get one), a master
// load balancer (a multi-master cluster needs one) on Octavia, no docker or etcd volume, boot from image
// (boot_volume_size 0, Magnum's [cinder] default_boot_volume_size).
//
// The package is not a dependency of the project: the first run fetches it with `apt-get download python3-magnum`
// into ~/.cache/hotk8s/magnum (or $HOTK8S_MAGNUM_CACHE) and unpacks it there with `dpkg -x`; later runs reuse it.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const MAGNUM_PACKAGE = 'python3-magnum';
export const MAGNUM_MASTERS = 3;
const DRIVERS = join('usr', 'lib', 'python3', 'dist-packages', 'magnum', 'drivers');

export interface MagnumTemplates {
  /** The package's version, from the .deb's name (e.g. 15.0.1-4). */
  readonly version: string;
  /** .../k8s_fedora_coreos_v1/templates/kubecluster.yaml (its get_file and nested template paths are relative to it). */
  readonly template: string;
  /** The environment files Magnum's driver picks for this bench's cluster (driver/heat/template_def.py, in its order). */
  readonly environments: readonly string[];
}

/** The driver's templates, fetched and unpacked into the cache on first use. */
export function magnumTemplates(cache = process.env.HOTK8S_MAGNUM_CACHE ?? join(homedir(), '.cache', 'hotk8s', 'magnum')): MagnumTemplates {
  const root = join(cache, 'root');
  const drivers = join(root, DRIVERS);
  let deb = existsSync(cache) ? readdirSync(cache).find((f) => f.startsWith(`${MAGNUM_PACKAGE}_`) && f.endsWith('.deb')) : undefined;
  if (!existsSync(join(drivers, 'k8s_fedora_coreos_v1', 'templates', 'kubecluster.yaml'))) {
    mkdirSync(cache, { recursive: true });
    if (!deb) {
      console.error(`bench:engine: fetching ${MAGNUM_PACKAGE} into ${cache} (apt-get download)`);
      execFileSync('apt-get', ['download', MAGNUM_PACKAGE], { cwd: cache, stdio: ['ignore', 'inherit', 'inherit'] });
      deb = readdirSync(cache).find((f) => f.startsWith(`${MAGNUM_PACKAGE}_`) && f.endsWith('.deb'));
      if (!deb) throw new Error(`apt-get download ${MAGNUM_PACKAGE} left no .deb in ${cache}`);
    }
    execFileSync('dpkg', ['-x', join(cache, deb), root], { stdio: 'inherit' });
  }
  const env = (f: string) => join(drivers, 'common', 'templates', 'environments', f);
  return {
    version: deb ? deb.slice(MAGNUM_PACKAGE.length + 1).replace(/_[a-z0-9]+\.deb$/, '') : 'unknown',
    template: join(drivers, 'k8s_fedora_coreos_v1', 'templates', 'kubecluster.yaml'),
    // add_priv_net_env_file, add_etcd_volume_env_file, add_volume_env_file, add_lb_env_file, add_fip_env_file
    environments: [
      env('with_private_network.yaml'),
      env('no_etcd_volume.yaml'),
      env('no_volume.yaml'),
      env('with_master_lb_octavia.yaml'),
      env('enable_floating_ip.yaml'),
      env('enable_lb_floating_ip.yaml'),
    ],
  };
}

/**
 * The stack parameters Magnum's conductor sets for the cluster stack (driver/heat/driver.py, template_def.py,
 * k8s_template_def.py, k8s_fedora_template_def.py), with the twin's catalogue for images, flavors, key and external
 * network, and placeholders for the values Heat only passes through (credentials, keys, URLs).
 */
export function magnumParameters(workers: number): Record<string, string | number> {
  return {
    is_cluster_stack: 'true',
    master_role: 'master',
    worker_role: 'worker',
    master_nodegroup_name: 'default-master',
    worker_nodegroup_name: 'default-worker',
    number_of_masters: MAGNUM_MASTERS,
    number_of_minions: workers,
    max_node_count: workers + 1,
    master_flavor: 'm1.large',
    minion_flavor: 'm1.large',
    master_image: 'debian-12',
    minion_image: 'debian-12',
    ssh_key_name: 'twin-key',
    external_network: 'public',
    fixed_network_name: 'bench',
    dns_nameserver: '8.8.8.8',
    network_driver: 'flannel',
    volume_driver: '',
    tls_disabled: 'false',
    registry_enabled: 'false',
    octavia_enabled: 'true',
    loadbalancing_protocol: 'TCP',
    kubernetes_port: 6443,
    boot_volume_size: 0,
    boot_volume_type: '__DEFAULT__',
    etcd_volume_type: '__DEFAULT__',
    docker_volume_type: '__DEFAULT__',
    discovery_url: 'https://discovery.etcd.io/twin-bench',
    region_name: 'RegionOne',
    username: 'admin',
    verify_ca: 'true',
    cluster_uuid: '00000000-0000-4000-8000-000000000016',
    magnum_url: 'http://127.0.0.1:9511/v1',
    trustee_domain_id: 'magnum',
    trustee_user_id: 'trustee',
    trustee_username: 'trustee',
    trustee_password: 'twin-password',
    trust_id: 'twin-trust',
    auth_url: 'http://127.0.0.1:5000/v3',
    cloud_provider_enabled: 'true',
    openstack_ca: '',
    nodes_affinity_policy: 'soft-anti-affinity',
    pods_network_cidr: '10.100.0.0/16',
    kube_service_account_key: 'twin-public-key',
    kube_service_account_private_key: 'twin-private-key',
    project_id: 'admin',
  };
}
