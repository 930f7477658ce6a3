/**
 * The Cluster's `autoscaling` and `autoHealing` props: parameters, the output the agent reads, the add-on files in the
 * masters' user-data (schema-checked with kubernetes-models, public images only, mirrored), the bill of materials, the
 * committed agent bundle, and our errors for bad input.
 */
import { gunzipSync } from 'node:zlib';
import { loadAll } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { AUTOSCALER_AGENT, AUTOSCALER_LOADER } from '../../src/autoscaling/agent.generated.js';
import { AGENT_IMAGE, type AutoHealingOptions, type AutoscalingOptions } from '../../src/autoscaling/cluster-autoscaling.js';
import { ACCESS_PLACEHOLDERS } from '../../src/autoscaling/manifests.js';
import {
  CLUSTER_AUTOSCALER_TAGS,
  DEFAULT_KUBERNETES_VERSION,
  KUBERNETES_MINORS,
  resolveKubernetesVersion,
} from '../../src/bootstrap/kubernetes-versions.js';
import { placeholder } from '../../src/bootstrap/render.js';
import { HeatStack, HotError, type ClusterProps } from '../../src/index.js';
import { autoscalerAgentDifference } from '../../scripts/gen-autoscaler-agent.mjs';
import { cluster, failsWith } from './k8s-helpers.js';

type Doc = Record<string, any>;
const AUTH = 'https://keystone.example.org:5000/v3';

/** A cluster with two worker groups; `null` leaves autoscaling out. */
const withAs = (as: AutoscalingOptions | null = {}, heal?: AutoHealingOptions, props: ClusterProps = {}) =>
  cluster({
    workerGroups: [
      { name: 'general', size: 2, minSize: 1, maxSize: 8, labels: { 'example.org/tier': 'web' } },
      { name: 'gpu', size: 0, maxSize: 3, taints: [{ key: 'nvidia.com/gpu', effect: 'NoSchedule' }] },
    ],
    ...props,
    autoscaling: as === null ? undefined : typeof as === 'object' ? { authUrl: props.cloudProvider ? undefined : AUTH, ...as } : as,
    autoHealing: heal,
  });
const masterMember = (stack: HeatStack): HeatStack =>
  stack
    .nestedStacks()
    .flatMap((s) => [s, ...s.nestedStacks()])
    .find((s) => s.fileName.includes('control-masters-nodes'))!;
const masterUserData = (stack: HeatStack): { text: string; params: Doc } => {
  const res = (masterMember(stack).toTemplate() as Doc).resources as Doc;
  const server = Object.values<Doc>(res).find((r) => r.type === 'OS::Nova::Server')!;
  return { text: server.properties.user_data.str_replace.template, params: server.properties.user_data.str_replace.params };
};
/** A write_files entry of the user-data: its mode, encoding and (decompressed) content. */
const written = (text: string, path: string): { permissions: string; encoding: string; content: string } => {
  const at = text.indexOf(`path: "${path}"`);
  if (at < 0) throw new Error(`no write_files entry for ${path}`);
  const entry = text.slice(at, text.indexOf('\n  - path:', at + 1) === -1 ? undefined : text.indexOf('\n  - path:', at + 1));
  const permissions = /permissions: "(\d+)"/.exec(entry)![1]!;
  const gz = /encoding: gz\+b64\n\s+content: (\S+)/.exec(entry);
  if (gz) return { permissions, encoding: 'gz+b64', content: gunzipSync(Buffer.from(gz[1]!, 'base64')).toString('utf8') };
  const body = entry.slice(entry.indexOf('content: |') + 'content: |2\n'.length);
  return { permissions, encoding: 'plain', content: body.replace(/^ {6}/gm, '') };
};
const docsOf = (text: string): Doc[] => (loadAll(text) as Doc[]).filter(Boolean);

async function validateK8s(doc: Doc): Promise<void> {
  const [group, version] = doc.apiVersion.includes('/') ? doc.apiVersion.split('/') : ['', doc.apiVersion];
  const mod = await import(group ? `kubernetes-models/${group}/${version}/${doc.kind}` : `kubernetes-models/${version}/${doc.kind}`);
  new mod[doc.kind](doc).validate();
}

