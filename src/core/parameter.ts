import type { Construct } from 'constructs';
import { HotError, describeValue } from './errors.js';
import { HeatElement } from './element.js';
import { Fn } from './intrinsics.js';
import type { IResolvable, Input, ResolveContext } from './tokens.js';
import { versionAtLeast } from './versions.js';

export type ParameterType = 'string' | 'number' | 'json' | 'comma_delimited_list' | 'boolean';
const PARAMETER_TYPES: readonly ParameterType[] = ['string', 'number', 'json', 'comma_delimited_list', 'boolean'];

/** One HOT parameter constraint; `description` is the message Heat shows when it fails. */
export type ParameterConstraint =
  | { readonly length: { readonly min?: number; readonly max?: number }; readonly description?: string }
  | { readonly range: { readonly min?: number; readonly max?: number }; readonly description?: string }
  | { readonly modulo: { readonly step: number; readonly offset: number }; readonly description?: string }
  | { readonly allowedValues: readonly (string | number)[]; readonly description?: string }
  | { readonly allowedPattern: string; readonly description?: string }
  | { readonly customConstraint: string; readonly description?: string };

/** Context handed to secret producers during synthesis. */
export interface SynthSession {
  /** Private (0700) directory where generated secrets are kept between synths. */
  readonly stateDir: string;
  /** Compute a value once per synthesis run (e.g. load or create a PKI shared by several parameters). */
  memo<T>(key: string, produce: () => Promise<T>): Promise<T>;
}

export type SecretProducer = (session: SynthSession) => string | Promise<string>;

export interface HeatParameterProps {
  readonly type: ParameterType;
  /** Name in the template. @default - the logical id from the construct path */
  readonly name?: string;
  readonly label?: string;
  readonly description?: string;
  /** Default in the template itself. */
  readonly default?: unknown;
  /** Heat hides the value in API output and logs. */
  readonly hidden?: boolean;
  /** A stack update may not change the value. */
  readonly immutable?: boolean;
  /** Tags (heat_template_version 2018-03-02 or newer). */
  readonly tags?: readonly string[];
  readonly constraints?: readonly ParameterConstraint[];
  /** A value the program chose, written to `<stack>.env.yaml` (`parameter_defaults`), not into the template. */
  readonly value?: unknown;
  /**
   * A secret value made at synth time and kept in the state directory, written only to the 0600
   * `<stack>.secrets.env.yaml`. Requires `hidden: true`.
   */
  readonly secretValue?: SecretProducer;
}

function checkNumber(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}

const PARAMETER = Symbol.for('hotk8s.HeatParameter');

/** A template parameter. */
export class HeatParameter extends HeatElement {
  static isHeatParameter(x: unknown): x is HeatParameter {
    return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[PARAMETER] === true;
  }

  public readonly templateSection = 'parameters' as const;
  public readonly parameterType: ParameterType;
  public readonly props: HeatParameterProps;

  constructor(scope: Construct, id: string, props: HeatParameterProps) {
    super(scope, id);
    if (!PARAMETER_TYPES.includes(props?.type)) {
      throw new HotError(this.node.path, `parameter type must be one of ${PARAMETER_TYPES.join(', ')}; got ${describeValue(props?.type)}`);
    }
    this.parameterType = props.type;
    this.props = props;
    if (props.name !== undefined) this.overrideLogicalId(props.name);
    if (props.secretValue && !props.hidden) {
      throw new HotError(this.node.path, 'a parameter with a secretValue must be hidden: true, so Heat never shows it');
    }
    if (props.secretValue && (props.value !== undefined || props.default !== undefined)) {
      throw new HotError(this.node.path, 'a secret parameter takes its value from secretValue only; remove value/default');
    }
    for (const c of props.constraints ?? []) this.checkConstraint(c);
    if (props.default !== undefined) this.checkValue('default', props.default);
    if (props.value !== undefined) this.checkValue('value', props.value);
  }

  /** `get_param` of this parameter. */
  get value(): IResolvable {
    return Fn.getParam(this);
  }

  /** `get_param` with a path into a json or list value. */
  valueAt(...path: Input<string | number>[]): IResolvable {
    return Fn.getParam(this, ...path);
  }

  get isSecret(): boolean {
    return this.props.secretValue !== undefined;
  }

  /** Whether the stack can be created without giving this parameter. */
  get required(): boolean {
    return this.props.default === undefined && this.props.value === undefined && this.props.secretValue === undefined;
  }

