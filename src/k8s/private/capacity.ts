/** Capacity checks: how many resources a template tree holds when every group is at its range maximum. */
import { HeatResource } from '../../core/resource.js';
import type { HeatStack } from '../../core/stack.js';
import { groupInfo } from './template-group.js';

/** What a template tree holds with every ResourceGroup at its range maximum. */
export interface CapacityAtMax {
  /**
   * Resources Heat counts against `max_resources_per_stack`: each resource counts 1, and a group of N members of a
   * template with k resources adds N * (1 + k) (each member is itself a resource, holding a nested stack), the way
   * Heat's `count_total_resources` counts.
   */
  readonly resources: number;
  /** The most members any ResourceGroup of the tree holds. */
  readonly largestGroup: number;
}

/**
 * {@link CapacityAtMax} of `stack`'s tree, in one walk. A member template that several groups use (shared member
 * templates: one per shape for all a cluster's worker groups) is walked once; `seen` holds the templates walked.
 */
export function capacityAtMax(stack: HeatStack, seen = new Map<HeatStack, CapacityAtMax>()): CapacityAtMax {
  const known = seen.get(stack);
  if (known) return known;
  let resources = 0;
  let largestGroup = 0;
  for (const el of stack.elements()) {
    if (!HeatResource.isHeatResource(el)) continue;
    resources += 1;
    const info = groupInfo(el);
    if (!info) continue;
    const member = capacityAtMax(info.template, seen);
    resources += info.maxCount * (1 + member.resources);
    largestGroup = Math.max(largestGroup, info.maxCount, member.largestGroup);
  }
  const capacity = { resources, largestGroup };
  seen.set(stack, capacity);
  return capacity;
}

/** Heat's default `max_resources_per_stack` ([DEFAULT] in heat.conf). */
export const HEAT_DEFAULT_MAX_RESOURCES_PER_STACK = 1000;
/** oslo.messaging's default `rpc_response_timeout` ([DEFAULT] in heat.conf), in seconds. */
export const HEAT_DEFAULT_RPC_RESPONSE_TIMEOUT_SEC = 60;
/**
 * The largest ResourceGroup whose nested-stack RPC call Heat's default `rpc_response_timeout` (60 s) serves: the engine
 * answering it validates every member (a template resource whose template is loaded and checked) before it replies.
 * Measured on the twin (docs/bench-engine.md): 100 compact members passed with the default; 300 took 71 s (0.24 s each,
 * load average about 5 on 2 cores) and failed ("MessagingTimeout: No reply on topic engine"). Budgeted at 0.5 s per
 * member, the default serves up to 120.
 */
export const DEFAULT_RPC_SERVES_MEMBERS = 120;
/**
 * Engine seconds per member of the largest group that the `rpc_response_timeout` asked for allows, once a group is
 * above {@link DEFAULT_RPC_SERVES_MEMBERS}. Sized for one engine worker serving the whole queue of member creates,
 * measured on the twin at 1,000 members: with 540 s (0.5 s per member) the wait of a member's call grew to 537 s by
 * the 781st and the 930th timed out (about 0.69 s per member); 1200 s completed. 1.2 s per member keeps a 1.7x margin
 * over that rate; several engine workers (one per CPU by default) share the queue and need less.
 */
export const GROUP_MEMBER_RPC_SEC = 1.2;
/** oslo.messaging's default `executor_thread_pool_size` ([DEFAULT] in heat.conf): the engine's RPC worker threads. */
export const HEAT_DEFAULT_EXECUTOR_THREAD_POOL_SIZE = 64;
/**
 * RPC threads asked for above the largest group's member count. While a group member (a template resource) is being
 * created or updated, the engine thread that handles it waits for the member's own nested-stack RPC call, which needs
 * another free thread of the same engine; with the default 64 threads a 300-member create stalled twice on the twin
 * (no further database write, no error), and with 500 it completed (docs/bench-engine.md).
 */
export const EXECUTOR_THREADS_HEADROOM = 200;

/** A heat.conf option a stack needs above Heat's default. */
export interface HeatSetting {
  readonly section: 'DEFAULT';
  readonly option: 'max_resources_per_stack' | 'rpc_response_timeout' | 'executor_thread_pool_size';
  /** The least value that serves the stack. */
  readonly value: number;
  readonly heatDefault: number;
  /** Why, in a sentence part: "at every group's maximum the stack tree holds 5097 resources". */
  readonly reason: string;
}

/**
 * The heat.conf options `stack` needs above Heat's defaults, with every group at its maximum: `max_resources_per_stack`
 * (every resource of the tree counts) and `rpc_response_timeout` (a group's nested stack is created and updated in one
 * RPC call that validates every member; above {@link DEFAULT_RPC_SERVES_MEMBERS} members, {@link GROUP_MEMBER_RPC_SEC}
 * per member, rounded up to a whole minute) and, for the same large groups, `executor_thread_pool_size` (the largest
 * group's members plus {@link EXECUTOR_THREADS_HEADROOM}, rounded up to a hundred). Empty when Heat's defaults serve.
 * The other limits a large cluster could meet do not grow with the number of workers (the member template is one
 * file, the tree is three stacks deep) and are checked at synth on their own. `capacity` is {@link capacityAtMax} of
 * `stack`, when the caller has it already.
 */
export function heatSettingsNeeded(stack: HeatStack, capacity: CapacityAtMax = capacityAtMax(stack)): HeatSetting[] {
  const total = capacity.resources;
  const out: HeatSetting[] = [];
  if (total > HEAT_DEFAULT_MAX_RESOURCES_PER_STACK) {
    out.push({
      section: 'DEFAULT',
      option: 'max_resources_per_stack',
      value: total,
      heatDefault: HEAT_DEFAULT_MAX_RESOURCES_PER_STACK,
      reason: `at every group's maximum the stack tree holds ${total} resources, nested ones included`,
    });
  }
  const members = capacity.largestGroup;
  if (members > DEFAULT_RPC_SERVES_MEMBERS) {
    const rpcSec = Math.ceil((members * GROUP_MEMBER_RPC_SEC) / 60) * 60;
    out.push({
      section: 'DEFAULT',
      option: 'rpc_response_timeout',
      value: rpcSec,
      heatDefault: HEAT_DEFAULT_RPC_RESPONSE_TIMEOUT_SEC,
      reason:
        `the largest group holds up to ${members} members, and Heat creates and updates a group's nested stack in one ` +
        `engine RPC call that validates every member before it answers, while the other members' calls queue on the engines ` +
        `(${GROUP_MEMBER_RPC_SEC} s per member allowed, enough for one engine worker); with the default the call fails with "MessagingTimeout: No reply on topic engine"`,
    });
    const threads = Math.ceil((members + EXECUTOR_THREADS_HEADROOM) / 100) * 100;
    out.push({
      section: 'DEFAULT',
      option: 'executor_thread_pool_size',
      value: threads,
      heatDefault: HEAT_DEFAULT_EXECUTOR_THREAD_POOL_SIZE,
      reason:
        `each of the up to ${members} members being created or updated holds an engine RPC thread while it waits for its own ` +
        `nested stack, which needs another thread of the same engine; with the default a 300-member create stalled`,
    });
  }
  return out;
}

/** `option = value` lines under their section, as the operator puts them in heat.conf. */
export function heatConfLines(settings: readonly HeatSetting[]): string {
  return settings.length === 0 ? '' : ['[DEFAULT]', ...settings.map((s) => `${s.option} = ${s.value}`)].join('\n');
}
