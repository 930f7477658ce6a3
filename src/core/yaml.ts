import yaml from 'js-yaml';

/** Sort object keys deeply (arrays keep their order) and drop `undefined` members. */
export function sortDeep(value: unknown): unknown {
  // indexed loops: a synth runs this code cold (interpreted), where for-of allocates a result per step
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (let i = 0; i < value.length; i++) if (value[i] !== undefined) out.push(sortDeep(value[i]));
    return out;
  }
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    const keys = Object.keys(value).sort();
    for (let i = 0; i < keys.length; i++) {
      const v = (value as Record<string, unknown>)[keys[i]!];
      if (v !== undefined) out[keys[i]!] = sortDeep(v);
    }
    return out;
  }
  return value;
}

/** Keep an entry's own field order, sort everything below each field. */
export function sortBelow(entry: unknown): unknown {
  if (!entry || typeof entry !== 'object' || Array.isArray(entry)) return sortDeep(entry);
  const out: Record<string, unknown> = {};
  const keys = Object.keys(entry);
  for (let i = 0; i < keys.length; i++) {
    const v = (entry as Record<string, unknown>)[keys[i]!];
    if (v !== undefined) out[keys[i]!] = sortDeep(v);
  }
  return out;
}

const DUMP_OPTIONS: yaml.DumpOptions = { lineWidth: -1, noRefs: true, sortKeys: false, quotingType: "'" };

/**
 * Deterministic YAML: no line folding, no anchors, multi-line strings as literal blocks. The text is exactly what
 * js-yaml's `dump` gives with these options (a property test holds the two together); {@link emitYaml} writes it about
 * four times faster for the shapes templates have, and js-yaml writes whatever it does not handle.
 */
export function toYaml(doc: unknown): string {
  const fast = emitYaml(doc);
  return fast ?? yamlDump(doc);
}

/** js-yaml's dump with the options above. */
export function yamlDump(doc: unknown): string {
  return yaml.dump(doc, DUMP_OPTIONS);
}

// ------------------------------------------------------------------------------------------------------------------
// The fast emitter. It follows js-yaml's dumper with the options above (block style, indent 2, no folding, single
// quotes): mappings `key: value` with nested collections on the following lines, sequences `- item` indented under
// their key, empty collections as `{}` / `[]`, multi-line strings as literal blocks (`|`, with the indentation
// indicator when the text starts with a space and the chomping indicator from its trailing newlines). A string is
// written plain when it is a simple word that YAML cannot read as anything else; every other single-line scalar is
// written by js-yaml itself (and remembered, since templates repeat them).

/** Words js-yaml writes plain: a letter or underscore, then letters, digits and `_ . / -`. */
const SIMPLE_WORD = /^[A-Za-z_][A-Za-z0-9_./-]*$/;
/**
 * Prose js-yaml also writes plain: a letter, then letters, digits, spaces and `_ . / - , ; ( ) = +`, not ending in a
 * space. With no `:` or `#` nothing in it is an indicator; starting with a letter it is no number, date or float
 * (those start with a digit, a sign or a dot), and with the reserved words below excluded, no null or boolean.
 */
const PLAIN_PROSE = /^[A-Za-z][A-Za-z0-9_./ ,;()=+-]*[A-Za-z0-9_./,;()=+-]$/;
/** Simple words YAML (1.2 core, or 1.1 for the booleans js-yaml still quotes) reads as null or a boolean. */
const RESERVED_WORDS = new Set([
  'null', 'Null', 'NULL', 'true', 'True', 'TRUE', 'false', 'False', 'FALSE',
  'y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON', 'n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF',
]); // prettier-ignore

const scalarCache = new Map<string, string>();
const SCALAR_CACHE_LIMIT = 10_000;

class NotHandled extends Error {}

/** The document as js-yaml would dump it, or undefined for shapes left to js-yaml (non-plain objects, odd keys). */
export function emitYaml(doc: unknown): string | undefined {
  try {
    const out = node(doc, 0, true);
    return out === '' ? '' : `${out}\n`;
  } catch (e) {
    if (e instanceof NotHandled) return undefined;
    throw e;
  }
}

function node(value: unknown, level: number, compact: boolean): string {
  switch (typeof value) {
    case 'string':
      return scalar(value, level);
    case 'number':
      return Number.isInteger(value) && !Object.is(value, -0) ? String(value) : single(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      if (value === null) return 'null';
      if (Array.isArray(value)) return value.length === 0 ? '[]' : sequence(value, level, compact);
      if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) throw new NotHandled();
      return mapping(value as Record<string, unknown>, level, compact);
    default:
      throw new NotHandled();
  }
}

