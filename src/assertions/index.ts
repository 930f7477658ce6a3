export * from './match.js';
export * from './template.js';
