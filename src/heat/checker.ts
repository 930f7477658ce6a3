import type { TemplateChecker, TemplateProblem } from '../core/synthesis.js';

/**
 * The synth-time checker: the typed Heat layer's validation (ajv schemas generated from Heat's resource schema
 * plus reference, graph and version checks) over the root and every nested template, with each problem mapped
 * back to the construct path that produced it. Loaded only when synthesis runs its check phase.
 */
export function heatSchemaChecker(): TemplateChecker {
  return {
    async check(files, describe): Promise<TemplateProblem[]> {
      const { validateHotBundle } = await import('./validate.js');
      return (await validateHotBundle(files, { describe })).map((issue) => {
        const file = issue.file ?? '';
        const mapped = issue.location !== issue.path; // describe() named the construct
        return { file, location: mapped ? issue.location : `${file}: ${issue.location}`, message: issue.message };
      });
    },
  };
}
