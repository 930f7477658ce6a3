/**
 * The cloud provider's CA bundle for Keystone/Octavia TLS. The cloud-controller-manager and the Cinder CSI plugins
 * run in pods that see only the cloud-config Secret (mounted at /etc/config), not the node's files: a PEM given at
 * synth (`caCertificate`) travels in the Secret as `ca.crt`; a path on the nodes (`caFile`) is mounted from the host.
 */
import { loadAll } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { CLOUD_CA_POD_PATH, renderCloudConf, resolveCloudProvider, type CloudProviderConfig } from '../../src/bootstrap/addons.js';
import {
  masterAddonManifests,
  masterFiles,
  renderMasterUserData,
  resolveMaster,
  type MasterUserDataContext,
} from '../../src/bootstrap/master.js';
import { HotError } from '../../src/index.js';
import { cluster } from './k8s-helpers.js';

const PEM = [
  '-----BEGIN CERTIFICATE-----',
  'MIIBszCCAVmgAwIBAgIUQ2xvdWRDQUZvclRlc3RzT25seTAwCgYIKoZIzj0EAwIw',
  'EjEQMA4GA1UEAwwHdGVzdC1jYTAeFw0yNjAxMDEwMDAwMDBaFw0zNjAxMDEwMDAw',
  '-----END CERTIFICATE-----',
].join('\n');
const cloud: CloudProviderConfig = {
  authUrl: 'https://keystone.example:5000/v3',
  floatingNetworkId: 'net-1',
  subnetId: 'sub-1',
  controllerClusterName: 'demo',
};
const base = { clusterName: 'demo', podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' } as const;

type Container = { name: string; volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[] };
type Volume = { name: string; hostPath?: { path: string; type: string }; secret?: { secretName: string } };
type Workload = { kind: string; metadata: { name: string }; spec: { template: { spec: { containers: Container[]; volumes: Volume[] } } } };

/** The pods that read cloud.conf: name -> the container that reads it, and the pod's volumes. */
function cloudPods(ctx: MasterUserDataContext): Record<string, { container: Container; volumes: Volume[] }> {
  const out: Record<string, { container: Container; volumes: Volume[] }> = {};
  for (const m of masterAddonManifests(ctx)) {
    for (const d of loadAll(m.text) as Workload[]) {
      if (!d || (d.kind !== 'Deployment' && d.kind !== 'DaemonSet')) continue;
      const pod = d.spec.template.spec;
      const c = pod.containers.find((x) => x.name === 'cinder-csi-plugin' || x.name === 'openstack-cloud-controller-manager');
      if (c) out[d.metadata.name] = { container: c, volumes: pod.volumes };
    }
  }
  return out;
}

const PODS = ['openstack-cloud-controller-manager', 'csi-cinder-controllerplugin', 'csi-cinder-nodeplugin'];

describe('the cloud provider CA bundle', () => {
  it('a PEM given at synth goes into the cloud-config Secret as ca.crt, and cloud.conf points at it', () => {
    const ctx: MasterUserDataContext = { ...base, cloudProvider: { ...cloud, caCertificate: PEM } };
    const r = resolveCloudProvider({ ...cloud, caCertificate: PEM });
    expect(renderCloudConf(r)).toContain(`\nca-file=${CLOUD_CA_POD_PATH}\n`);
    expect(CLOUD_CA_POD_PATH).toBe('/etc/config/ca.crt');
    const ca = masterFiles(resolveMaster(ctx)).find((f) => f.path === '/etc/kubernetes/cloud-ca.crt');
    expect(ca).toMatchObject({ permissions: '0644', content: `${PEM}\n` });
    const text = renderMasterUserData(ctx).text;
    expect(text).toContain("--from-file=cloud.conf='/etc/kubernetes/cloud.conf' --from-file=ca.crt='/etc/kubernetes/cloud-ca.crt'");
    // the pods read it through the Secret they mount already: no host path
    const pods = cloudPods(ctx);
    expect(Object.keys(pods).sort()).toEqual([...PODS].sort());
    for (const p of Object.values(pods)) expect(p.volumes.some((v) => v.hostPath && v.name === 'cloud-ca')).toBe(false);
  });

  it('a path on the nodes is mounted from the host into the controller manager and both Cinder CSI plugins', () => {
    const ctx: MasterUserDataContext = { ...base, cloudProvider: { ...cloud, caFile: '/etc/ssl/certs/cloud.pem' } };
    expect(renderCloudConf(resolveCloudProvider({ ...cloud, caFile: '/etc/ssl/certs/cloud.pem' }))).toContain(
      '\nca-file=/etc/ssl/certs/cloud.pem\n',
    );
    const pods = cloudPods(ctx);
    expect(Object.keys(pods).sort()).toEqual([...PODS].sort());
    for (const [name, p] of Object.entries(pods)) {
      expect(p.container.volumeMounts, name).toContainEqual({ name: 'cloud-ca', mountPath: '/etc/ssl/certs/cloud.pem', readOnly: true });
      expect(p.volumes, name).toContainEqual({ name: 'cloud-ca', hostPath: { path: '/etc/ssl/certs/cloud.pem', type: 'File' } });
    }
    expect(renderMasterUserData(ctx).text).not.toContain('--from-file=ca.crt');
  });

  it('without either, the system trust store: no ca-file, no extra volume, no ca.crt', () => {
    const ctx: MasterUserDataContext = { ...base, cloudProvider: cloud };
    expect(renderCloudConf(resolveCloudProvider(cloud))).not.toContain('ca-file');
    for (const p of Object.values(cloudPods(ctx))) expect(p.volumes.map((v) => v.name)).not.toContain('cloud-ca');
    expect(renderMasterUserData(ctx).text).not.toContain('cloud-ca.crt');
  });

  it('the Cluster prop caCertificate is checked: accepted as PEM, refused when not PEM or given with caFile', () => {
    const withCa = (cp: Record<string, unknown>) => () =>
      cluster({ cloudProvider: { authUrl: 'https://keystone.example.com:5000/v3', ...cp } as never });
    expect(withCa({ caCertificate: PEM })).not.toThrow();
    expect(withCa({ caCertificate: 'not a certificate' })).toThrow(/caCertificate must be one or more PEM certificates/);
    expect(withCa({ caCertificate: PEM, caFile: '/etc/ssl/ca.pem' })).toThrow(/caCertificate .* or caFile .*not both/);
    expect(withCa({ caCertificate: 42 })).toThrow(HotError);
    expect(withCa({ caCertificate: 42 })).toThrow(/caCertificate/);
  });
});
