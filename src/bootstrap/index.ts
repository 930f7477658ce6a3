// Node bootstrap: re-exports only.
export * from './render.js';
export * from './pki.js';
export * from './versions.js';
export * from './etcd.js';
