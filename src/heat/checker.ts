import type { TemplateChecker, TemplateProblem } from '../core/synthesis.js';

/**
 * The synth-time checker: the typed Heat layer's validation (ajv schemas generated from Heat's resource schema
 * plus reference, graph and version checks) over the root and every nested template, with each problem mapped
 * back to the construct path that produced it.
 */
export function heatSchemaChecker(): TemplateChecker {
  return {
    async check(files, describe): Promise<TemplateProblem[]> {
      const { validateHotBundle } = await import('./validate.js');
      return validateHotBundle(files).map((issue) => {
        const file = issue.file ?? '';
        const path = issue.logicalId ? describe(file, issue.logicalId) : undefined;
        return { file, location: path ?? `${file}${issue.location ? ' ' + issue.location : ''}`, message: issue.message };
      });
    },
  };
}
