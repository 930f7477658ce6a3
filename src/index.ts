export * from './core/index.js';
export * from './k8s/index.js';
export * from './autoscaling/index.js';
