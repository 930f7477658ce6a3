import type { Construct } from 'constructs';
import { HotError } from './errors.js';
import { HeatElement } from './element.js';
import { resolveCondition, type ConditionInput } from './intrinsics.js';
import { resolveValue } from './resolve.js';
import type { ResolveContext } from './tokens.js';

export interface HeatOutputProps {
  readonly value: unknown;
  /** Name in the template. @default - the logical id from the construct path */
  readonly name?: string;
  readonly description?: string;
  /** Only output when the condition holds. */
  readonly condition?: ConditionInput;
}

/** A template output. */
export class HeatOutput extends HeatElement {
  public readonly templateSection = 'outputs' as const;
  constructor(
    scope: Construct,
    id: string,
    public readonly props: HeatOutputProps,
  ) {
    super(scope, id);
    if (props === undefined || !('value' in props) || props.value === undefined) {
      throw new HotError(this.node.path, 'an output needs a value; got undefined');
    }
    if (props.name !== undefined) this.overrideLogicalId(props.name);
  }

  renderEntry(ctx: ResolveContext): unknown {
    return {
      description: this.props.description,
      value: resolveValue(this.props.value, ctx),
      condition: this.props.condition === undefined ? undefined : resolveCondition(this.props.condition, ctx),
    };
  }
}
