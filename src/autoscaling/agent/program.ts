/**
 * The agent program as the stack holds it: the value of the resource `AutoscalerProgram` (an OS::Heat::Value, gzip
 * then base64 of agent.generated.ts). The loader runs it from there; the agent compares it with what it runs.
 */
import { createHash } from 'node:crypto';
import type { OpenStack } from './openstack.js';

/** The logical name of the resource that holds the program. */
export const PROGRAM_RESOURCE = 'AutoscalerProgram';

/** The program's gzip+base64 text, or a reason why it cannot be read. */
export async function readProgram(cloud: OpenStack, stack: string): Promise<string | Error> {
  try {
    const r = await cloud.call('heat', 'GET', `/stacks/${stack}/resources/${PROGRAM_RESOURCE}`);
    const value = (r.body as { resource?: { attributes?: { value?: unknown } } })?.resource?.attributes?.value;
    return r.status === 200 && typeof value === 'string' ? value : new Error(`GET resource ${PROGRAM_RESOURCE}: ${r.status}`);
  } catch (e) {
    return e as Error;
  }
}

export const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