describe('autoscaling: the stack', () => {
  it('adds the hidden credential parameters, os_auth_url and the output the agent reads', () => {
    const { stack } = withAs({}, { notReadySec: 240 });
    const t = stack.toTemplate() as Doc;
    expect(t.parameters.autoscaler_application_credential_id).toMatchObject({ type: 'string', hidden: true });
    expect(t.parameters.autoscaler_application_credential_secret).toMatchObject({ type: 'string', hidden: true });
    expect(t.parameters.os_auth_url).toMatchObject({ type: 'string' });
    const view = t.outputs.hotk8s_autoscaling.value;
    expect(view).toMatchObject({ cluster: 'k8s', providerIds: true, heal: { notReadySec: 240, maxUnhealthy: '40%', intervalSec: 30 } });
    expect(view.groups.general).toEqual({
      min: 1,
      max: 8,
      count: 'workers_general_count',
      remove: 'workers_general_remove',
      flavor: 'workers_general_flavor',
      prefix: 'k8s-general-',
      labels: {
        'example.org/tier': 'web',
        'hotk8s.io/worker-group': 'general',
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
      },
      taints: [],
      autoscale: true,
      heal: true,
      servers: { get_attr: [expect.stringMatching(/^ClusterWorkersgeneralWorkersNodesGroup/), 'attributes', 'server_id'] },
    });
    expect(view.groups.gpu.taints).toEqual([{ key: 'nvidia.com/gpu', value: '', effect: 'NoSchedule' }]);
    // every group's range is its count parameter's
    expect(t.parameters.workers_general_count.constraints[0].range).toEqual({ min: 1, max: 8 });
  });

  it('holds the agent program in the resource AutoscalerProgram (gzip, base64), where the loader reads it', () => {
    const r = ((withAs().stack.toTemplate() as Doc).resources as Doc).AutoscalerProgram;
    expect(r).toMatchObject({ type: 'OS::Heat::Value', properties: { type: 'string' } });
    expect(gunzipSync(Buffer.from(r.properties.value, 'base64')).toString('utf8')).toBe(AUTOSCALER_AGENT);
    expect(((cluster().stack.toTemplate() as Doc).resources as Doc).AutoscalerProgram).toBeUndefined();
  });

  it('feeds the access placeholders to the masters: the credential hidden, the stack as <name>/<id>', () => {
    const { stack } = withAs();
    const { text, params } = masterUserData(stack);
    for (const ph of Object.values(ACCESS_PLACEHOLDERS)) {
      expect(placeholder(ph.slice(2, -2))).toBe(ph);
      expect(text).toContain(ph);
    }
    const member = masterMember(stack).toTemplate() as Doc;
    expect(params.__AUTOSCALER_CREDENTIAL_SECRET__).toEqual({ get_param: 'autoscaler_credential_secret' });
    expect(member.parameters.autoscaler_credential_secret).toMatchObject({ hidden: true });
    const feeds = Object.values<Doc>((stack.toTemplate() as Doc).resources).find(
      (r) => r.type === 'OS::Heat::ResourceGroup' && r.properties.resource_def.type === masterMember(stack).fileName,
    )!.properties.resource_def.properties;
    expect(feeds.autoscaler_stack).toEqual({ list_join: ['/', [{ get_param: 'OS::stack_name' }, { get_param: 'OS::stack_id' }]] });
    expect(feeds.autoscaler_credential_id).toEqual({ get_param: 'autoscaler_application_credential_id' });
    expect(feeds.autoscaler_auth_url).toEqual({ get_param: 'os_auth_url' });
  });

  it('shares os_auth_url with the cloud provider, which also sets provider ids', () => {
    const { stack } = withAs({}, undefined, { cloudProvider: { authUrl: AUTH } });
    const t = stack.toTemplate() as Doc;
    expect(Object.keys(t.parameters).filter((p) => p === 'os_auth_url')).toHaveLength(1);
    expect(t.outputs.hotk8s_autoscaling.value.providerIds).toBe(false);
    expect(masterUserData(stack).params.__AUTOSCALER_AUTH_URL__).toEqual({ get_param: 'autoscaler_auth_url' });
  });

  it('lets groups opt out of each, and leaves the stack alone when neither is set', () => {
    const { stack } = withAs({ excludeGroups: ['gpu'] }, { excludeGroups: ['general'] });
    const g = (stack.toTemplate() as Doc).outputs.hotk8s_autoscaling.value.groups;
    expect([g.general.autoscale, g.general.heal, g.gpu.autoscale, g.gpu.heal]).toEqual([true, false, false, true]);
    const plain = cluster().stack.toTemplate() as Doc;
    expect(plain.outputs.hotk8s_autoscaling).toBeUndefined();
    expect(plain.parameters.autoscaler_application_credential_id).toBeUndefined();
    expect(masterUserData(cluster().stack).text).not.toContain('hotk8s-autoscaler');
  });

  it('counts groups added after the cluster was made', () => {
    const { stack, cluster: c } = withAs();
    c.addWorkerGroup({ name: 'late', size: 1 });
    expect(Object.keys((stack.toTemplate() as Doc).outputs.hotk8s_autoscaling.value.groups)).toEqual(['general', 'gpu', 'late']);
  });
});

