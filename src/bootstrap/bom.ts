/**
 * Bill of materials: every apt package, container image and URL the nodes of a cluster fetch while
 * they boot and while the first master applies the add-ons. Synth writes it beside the templates so
 * that an air-gapped site knows what to mirror; with a package mirror and an image registry
 * configured, no entry points anywhere else.
 *
 * Scope: Kubernetes nodes (masters and workers); the etcd members' downloads come from the etcd
 * user-data (`src/bootstrap/etcd.ts`). Distribution packages (containerd, curl, ca-certificates)
 * come from the image's own archive (its configured apt sources); they are listed with `origin:
 * 'distribution'` and no URL.
 */
import { resolveMaster, type MasterUserDataContext } from './master.js';
import { resolveWorker, type WorkerUserDataContext } from './worker.js';
import { distroPackages, type ResolvedKubeNode } from './kubeadm.js';
import { mirrorImage } from './addons.js';
import { BootstrapRenderError } from './render.js';

export interface BomPackage {
  readonly name: string;
  /** Exact version, or undefined for the distribution's current one. */
  readonly version?: string;
  /** 'kubernetes': the Kubernetes apt repository (upstream or mirror); 'distribution': the image's own archive. */
  readonly origin: 'kubernetes' | 'distribution';
  /** Repository URL (kubernetes origin only). */
  readonly repository?: string;
  /** Which roles install it. */
  readonly roles: readonly ('master' | 'worker')[];
}

export interface BomImage {
  readonly image: string;
  /** Who pulls it: kubeadm (control plane), flannel, cloud-controller-manager, cinder-csi. */
  readonly usedBy: string;
}

export interface BillOfMaterials {
  readonly kubernetesVersion: string;
  readonly packages: readonly BomPackage[];
  readonly images: readonly BomImage[];
  /** Every URL a node fetches (apt repository, signing key). */
  readonly urls: readonly string[];
}

function kubeadmImages(node: ResolvedKubeNode): BomImage[] {
  const tag = node.kubernetesVersionTag;
  const up = [
    `registry.k8s.io/kube-apiserver:${tag}`,
    `registry.k8s.io/kube-controller-manager:${tag}`,
    `registry.k8s.io/kube-scheduler:${tag}`,
    `registry.k8s.io/kube-proxy:${tag}`,
    `registry.k8s.io/coredns/coredns:${node.minor.corednsTag}`,
    `registry.k8s.io/pause:${node.minor.pauseTag}`,
  ];
  return up.map((i) => ({ image: mirrorImage(i, node.imageRegistry), usedBy: 'kubeadm' }));
}

/**
 * The bill of materials of a cluster: the masters' context and every worker group's. Worker groups
 * must agree with the masters on version, package source and registry (one cluster, one source).
 */
export function billOfMaterials(master: MasterUserDataContext, workers: readonly WorkerUserDataContext[] = []): BillOfMaterials {
  const m = resolveMaster(master);
  const node = m.node;
  for (const [i, w] of workers.entries()) {
    const r = resolveWorker(w).node;
    for (const k of ['kubernetesVersion', 'packageMode', 'aptRepositoryUrl', 'packageVersion', 'imageRepository'] as const) {
      if (r[k] !== node[k]) {
        throw new BootstrapRenderError(
          `worker group ${i}: ${k} must match the masters' (${JSON.stringify(node[k])}); got ${JSON.stringify(r[k])}`,
        );
      }
    }
  }
  const packages: BomPackage[] = [];
  const urls: string[] = [];
  for (const name of distroPackages(node)) packages.push({ name, origin: 'distribution', roles: ['master', 'worker'] });
  if (node.packageMode !== 'preinstalled') {
    for (const name of ['kubelet', 'kubeadm', 'kubectl']) {
      packages.push({
        name,
        version: node.packageVersion,
        origin: 'kubernetes',
        repository: node.aptRepositoryUrl,
        roles: name === 'kubectl' ? ['master'] : ['master', 'worker'],
      });
    }
    // Dependencies apt pulls from the same repository.
    packages.push({ name: 'kubernetes-cni', origin: 'kubernetes', repository: node.aptRepositoryUrl, roles: ['master', 'worker'] });
    packages.push({ name: 'cri-tools', origin: 'kubernetes', repository: node.aptRepositoryUrl, roles: ['master', 'worker'] });
    urls.push(node.aptKeyUrl, node.aptRepositoryUrl);
  }
  const images: BomImage[] = [
    ...kubeadmImages(node),
    { image: m.images.flannel, usedBy: 'flannel' },
    { image: m.images.flannelCniPlugin, usedBy: 'flannel' },
  ];
  if (m.cloudProvider) {
    images.push(
      { image: m.images.openstackCloudControllerManager, usedBy: 'cloud-controller-manager' },
      { image: m.images.cinderCsiPlugin, usedBy: 'cinder-csi' },
      { image: m.images.csiAttacher, usedBy: 'cinder-csi' },
      { image: m.images.csiProvisioner, usedBy: 'cinder-csi' },
      { image: m.images.csiResizer, usedBy: 'cinder-csi' },
      { image: m.images.csiLivenessProbe, usedBy: 'cinder-csi' },
      { image: m.images.csiNodeDriverRegistrar, usedBy: 'cinder-csi' },
    );
  }
  for (const a of m.extraAddons) images.push(...a.images);
  return { kubernetesVersion: node.kubernetesVersion, packages, images, urls };
}
