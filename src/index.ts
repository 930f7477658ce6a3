export * from './core/index.js';
export * from './k8s/index.js';
