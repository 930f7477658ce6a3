/**
 * A `OS::Heat::ResourceGroup` whose members are a nested template of our own: the member template is a
 * HeatStack below this construct (written as `<stack>.<name>.yaml`), and each value the members need is a
 * parameter of that template, fed from the root through the group's `resource_def.properties`.
 *
 * References across templates are errors in the core, so everything a member needs comes in through `input()`.
 */
import { Construct } from 'constructs';
import { HotError } from '../../core/errors.js';
import { Fn } from '../../core/intrinsics.js';
import { HeatOutput } from '../../core/output.js';
import { HeatParameter, type HeatParameterProps } from '../../core/parameter.js';
import { HeatStack } from '../../core/stack.js';
import { Lazy, type IResolvable, type Input } from '../../core/tokens.js';
import { OsHeatResourceGroup } from '../../heat/generated/heat.generated.js';

export interface TemplateGroupProps {
  /** Number of members: a number or a `get_param` of a number parameter. */
  readonly count: Input<number>;
  /** The most members the group can have (the count parameter's range maximum), for capacity checks. */
  readonly maxCount: number;
  /** The member template's description. */
  readonly description: string;
  /** A comma-delimited list of member names (indexes) to remove first on scale-down. @default - Heat removes the highest indexes */
  readonly removalList?: Input<string[]>;
  /**
   * Use this group's member template instead of building one: the caller vouches that it would build an identical
   * one. Every `input()` must then name a parameter of that template, and all of them must be fed (checked at
   * synthesis); `output()` names one of its outputs. @default - a member template of its own
   */
  readonly shareTemplateOf?: TemplateGroup;
}

const GROUPS = new WeakMap<object, { readonly maxCount: number; readonly template: HeatStack }>();

/** What capacity checks need to know about a ResourceGroup: its maximum size and its member template. */
export function groupInfo(resource: object): { readonly maxCount: number; readonly template: HeatStack } | undefined {
  return GROUPS.get(resource);
}

export class TemplateGroup extends Construct {
  /** The member template. */
  public readonly template: HeatStack;
  /** The ResourceGroup in the enclosing template. */
  public readonly group: OsHeatResourceGroup;
  /**
   * The member's name in its group (`%index%`: "0", "1", ...), a string parameter of the member template. Use it as
   * the key into {@link attributeMap}s; never as a position in a list attribute of the group: Heat leaves removed
   * members out of those lists, so after member "2" is removed, position 3 holds member "4".
   */
  public readonly index: IResolvable;
  /** The group whose member template this one uses (see {@link TemplateGroupProps.shareTemplateOf}). */
  public readonly sharesTemplateOf?: TemplateGroup;
  private readonly feeds = new Map<string, unknown>();

  constructor(scope: Construct, id: string, props: TemplateGroupProps) {
    super(scope, id);
    const leader = props.shareTemplateOf?.sharesTemplateOf ?? props.shareTemplateOf;
    if (leader) {
      this.sharesTemplateOf = leader;
      this.template = leader.template;
      this.template.shareWith(this, 'Member');
      if (this.template.description !== props.description)
        throw new HotError(
          this.node.path,
          `a shared member template must have the same description; got ${JSON.stringify(props.description)}`,
        );
      this.node.addValidation({ validate: () => this.unfedInputs() });
    } else {
      this.template = new HeatStack(this, 'Member', { description: props.description });
    }
    const template = this.template;
    this.group = new OsHeatResourceGroup(this, 'Group', {
      count: props.count,
      resourceDef: {
        // read at synthesis: a shared template takes the first file name of the groups it stands for, which a group
        // added later may change
        type: Lazy.value(() => template.fileName) as unknown as string,
        // in insertion order: the render writes every key of a template sorted (a resource's entry resolves with
        // sorted keys; synthesis sorts any other entry)
        properties: Lazy.value(() => Object.fromEntries(this.feeds)),
      },
      removalPolicies: props.removalList === undefined ? undefined : [{ resourceList: props.removalList }],
    });
    GROUPS.set(this.group, { maxCount: props.maxCount, template: this.template });
    this.index = this.input('index', { type: 'string', description: 'Name of this member in its group (%index%)' }, '%index%').value;
  }

  /**
   * A parameter of the member template, fed with `value` (resolved in the enclosing template).
   * The name is the parameter's name in the member template and must be unique in it.
   */
  input(name: string, props: Omit<HeatParameterProps, 'value' | 'secretValue' | 'name'>, value: unknown): HeatParameter {
    if (this.feeds.has(name)) throw new HotError(this.node.path, `member template input ${JSON.stringify(name)} is defined twice`);
    if (value === undefined)
      throw new HotError(this.node.path, `member template input ${JSON.stringify(name)} needs a value; got undefined`);
    if (this.sharesTemplateOf) {
      const p = this.template.node.tryFindChild(name);
      if (!(p instanceof HeatParameter))
        throw new HotError(
          this.node.path,
          `member template input ${JSON.stringify(name)} is not a parameter of the shared member template`,
        );
      this.feeds.set(name, value);
      return p;
    }
    const p = new HeatParameter(this.template, name, props);
    this.feeds.set(name, value);
    return p;
  }

  /** A group using a shared member template must feed every parameter the template's own group feeds. */
  private unfedInputs(): string[] {
    const missing = [...this.sharesTemplateOf!.feeds.keys()].filter((k) => !this.feeds.has(k));
    return missing.length === 0 ? [] : [`the shared member template's inputs ${missing.join(', ')} are not fed`];
  }

  /** Whether an input of this name exists. */
  hasInput(name: string): boolean {
    return this.feeds.has(name);
  }

  /**
   * A member template output; returns the list of every current member's value (`get_attr` of the group), in member
   * order. Removed members are left out of the list, so a position in it is not a member's name.
   */
  output(name: string, value: unknown, description: string): IResolvable {
    if (!this.sharesTemplateOf) new HeatOutput(this.template, name, { value, description });
    else if (!(this.template.node.tryFindChild(name) instanceof HeatOutput))
      throw new HotError(this.node.path, `the shared member template has no output ${JSON.stringify(name)}`);
    return Fn.getAttr(this.group, name);
  }

  /**
   * Every current member's value of one of its outputs, as a map from the member's name to the value
   * (`get_attr: [group, attributes, name]`): what another group's members look their own entry up in.
   */
  attributeMap(name: string): IResolvable {
    if (!(this.template.node.tryFindChild(name) instanceof HeatOutput))
      throw new HotError(this.node.path, `the member template has no output ${JSON.stringify(name)}`);
    return Fn.getAttr(this.group, 'attributes', name);
  }
}
