import { join } from 'node:path';
import type { HeatValidateJob } from '../../src/heat/engine/index.js';
import type { SynthResult } from '../../src/index.js';

type ManifestStack = SynthResult['manifest']['stacks'][number];

/**
 * The part of a Heat engine job every real-Heat test takes from one stack of a synth output: its root template and
 * the environment files `openstack stack create` would pass (the secrets file included when there is one).
 */
export function stackJob(result: SynthResult, s: ManifestStack): Pick<HeatValidateJob, 'template' | 'environments' | 'stackName'> {
  return {
    template: join(result.outdir, s.template),
    environments: [s.environment, ...(s.secretEnvironment ? [s.secretEnvironment] : [])].map((f) => join(result.outdir, f)),
    stackName: s.name,
  };
}
