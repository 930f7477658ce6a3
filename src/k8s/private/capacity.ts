/** Capacity checks: how many resources a template tree holds when every group is at its range maximum. */
import { HeatResource } from '../../core/resource.js';
import type { HeatStack } from '../../core/stack.js';
import { groupInfo } from './template-group.js';

/**
 * Resources Heat counts against `max_resources_per_stack` for `stack` with every ResourceGroup at its maximum:
 * each resource counts 1, and a group of N members of a template with k resources adds N * (1 + k)
 * (each member is itself a resource, holding a nested stack), the way Heat's `count_total_resources` counts.
 */
export function countResourcesAtMax(stack: HeatStack): number {
  let n = 0;
  for (const el of stack.elements()) {
    if (!HeatResource.isHeatResource(el)) continue;
    n += 1;
    const info = groupInfo(el);
    if (info) n += info.maxCount * (1 + countResourcesAtMax(info.template));
  }
  return n;
}
