// Node bootstrap: re-exports only.
export * from './render.js';
export * from './pki.js';
export * from './versions.js';
export * from './etcd.js';
export * from './kubernetes-versions.js';
export * from './kubeadm.js';
export * from './addons.js';
export * from './master.js';
export * from './worker.js';
export * from './bom.js';
export * from './cert-renew.js';
export * from './upgrade.js';