function mapping(obj: Record<string, unknown>, level: number, compact: boolean): string {
  const keys = Object.keys(obj);
  let out = '';
  const newline = newlineAt(level);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const value = obj[key];
    if (value === undefined) continue; // js-yaml skips the pair
    if (key.length > 1024 || key.includes('\n')) throw new NotHandled(); // js-yaml writes an explicit `? key`
    const k = SIMPLE_WORD.test(key) && !RESERVED_WORDS.has(key) ? key : single(key);
    // a non-empty collection starts on the next line; known from the value, not read from the text (reading the
    // first character of a string built by concatenation copies all of it, at every level of nesting)
    let v: string;
    let below = false;
    if (value !== null && typeof value === 'object') {
      v = collection(value, level + 1);
      below = v !== '[]' && v !== '{}';
    } else v = node(value, level + 1, false);
    out += (compact && out === '' ? '' : newline) + k + (below ? ':' : ': ') + v;
  }
  return out === '' ? '{}' : out;
}

const newlines: string[] = [];
/** A line feed and the indentation of `level`, made once per level. */
function newlineAt(level: number): string {
  return (newlines[level] ??= `\n${'  '.repeat(level)}`);
}

/** A collection as a mapping value (its pairs or items start on the next line) or flow `{}` / `[]` when empty. */
function collection(value: object, level: number): string {
  if (Array.isArray(value)) return value.length === 0 ? '[]' : sequence(value, level, false);
  return Object.keys(value).length === 0 ? '{}' : node(value, level, false);
}

function sequence(items: readonly unknown[], level: number, compact: boolean): string {
  let out = '';
  const newline = newlineAt(level);
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    // an item is written compact (a mapping's first pair, a sequence's first item on the dash's line), and no scalar
    // starts with a line feed, so an item never starts on the next line
    out += (compact && out === '' ? '' : newline) + '- ' + node(item === undefined ? null : item, level + 1, true);
  }
  return out;
}

function scalar(s: string, level: number): string {
  if ((SIMPLE_WORD.test(s) || PLAIN_PROSE.test(s)) && !RESERVED_WORDS.has(s)) return s;
  if (s.includes('\n') && printable(s)) return literal(s, level);
  return single(s);
}

/** A scalar that does not depend on its indentation, as js-yaml writes it alone (cached). */
function single(value: string | number): string {
  const key = typeof value === 'string' ? value : `\u0000${String(value)}`;
  let text = scalarCache.get(key);
  if (text === undefined) {
    text = yaml.dump(value, DUMP_OPTIONS).slice(0, -1);
    if (text.includes('\n')) throw new NotHandled(); // a block scalar: depends on the level
    if (scalarCache.size >= SCALAR_CACHE_LIMIT) scalarCache.clear();
    scalarCache.set(key, text);
  }
  return text;
}

/** js-yaml's literal block scalar for a printable multi-line string at `level`. */
function literal(s: string, level: number): string {
  const indicator = /^\n* /.test(s) ? '2' : '';
  const clip = s.charCodeAt(s.length - 1) === 10;
  const keep = clip && (s.charCodeAt(s.length - 2) === 10 || s === '\n');
  const chomp = keep ? '+' : clip ? '' : '-';
  const indent = '  '.repeat(Math.max(1, level));
  // every line but a blank one is indented: the first unless it is blank, and each after a line feed that is followed
  // by more than another line feed. One native replace: a loop over the lines runs cold (interpreted) in a synth
  // process, and user-data is most of a template's text
  let body = (s.charCodeAt(0) === 10 ? '' : indent) + s.replace(NEXT_LINE, `\n${indent}`);
  if (body.charCodeAt(body.length - 1) === 10) body = body.slice(0, -1);
  return `|${indicator}${chomp}\n${body}`;
}

/** A line feed followed by a line that is not blank. */
const NEXT_LINE = /\n(?=[^\n])/g;

/** js-yaml's isPrintable for every code point but line feeds (which block scalars carry). */
function printable(s: string): boolean {
  // printable ASCII and line feeds (nearly every template string) found by one native scan; the loop below checks
  // from the first other character on
  const first = s.search(NOT_ASCII_PRINTABLE);
  if (first === -1) return true;
  for (let i = first; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c <= 0x7e) continue;
    if (c === 10) continue;
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++;
        continue;
      }
      return false;
    }
    if ((c >= 0xa1 && c <= 0xd7ff && c !== 0x2028 && c !== 0x2029) || (c >= 0xe000 && c <= 0xfffd && c !== 0xfeff)) continue;
    return false;
  }
  return true;
}

/** A character other than printable ASCII and the line feed. */
const NOT_ASCII_PRINTABLE = /[^\n\x20-\x7e]/;

/** Parse YAML strictly (duplicate keys are errors). */
export function parseYaml(text: string, fileName?: string): unknown {
  return yaml.load(text, { filename: fileName, json: false });
}
