// The typed Heat layer ("openstack-heat-types"): generated L1 classes, Heat's HOT version table and resource
// catalog, and validation of HOT documents.
export * from './generated/index.generated.js';
export {
  formatIssue,
  resolveHotVersion,
  validateHotBundle,
  validateHotDocument,
  validateHotFiles,
  validateHotText,
  type TemplateIssue,
  type ValidateOptions,
} from './validate.js';
export { heatSchemaChecker } from './checker.js';