  private checkConstraint(c: ParameterConstraint): void {
    const path = this.node.path;
    if ('length' in c || 'range' in c) {
      const kind = 'length' in c ? 'length' : 'range';
      const r = 'length' in c ? c.length : c.range;
      if (r.min === undefined && r.max === undefined) throw new HotError(path, `${kind} constraint needs min or max`);
      if ((r.min !== undefined && !checkNumber(r.min)) || (r.max !== undefined && !checkNumber(r.max))) {
        throw new HotError(path, `${kind} constraint bounds must be numbers; got ${describeValue(r)}`);
      }
      if (r.min !== undefined && r.max !== undefined && r.min > r.max) {
        throw new HotError(path, `${kind} constraint min must not exceed max; got min ${r.min}, max ${r.max}`);
      }
      if (kind === 'length' && !['string', 'json', 'comma_delimited_list'].includes(this.parameterType)) {
        throw new HotError(
          path,
          `a length constraint applies to string, json or comma_delimited_list parameters; this one is ${this.parameterType}`,
        );
      }
      if (kind === 'range' && this.parameterType !== 'number') {
        throw new HotError(path, `a range constraint applies to number parameters; this one is ${this.parameterType}`);
      }
    } else if ('modulo' in c) {
      if (this.parameterType !== 'number')
        throw new HotError(path, `a modulo constraint applies to number parameters; this one is ${this.parameterType}`);
      if (!checkNumber(c.modulo.step) || c.modulo.step === 0 || !checkNumber(c.modulo.offset)) {
        throw new HotError(path, `modulo constraint needs a non-zero step and an offset; got ${describeValue(c.modulo)}`);
      }
    } else if ('allowedValues' in c) {
      if (!Array.isArray(c.allowedValues) || c.allowedValues.length === 0) {
        throw new HotError(path, `allowedValues must be a non-empty list; got ${describeValue(c.allowedValues)}`);
      }
    } else if ('allowedPattern' in c) {
      try {
        new RegExp(c.allowedPattern);
      } catch {
        throw new HotError(path, `allowedPattern is not a valid regular expression; got ${describeValue(c.allowedPattern)}`);
      }
    } else if ('customConstraint' in c) {
      if (typeof c.customConstraint !== 'string' || !/^[a-z_]+\.[a-z_.]+$/.test(c.customConstraint)) {
        throw new HotError(
          path,
          `customConstraint must name a Heat custom constraint like nova.flavor; got ${describeValue(c.customConstraint)}`,
        );
      }
    } else {
      throw new HotError(path, `unknown parameter constraint ${describeValue(c)}`);
    }
  }

  /** Check a value the program gives (default or environment value) against the type and constraints. */
  private checkValue(what: string, v: unknown): void {
    const path = this.node.path;
    const t = this.parameterType;
    const typeOk =
      (t === 'string' && typeof v === 'string') ||
      (t === 'number' && (checkNumber(v) || (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))))) ||
      (t === 'boolean' &&
        (typeof v === 'boolean' ||
          ['true', 'false', 'yes', 'no', 'on', 'off', '1', '0', 't', 'f', 'y', 'n'].includes(String(v).toLowerCase()))) ||
      (t === 'comma_delimited_list' && (typeof v === 'string' || (Array.isArray(v) && v.every((x) => typeof x === 'string')))) ||
      (t === 'json' && typeof v === 'object' && v !== null);
    if (!typeOk) throw new HotError(path, `${what} must be a ${t}; got ${describeValue(v)}`);
    for (const c of this.props.constraints ?? []) {
      if ('range' in c) {
        const n = Number(v);
        if ((c.range.min !== undefined && n < c.range.min) || (c.range.max !== undefined && n > c.range.max)) {
          throw new HotError(
            path,
            `${what} must be within the range ${c.range.min ?? '-inf'}..${c.range.max ?? 'inf'}; got ${describeValue(v)}`,
          );
        }
      } else if ('length' in c && typeof v === 'string') {
        if ((c.length.min !== undefined && v.length < c.length.min) || (c.length.max !== undefined && v.length > c.length.max)) {
          throw new HotError(path, `${what} length must be within ${c.length.min ?? 0}..${c.length.max ?? 'inf'}; got ${v.length}`);
        }
      } else if ('allowedValues' in c) {
        if (!c.allowedValues.map(String).includes(String(v))) {
          throw new HotError(path, `${what} must be one of ${c.allowedValues.join(', ')}; got ${describeValue(v)}`);
        }
      } else if ('allowedPattern' in c && typeof v === 'string') {
        if (!new RegExp(`^(?:${c.allowedPattern})$`).test(v)) {
          throw new HotError(path, `${what} must match ${c.allowedPattern}; got ${describeValue(v)}`);
        }
      } else if ('modulo' in c) {
        const n = Number(v);
        if (((n % c.modulo.step) + c.modulo.step) % c.modulo.step !== ((c.modulo.offset % c.modulo.step) + c.modulo.step) % c.modulo.step) {
          throw new HotError(path, `${what} must be ${c.modulo.offset} modulo ${c.modulo.step}; got ${describeValue(v)}`);
        }
      }
    }
  }

  override validateElement(): string[] {
    const errors: string[] = [];
    const version = this.stack.templateVersion;
    if (this.props.tags && !versionAtLeast(version, '2018-03-02')) {
      errors.push(`parameter tags need heat_template_version 2018-03-02 or newer; the stack declares ${version}`);
    }
    if ((this.props.constraints ?? []).some((c) => 'modulo' in c) && !versionAtLeast(version, '2017-02-24')) {
      errors.push(`a modulo constraint needs heat_template_version 2017-02-24 or newer; the stack declares ${version}`);
    }
    if (this.props.value !== undefined && this.stack.isNested) {
      errors.push('a nested template parameter gets its value from the resource that uses the template, not from an environment value');
    }
    return errors;
  }

  renderEntry(): unknown {
    const p = this.props;
    return {
      type: p.type,
      label: p.label,
      description: p.description,
      default: p.default,
      hidden: p.hidden,
      immutable: p.immutable,
      tags: p.tags,
      constraints: p.constraints?.map(renderConstraint),
    };
  }
}
// the brand `isHeatParameter` reads, on the prototype (one property, not one per parameter)
Object.defineProperty(HeatParameter.prototype, PARAMETER, { value: true });

function renderConstraint(c: ParameterConstraint): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if ('length' in c) out.length = { min: c.length.min, max: c.length.max };
  else if ('range' in c) out.range = { min: c.range.min, max: c.range.max };
  else if ('modulo' in c) out.modulo = { step: c.modulo.step, offset: c.modulo.offset };
  else if ('allowedValues' in c) out.allowed_values = [...c.allowedValues];
  else if ('allowedPattern' in c) out.allowed_pattern = c.allowedPattern;
  else if ('customConstraint' in c) out.custom_constraint = c.customConstraint;
  if (c.description !== undefined) out.description = c.description;
  return out;
}

export type { ResolveContext };
