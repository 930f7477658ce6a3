/**
 * The size of the request `openstack stack create` sends, computed from the synthesized documents.
 *
 * Heat's API refuses a request body longer than `max_json_body_size` (1 MiB by default) and a nested template longer
 * than `max_template_size` (512 KiB). Both limits count what python-heatclient sends, which is not our YAML:
 *   - the root template goes as a JSON object (`template`);
 *   - every `type: x.yaml` (and `get_file`) value is replaced by the file's absolute `file://` URL, and each nested
 *     template goes in `files` as a JSON *string* of its parsed, URL-rewritten document;
 *   - each environment file goes in `files` as a JSON string of its parsed document (registry values as URLs), and the
 *     merged environment goes again as `environment`; `environment_files` lists their URLs;
 *   - the body is `json.dumps` with Python's defaults: separators `', '` and `': '`, everything outside printable
 *     ASCII escaped as `\uXXXX`.
 * The lengths below follow those rules exactly, without building the strings; `test/heat` compares them with the
 * body heatclient's own code builds for every stack and example.
 */
import { resolve } from 'node:path';

/** Heat's defaults (heat.common.wsgi / heat.common.config). */
export const HEAT_MAX_JSON_BODY_SIZE = 1_048_576;
export const HEAT_MAX_TEMPLATE_SIZE = 524_288;

export interface CreateRequestInput {
  /** Directory the files are read from (their URLs are absolute). */
  readonly outdir: string;
  /** Stack name as given to `openstack stack create`. */
  readonly stackName: string;
  /** Root template file name. */
  readonly template: string;
  /** Environment files, in `-e` order. */
  readonly environments: readonly string[];
  /** Parsed documents by file name: the root, nested templates and environment files. */
  readonly docs: ReadonlyMap<string, unknown>;
  /** Raw text of other files a `get_file` may name. */
  readonly texts?: ReadonlyMap<string, string>;
  /** `--timeout` minutes, when the create command passes one. */
  readonly timeoutMinutes?: number;
}

export interface CreateRequestSize {
  /** Length of the JSON body (ASCII: bytes). */
  readonly bodyBytes: number;
  /** Each nested template's JSON string length as Heat's template parser sees it. */
  readonly templateBytes: ReadonlyMap<string, number>;
  /** `get_file` targets that are not among the synthesized files (their size is not counted). */
  readonly unknownFiles: readonly string[];
}

/** Length, double quotes and backslashes of a JSON text: what escaping it once more adds. */
interface Measure {
  len: number;
  quotes: number;
  slashes: number;
}

const TEMPLATE_SUFFIX = /\.(yaml|template)$/;

/** The create request's size (see the module comment). */
export function createRequestSize(input: CreateRequestInput): CreateRequestSize {
  const urls = new Map<string, string>(); // file name -> its URL (templates name the same files many times)
  const urlOf = (name: string): string => {
    let url = urls.get(name);
    if (url === undefined) urls.set(name, (url = fileUrl(resolve(input.outdir, name))));
    return url;
  };
  const files = new Map<string, Measure | number>(); // url -> JSON measure of a template, or raw text length
  const templateBytes = new Map<string, number>();
  const unknownFiles: string[] = [];

  const reference = (key: string, value: string): string | undefined => {
    if (key === 'type' && !TEMPLATE_SUFFIX.test(value)) return undefined;
    const url = urlOf(value);
    if (files.has(url)) return url;
    const doc = input.docs.get(value);
    if (doc !== undefined && isTemplate(doc)) {
      files.set(url, { len: 0, quotes: 0, slashes: 0 }); // placeholder: a template may name itself
      const m = measure(doc, true);
      files.set(url, m);
      templateBytes.set(value, m.len);
    } else {
      const text = input.texts?.get(value);
      if (text === undefined) unknownFiles.push(value);
      files.set(url, text === undefined ? 0 : stringLength(text));
    }
    return url;
  };

  /** json.dumps(value); in a template (`rewrite`), `type` and `get_file` file names become URLs. */
  function measure(value: unknown, rewrite: boolean): Measure {
    const m: Measure = { len: 0, quotes: 0, slashes: 0 };
    const walk = (v: unknown, key: string | undefined): void => {
      if (typeof v === 'string') {
        const url = rewrite && key !== undefined && (key === 'type' || key === 'get_file') ? reference(key, v) : undefined;
        addString(m, url ?? v);
      } else if (typeof v === 'number') {
        m.len += pythonNumber(v).length;
      } else if (typeof v === 'boolean') {
        m.len += v ? 4 : 5;
      } else if (v === null || v === undefined) {
        m.len += 4;
      } else if (Array.isArray(v)) {
        m.len += 2 + Math.max(0, v.length - 1) * 2;
        for (let i = 0; i < v.length; i++) walk(v[i], undefined);
      } else {
        const obj = v as Record<string, unknown>;
        let n = 0;
        for (const k in obj) {
          const x = obj[k];
          if (x === undefined) continue;
          n++;
          addString(m, k);
          walk(x, k);
        }
        m.len += 2 + Math.max(0, n - 1) * 2 + n * 2;
      }
    };
    walk(value, undefined);
    return m;
  }

  const template = measure(input.docs.get(input.template) ?? {}, true);
  let merged: Record<string, unknown> = {};
  const envUrls: string[] = [];
  for (const name of input.environments) {
    const env = withRegistryUrls(input.docs.get(name) ?? {}, (file) => reference('resource_registry', file) ?? file);
    const url = urlOf(name);
    envUrls.push(url);
    files.set(url, measure(env, false));
    merged = deepUpdate(merged, env);
  }

  const body: Record<string, unknown> = {
    stack_name: input.stackName,
    disable_rollback: true,
    parameters: {},
    environment: merged,
    ...(envUrls.length > 0 ? { environment_files: envUrls } : {}),
    ...(input.timeoutMinutes !== undefined ? { timeout_mins: input.timeoutMinutes } : {}),
  };
  // body without template and files, then those two members added by their measures
  let bodyBytes = measure(body, false).len;
  bodyBytes += 4 + stringLength('template') + template.len; // ', "template": {...}'
  let filesLen = 2 + Math.max(0, files.size - 1) * 2;
  for (const [url, m] of files) {
    filesLen += stringLength(url) + 2;
    filesLen += typeof m === 'number' ? m : 2 + m.len + m.quotes + m.slashes; // a JSON text as a JSON string
  }
  bodyBytes += 4 + stringLength('files') + filesLen; // ', "files": {...}'
  return { bodyBytes, templateBytes, unknownFiles };
}

