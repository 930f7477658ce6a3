import type { HeatStack } from '../core/stack.js';
import { matchValue } from './match.js';

type Doc = Record<string, unknown>;
type Entries = Record<string, Record<string, unknown>>;

export class AssertionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AssertionError';
  }
}

/** Assertions over a synthesized HOT template, for users' own tests. */
export class HotTemplate {
  /** The template of a stack (root or nested), rendered as `synth` would (no secrets, no files). */
  static fromStack(stack: HeatStack): HotTemplate {
    return new HotTemplate(stack.toTemplate());
  }

  /** Wrap an already parsed HOT document. */
  static fromDocument(doc: Doc): HotTemplate {
    return new HotTemplate(doc);
  }

  private constructor(public readonly document: Doc) {}

  private section(name: string): Entries {
    return (this.document[name] ?? {}) as Entries;
  }

  /** Resources of a type whose entry matches `entry` (partial), by logical id. */
  findResources(type: string, entry: Record<string, unknown> = {}): Entries {
    const out: Entries = {};
    for (const [id, r] of Object.entries(this.section('resources'))) {
      if (r.type === type && matchValue(entry, r, id).length === 0) out[id] = r;
    }
    return out;
  }

  resourceCountIs(type: string, count: number): void {
    const n = Object.keys(this.findResources(type)).length;
    if (n !== count) throw new AssertionError(`expected ${count} resources of type ${type}, found ${n}`);
  }

  /** Some resource of the type has properties matching `properties` (partial). */
  hasResourceProperties(type: string, properties: unknown): void {
    this.hasResource(type, { properties });
  }

  /** Some resource of the type has an entry matching `entry` (partial). */
  hasResource(type: string, entry: Record<string, unknown>): void {
    this.expectOne('resources', (r) => r.type === type, entry, `resource of type ${type}`);
  }

  hasParameter(name: string, definition: Record<string, unknown> = {}): void {
    this.expectNamed('parameters', name, definition);
  }

  hasOutput(name: string, definition: Record<string, unknown> = {}): void {
    this.expectNamed('outputs', name, definition);
  }

  hasCondition(name: string, expression?: unknown): void {
    const c = this.section('conditions')[name];
    if (c === undefined) throw new AssertionError(`no condition named ${name}`);
    if (expression !== undefined) {
      const m = matchValue(expression, c, name);
      if (m.length > 0) throw new AssertionError(`condition ${name} does not match:\n  ${m.join('\n  ')}`);
    }
  }

  /** The whole document matches `pattern` (partial). */
  templateMatches(pattern: Record<string, unknown>): void {
    const m = matchValue(pattern, this.document, 'template');
    if (m.length > 0) throw new AssertionError(`template does not match:\n  ${m.join('\n  ')}`);
  }

  private expectNamed(section: string, name: string, definition: Record<string, unknown>): void {
    const entry = this.section(section)[name];
    if (entry === undefined) {
      throw new AssertionError(
        `no ${section.slice(0, -1)} named ${name}; have: ${Object.keys(this.section(section)).join(', ') || '(none)'}`,
      );
    }
    const m = matchValue(definition, entry, name);
    if (m.length > 0) throw new AssertionError(`${section.slice(0, -1)} ${name} does not match:\n  ${m.join('\n  ')}`);
  }

  private expectOne(
    section: string,
    filter: (e: Record<string, unknown>) => boolean,
    pattern: Record<string, unknown>,
    what: string,
  ): void {
    const candidates = Object.entries(this.section(section)).filter(([, e]) => filter(e));
    if (candidates.length === 0) throw new AssertionError(`no ${what}`);
    const reports: string[] = [];
    for (const [id, e] of candidates) {
      const m = matchValue(pattern, e, id);
      if (m.length === 0) return;
      reports.push(...m.slice(0, 3));
    }
    throw new AssertionError(`no ${what} matches; closest mismatches:\n  ${reports.slice(0, 9).join('\n  ')}`);
  }
}
