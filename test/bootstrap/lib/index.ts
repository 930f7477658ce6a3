// Helpers for bootstrap tests of every role (etcd, master, worker).
export * from './cloud-init.js';
export * from './heat-values.js';