/** What heatclient's template_format takes for a template (versus a plain file). */
function isTemplate(doc: unknown): boolean {
  return !!doc && typeof doc === 'object' && ('heat_template_version' in doc || 'HeatTemplateFormatVersion' in doc);
}

/** Printable ASCII without `"` and `\`: json.dumps writes it as it is. */
const PLAIN_JSON = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** Add json.dumps of a string to `m`: its length, and the quotes and backslashes it contains. */
function addString(m: Measure, s: string): void {
  if (PLAIN_JSON.test(s)) {
    m.len += s.length + 2;
    m.quotes += 2;
    return;
  }
  m.len += 2;
  m.quotes += 2;
  if (!ESCAPED_OTHER.test(s)) {
    // printable ASCII, quotes, backslashes and line feeds only (user-data, most of a template's bytes): counted with
    // native scans, since a character loop runs cold (interpreted) in a synth process
    const quotes = count(s, '"');
    const slashes = count(s, '\\');
    const feeds = count(s, '\n');
    m.len += s.length + quotes + slashes + feeds;
    m.quotes += quotes;
    m.slashes += quotes + 2 * slashes + feeds;
    return;
  }
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) {
      m.len += 2;
      m.quotes += 1;
      m.slashes += 1;
    } else if (c === 0x5c) {
      m.len += 2;
      m.slashes += 2;
    } else if (c === 0x0a || c === 0x0d || c === 0x09 || c === 0x08 || c === 0x0c) {
      m.len += 2;
      m.slashes += 1;
    } else if (c < 0x20 || c > 0x7e) {
      m.len += 6;
      m.slashes += 1;
    } else m.len += 1;
  }
}

/** A character json.dumps escapes other than the quote, the backslash and the line feed (or one outside printable ASCII). */
const ESCAPED_OTHER = /[^\n\x20-\x7e]/;

/** How many times `ch` occurs in `s`. */
function count(s: string, ch: string): number {
  let n = 0;
  for (let i = s.indexOf(ch); i !== -1; i = s.indexOf(ch, i + 1)) n++;
  return n;
}

/** Length of json.dumps of a string. */
function stringLength(s: string): number {
  const m: Measure = { len: 0, quotes: 0, slashes: 0 };
  addString(m, s);
  return m.len;
}

function pythonNumber(n: number): string {
  if (Number.isInteger(n)) return String(n);
  // Python's float repr: shortest round-trip digits, exponent form outside [1e-4, 1e16)
  const abs = Math.abs(n);
  if (abs >= 1e16 || abs < 1e-4) {
    const [mant, exp] = n.toExponential().split('e') as [string, string];
    const e = Number(exp);
    return `${mant}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  return String(n);
}

/** urllib's pathname2url for an absolute POSIX path, after 'file://'. */
function fileUrl(path: string): string {
  let out = '';
  for (const byte of Buffer.from(path, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += /[A-Za-z0-9_.\-~/]/.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return `file://${out}`;
}

/** heatclient's resolve_environment_urls: registry values naming files (not `X::Y` types) become URLs. */
function withRegistryUrls(env: unknown, urlFor: (file: string) => string): Record<string, unknown> {
  if (!env || typeof env !== 'object') return {};
  const out = { ...(env as Record<string, unknown>) };
  const rr = out.resource_registry;
  if (!rr || typeof rr !== 'object') return out;
  const rewrite = (entries: Record<string, unknown>, top: boolean): Record<string, unknown> => {
    const o: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(entries)) {
      if (top && k === 'resources' && v && typeof v === 'object') {
        o[k] = Object.fromEntries(
          Object.entries(v as Record<string, unknown>).map(([name, d]) => [
            name,
            d && typeof d === 'object' ? rewrite(d as Record<string, unknown>, false) : d,
          ]),
        );
      } else if (typeof v === 'string' && k !== 'base_url' && k !== 'hooks' && k !== 'restricted_actions' && !v.includes('::')) {
        o[k] = urlFor(v);
      } else o[k] = v;
    }
    return o;
  };
  out.resource_registry = rewrite(rr as Record<string, unknown>, true);
  return out;
}

/** heatclient's deep_update: nested mappings merged, everything else replaced. */
function deepUpdate(old: Record<string, unknown>, next: Record<string, unknown>): Record<string, unknown> {
  const out = { ...old };
  for (const [k, v] of Object.entries(next)) {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const prev = out[k];
      out[k] = deepUpdate(
        prev && typeof prev === 'object' && !Array.isArray(prev) ? (prev as Record<string, unknown>) : {},
        v as Record<string, unknown>,
      );
    } else out[k] = v;
  }
  return out;
}