describe('autoscaling: the add-on files', () => {
  it('writes the access Secret plain and root-only, the rest compressed, after the built-in add-ons', () => {
    const { text } = masterUserData(withAs({}, {}).stack);
    const access = written(text, '/etc/kubernetes/hotk8s/addons/40-hotk8s-autoscaler-access.yaml');
    expect(access).toMatchObject({ permissions: '0600', encoding: 'plain' });
    const secret = docsOf(access.content)[0]!;
    expect(secret).toMatchObject({ kind: 'Secret', metadata: { name: 'hotk8s-autoscaler-access', namespace: 'kube-system' } });
    expect(secret.stringData).toEqual({
      OS_AUTH_URL: '__AUTOSCALER_AUTH_URL__',
      OS_APPLICATION_CREDENTIAL_ID: '__AUTOSCALER_CREDENTIAL_ID__',
      OS_APPLICATION_CREDENTIAL_SECRET: '__AUTOSCALER_CREDENTIAL_SECRET__',
      OS_INTERFACE: 'public',
      HOTK8S_STACK: '__AUTOSCALER_STACK__',
    });
    const main = written(text, '/etc/kubernetes/hotk8s/addons/41-hotk8s-autoscaler.yaml');
    expect(main).toMatchObject({ permissions: '0644', encoding: 'gz+b64' });
    expect(text.indexOf('10-flannel.yaml')).toBeLessThan(text.indexOf('40-hotk8s-autoscaler-access.yaml'));
  });

  for (const [name, as, heal] of [
    ['autoscaling and healing', {}, {}],
    ['autoscaling only', {}, undefined],
    ['healing only', null, {}],
  ] as const) {
    it(`passes the Kubernetes schema, runs the shipped agent, pulls only public images (${name})`, async () => {
      const { stack } = withAs(as, heal);
      const main = written(masterUserData(stack).text, '/etc/kubernetes/hotk8s/addons/41-hotk8s-autoscaler.yaml').content;
      const docs = docsOf(main);
      for (const d of docs) await validateK8s(d);
      expect(docs.map((d) => d.kind)).toEqual([
        'ServiceAccount',
        'ClusterRole',
        'ClusterRoleBinding',
        'Role',
        'RoleBinding',
        'ConfigMap',
        'Deployment',
      ]);
      const cm = docs.find((d) => d.kind === 'ConfigMap')!;
      expect(cm.data['loader.mjs']).toBe(AUTOSCALER_LOADER);
      const pod = docs.find((d) => d.kind === 'Deployment')!.spec.template.spec;
      expect(pod.nodeSelector).toEqual({ 'node-role.kubernetes.io/control-plane': '' });
      expect(pod.tolerations).toContainEqual({ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' });
      const images = pod.containers.map((c: Doc) => c.image);
      expect(images).toEqual([...(as ? ['registry.k8s.io/autoscaling/cluster-autoscaler:v1.36.1'] : []), AGENT_IMAGE]);
      const agent = pod.containers.find((c: Doc) => c.name === 'agent');
      expect(agent.env.find((e: Doc) => e.name === 'HOTK8S_HEAL').value).toBe(String(heal !== undefined));
      expect(agent.env.some((e: Doc) => e.name === 'HOTK8S_GRPC_LISTEN')).toBe(as !== null);
      if (as) {
        const ca = pod.containers[0];
        expect(ca.args).toEqual(
          expect.arrayContaining(['--cloud-provider=externalgrpc', '--cloud-config=/etc/hotk8s-autoscaler/cloud-config.yaml']),
        );
        expect(cm.data['cloud-config.yaml']).toBe('address: 127.0.0.1:8086\ngrpc_timeout: 30s\n');
      }
      const bom = (
        stack.node.findChild('Cluster') as unknown as { billOfMaterials(): { images: { image: string; usedBy: string }[] } }
      ).billOfMaterials();
      expect(bom.images.filter((i) => i.usedBy === 'cluster-autoscaler' || i.usedBy === 'hotk8s-autoscaler').map((i) => i.image)).toEqual(
        images,
      );
    });
  }

  it('mirrors both images through imageRegistry, and takes overrides verbatim', () => {
    const docs = (props: ClusterProps, as: AutoscalingOptions = {}) =>
      docsOf(written(masterUserData(withAs(as, {}, props).stack).text, '/etc/kubernetes/hotk8s/addons/41-hotk8s-autoscaler.yaml').content);
    const images = (d: Doc[]) => d.find((x) => x.kind === 'Deployment')!.spec.template.spec.containers.map((c: Doc) => c.image);
    expect(images(docs({ imageRegistry: 'mirror.example.org:5000/k8s' }))).toEqual([
      'mirror.example.org:5000/k8s/autoscaling/cluster-autoscaler:v1.36.1',
      'mirror.example.org:5000/k8s/library/node:22-alpine',
    ]);
    expect(images(docs({ kubernetesVersion: '1.35' }, { image: 'ca.example.org/ca:1', agentImage: 'node.example.org/node:22' }))).toEqual([
      'ca.example.org/ca:1',
      'node.example.org/node:22',
    ]);
  });

  it('has a cluster-autoscaler release for the default minor, and for no minor outside the table', () => {
    expect(Object.keys(CLUSTER_AUTOSCALER_TAGS)).toContain(resolveKubernetesVersion(DEFAULT_KUBERNETES_VERSION).info.minor);
    for (const minor of Object.keys(CLUSTER_AUTOSCALER_TAGS)) expect(KUBERNETES_MINORS.map((m) => m.minor)).toContain(minor);
    for (const [minor, tag] of Object.entries(CLUSTER_AUTOSCALER_TAGS))
      expect(tag).toMatch(new RegExp(`^v${minor.replace('.', '\\.')}\\.\\d+$`));
  });

  it('ships the agent as bundled from its sources (run `npm run gen:autoscaler`)', () => {
    expect(autoscalerAgentDifference(), 'src/autoscaling/agent.generated.ts is stale').toEqual([]);
  });
});

describe('autoscaling: bad input is our error', () => {
  const P = 'test/Cluster/Autoscaling';
  it('fails on junk options with the construct path and the value', () => {
    // shapes and types are checked by the Cluster's props spec, with the prop path
    failsWith(() => withAs(5 as unknown as AutoscalingOptions), 'test/Cluster', /^autoscaling must be an object \{ .* \}; got 5$/);
    failsWith(
      () => withAs({ expander: 'priority' as 'random' }),
      'test/Cluster',
      /^autoscaling.expander must be one of "least-waste", "random", "most-pods"; got "priority"$/,
    );
    failsWith(() => withAs({}, { maxUnhealthy: '140%' }), P, /maxUnhealthy must be a whole number of nodes or a percentage .* got "140%"/);
    failsWith(() => withAs({}, { notReadySec: 5 }), P, /notReadySec/);
    failsWith(
      () => withAs({ excludeGroups: 'gpu' as unknown as string[] }),
      'test/Cluster',
      /^autoscaling.excludeGroups must be a list \(each a string\); got "gpu"$/,
    );
    failsWith(() => withAs({ region: 'a b' }), P, /region must be a Keystone region id/);
    // found by test/property/autoscaling.property.test.ts: it reached the masters' user-data as a placeholder
    failsWith(
      () => withAs({ region: 'a__A__' }),
      P,
      /region must not contain __NAME__ \(the form of a user-data placeholder\); got "a__A__"/,
    );
    failsWith(() => withAs({ authUrl: 'keystone' }), P, /authUrl must be an http\(s\) URL/);
    failsWith(
      () => withAs({ region: 'one' }, { region: 'two' }),
      P,
      /autoscaling.region and autoHealing.region configure one agent and must agree; got "one" and "two"/,
    );
    failsWith(() => cluster({ cloudProvider: { authUrl: AUTH }, autoscaling: { authUrl: AUTH } }), P, /give authUrl there only/);
  });

  it('names a minor it has no autoscaler release for', () => {
    const tags = CLUSTER_AUTOSCALER_TAGS as Record<string, string>;
    const saved = tags['1.35'];
    delete tags['1.35'];
    try {
      failsWith(
        () => withAs({}, undefined, { kubernetesVersion: '1.35' }),
        P,
        /no cluster-autoscaler release is known for Kubernetes 1.35; give autoscaling.image/,
      );
      expect(() => withAs({ image: 'ca.example.org/ca:1' }, undefined, { kubernetesVersion: '1.35' })).not.toThrow();
    } finally {
      tags['1.35'] = saved!;
    }
  });

  it('reports an excluded group that does not exist at synthesis', async () => {
    const { app } = withAs({ excludeGroups: ['gpus'] });
    const err = await app.synth({ checkers: [], write: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HotError);
    expect((err as HotError).message).toMatch(
      /Autoscaling: autoscaling.excludeGroups names "gpus", which is not a worker group of this cluster \(general, gpu\)/,
    );
  });
});
