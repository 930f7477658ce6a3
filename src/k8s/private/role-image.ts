import type { Construct } from 'constructs';
import { HeatCondition } from '../../core/condition.js';
import { HotError, describeValue } from '../../core/errors.js';
import { Cond, Fn } from '../../core/intrinsics.js';
import { HeatParameter } from '../../core/parameter.js';
import type { IResolvable } from '../../core/tokens.js';

/**
 * A role's own image: a string parameter that defaults to empty, and the value the role's servers use: that parameter
 * when it is set, the cluster's `image` otherwise (a HOT condition). Existing stacks keep their servers when the new
 * template arrives (the value resolves to the same image), and a role's image changes alone.
 */
export function roleImage(
  scope: Construct,
  id: string,
  name: string,
  whose: string,
  clusterImage: HeatParameter,
  value: string | undefined,
): { readonly parameter: HeatParameter; readonly value: IResolvable } {
  if (value !== undefined && (typeof value !== 'string' || value === '')) {
    throw new HotError(scope.node.path, `the image of ${whose} must be a non-empty image name or id; got ${describeValue(value)}`);
  }
  const parameter = new HeatParameter(scope, id, {
    name,
    type: 'string',
    label: `Image of ${whose}`,
    description: `Glance image of ${whose}; empty: the image parameter. Changing it replaces only these servers (a rolling rebuild)`,
    default: '',
    value,
  });
  const given = new HeatCondition(scope, `${id}Given`, { expression: Cond.not(Cond.equals(parameter.value, '')) });
  return { parameter, value: Fn.if(given, parameter.value, clusterImage.value) };
}
