import type { Construct } from 'constructs';
import { HotError } from './errors.js';
import { HeatElement } from './element.js';
import { resolveCondition, type ConditionInput } from './intrinsics.js';
import type { ResolveContext } from './tokens.js';
import { versionAtLeast } from './versions.js';

export interface HeatConditionProps {
  /** A condition expression (Cond.equals, Cond.not, ...), another condition, or a boolean. */
  readonly expression: ConditionInput;
  /** Name in the template. @default - the logical id from the construct path */
  readonly name?: string;
}

/** An entry of the `conditions` section (heat_template_version 2016-10-14 or newer). */
export class HeatCondition extends HeatElement {
  public readonly templateSection = 'conditions' as const;
  constructor(
    scope: Construct,
    id: string,
    public readonly props: HeatConditionProps,
  ) {
    super(scope, id);
    if (props?.expression === undefined) throw new HotError(this.node.path, 'a condition needs an expression; got undefined');
    if (props.expression === this) throw new HotError(this.node.path, 'a condition cannot be its own expression');
    if (props.name !== undefined) this.overrideLogicalId(props.name);
  }

  override validateElement(): string[] {
    const v = this.stack.templateVersion;
    return versionAtLeast(v, '2016-10-14') ? [] : [`conditions need heat_template_version 2016-10-14 or newer; the stack declares ${v}`];
  }

  renderEntry(ctx: ResolveContext): unknown {
    return resolveCondition(this.props.expression, { ...ctx, inCondition: true });
  }
}
