/**
 * Rendering of node user-data.
 *
 * Two kinds of values reach a node's user-data, and they are kept visibly apart:
 *
 * - synth-time values (versions, CIDRs, URLs, bounds) go through Handlebars, compiled `strict`
 *   (a missing context field is an error, never an empty string) with no HTML escaping;
 * - deploy-time values (addresses, generated tokens, the signal command, hidden secrets) are left as
 *   placeholder tokens `__NAME__` that Heat's `str_replace` substitutes when the stack is created.
 *
 * Templates are the `*.hbs` files under `src/bootstrap/templates/`. Every template can also be used as
 * a partial by its name (`{{> common/lib.sh}}`). Names are paths relative to the templates directory,
 * with or without the `.hbs` suffix. They are precompiled into `templates.generated.ts` by
 * `npm run gen:bootstrap` (scripts/gen-bootstrap-templates.mjs), so rendering loads only
 * `handlebars/runtime`; a unit test checks the generated module against the sources and renders every
 * role both ways.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import type Handlebars from 'handlebars';
// a static import, so that the bundle (scripts/bundle.mjs) carries the runtime instead of loading its 20 CommonJS files
import handlebarsRuntime from 'handlebars/runtime.js';
import { packageRoot } from '../private/package-root.js';
import { BoundedMemo, memoized, TEMPLATE_COMPILE_OPTIONS, templateSource, type TemplateSource } from './private/templates.js';
import { BOOTSTRAP_TEMPLATE_NAMES, BOOTSTRAP_TEMPLATE_SPECS, BOOTSTRAP_TEMPLATES_HANDLEBARS_VERSION } from './templates.generated.js';

/** Thrown for every rendering problem; the message names the template or part and the rule. */
export class BootstrapRenderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BootstrapRenderError';
  }
}

/** The node roles that receive user-data. */
export type NodeRole = 'etcd' | 'master' | 'worker';

/** The result of rendering one role's user-data. */
export interface RenderedUserData {
  readonly role: NodeRole;
  /** The whole user-data (cloud-init MIME multipart or `#cloud-config`), placeholders left in. */
  readonly text: string;
  /** Every placeholder token the text contains, sorted; the construct must give Heat a value for each. */
  readonly placeholders: readonly string[];
}

/** One part of a MIME multipart user-data. */
export interface UserDataPart {
  /** The file name cloud-init gives the part (shell parts run sorted by this name). */
  readonly filename: string;
  readonly contentType: 'text/cloud-config' | 'text/x-shellscript';
  readonly content: string;
}

const PLACEHOLDER_NAME = /^[A-Z](?:[A-Z0-9_]*[A-Z0-9])?$/;
const PLACEHOLDER_TOKEN = /__[A-Z](?:[A-Z0-9_]*?[A-Z0-9])?__/g;

/**
 * The token Heat's `str_replace` substitutes at deploy time: `'ETCD_INITIAL_CLUSTER'` gives
 * `'__ETCD_INITIAL_CLUSTER__'`. Names are upper case letters, digits and single underscores.
 */
export function placeholder(name: string): string {
  if (!PLACEHOLDER_NAME.test(name) || name.includes('__')) {
    throw new BootstrapRenderError(
      `placeholder name must be upper case letters, digits and single underscores (e.g. ETCD_ADDRESS); got ${JSON.stringify(name)}`,
    );
  }
  return `__${name}__`;
}

/** Every placeholder token (`__NAME__`) in `text`, sorted and without duplicates. */
export function findPlaceholders(text: string): string[] {
  return [...new Set(text.match(PLACEHOLDER_TOKEN) ?? [])].sort();
}

/**
 * Substitutes placeholders the way Heat's `str_replace` does: every key is replaced wherever it
 * occurs, in one pass, so a value is never itself searched for further keys. Used by tests and by
 * tools that want to see user-data as a node will. Every key must occur in the text.
 */
export function substitutePlaceholders(text: string, values: Readonly<Record<string, string>>): string {
  const keys = Object.keys(values);
  for (const key of keys) {
    if (!text.includes(key)) {
      throw new BootstrapRenderError(`substitution key ${key} does not occur in the text`);
    }
  }
  if (keys.length === 0) return text;
  const escaped = keys.sort((a, b) => b.length - a.length).map((k) => k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return text.replace(new RegExp(escaped.join('|'), 'g'), (m) => values[m] as string);
}

// ---------------------------------------------------------------------------------------------
// Templates

/**
 * The templates directory. From `src/bootstrap/render.ts` it is the sibling `templates/`; from the compiled
 * `dist/src/bootstrap/render.js` or the bundle, which hold no `.hbs` files, the package's own `src/bootstrap/templates/`,
 * which the package ships (see `files` in package.json).
 */
export function templatesDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const sibling = join(here, 'templates');
  if (existsSync(sibling)) return sibling;
  const root = packageRoot()?.dir;
  const candidate = root === undefined ? undefined : join(root, 'src', 'bootstrap', 'templates');
  if (candidate !== undefined && existsSync(candidate)) return candidate;
  throw new BootstrapRenderError(
    `cannot find the bootstrap templates directory: neither ${sibling} nor src/bootstrap/templates of the hotk8s package above ${here} exists`,
  );
}

type HandlebarsModule = typeof import('handlebars');
type Compiled = Handlebars.TemplateDelegate;

const requireCjs = createRequire(import.meta.url);

interface TemplateEnvironment {
  readonly source: TemplateSource;
  readonly compiled: ReadonlyMap<string, Compiled>;
  readonly names: readonly string[];
}

let environment: TemplateEnvironment | undefined;

function listTemplates(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.hbs'))
        out.push(
          relative(root, full)
            .split(sep)
            .join('/')
            .replace(/\.hbs$/, ''),
        );
    }
  };
  walk(root);
  return out.sort();
}

/**
 * The isolated Handlebars environment: helpers, and every template registered as a partial. Normally the
 * precompiled templates of `templates.generated.ts` on `handlebars/runtime` (no compiler loaded); in the
 * equivalence tests the `.hbs` sources compiled with the full compiler and the same options.
 */
function env(): TemplateEnvironment {
  const source = templateSource();
  if (environment?.source === source) return environment;
  const compiled = new Map<string, Compiled>();
  let names: string[];
  if (source === 'precompiled') {
    const hb = (handlebarsRuntime as unknown as HandlebarsModule).create();
    registerHelpers(hb);
    names = [...BOOTSTRAP_TEMPLATE_NAMES];
    for (const name of names) {
      let fn: Compiled;
      try {
        fn = hb.template(BOOTSTRAP_TEMPLATE_SPECS[name] as TemplateSpecification);
      } catch (e) {
        throw new BootstrapRenderError(
          `precompiled template ${name} (Handlebars ${BOOTSTRAP_TEMPLATES_HANDLEBARS_VERSION}): ${(e as Error).message}; run \`npm run gen:bootstrap\``,
        );
      }
      compiled.set(name, fn);
      hb.registerPartial(name, fn);
    }
  } else {
    const hb = (requireCjs('handlebars') as HandlebarsModule).create();
    registerHelpers(hb);
    const root = templatesDir();
    names = listTemplates(root);
    for (const name of names) {
      const text = readFileSync(join(root, `${name}.hbs`), 'utf8');
      let fn: Compiled;
      try {
        fn = hb.compile(text, { ...TEMPLATE_COMPILE_OPTIONS });
      } catch (e) {
        throw new BootstrapRenderError(`template ${name}: ${(e as Error).message}`);
      }
      compiled.set(name, fn);
      hb.registerPartial(name, fn);
    }
  }
  environment = { source, compiled, names };
  return environment;
}

/** The names of all templates (relative paths without `.hbs`), sorted. */
export function templateNames(): string[] {
  return [...env().names];
}

/**
 * Renders the template `name` (a path under the templates directory, `.hbs` optional) with
 * `context`. Strict: a field the template uses and the context lacks is an error naming the template
 * and the field. Templates are precompiled at build time (`npm run gen:bootstrap`); a context of plain
 * data is rendered once per process and its text reused (templates and helpers are pure).
 */
export function renderTemplate(name: string, context: object): string {
  const key = name.replace(/\.hbs$/, '');
  const { compiled, names } = env();
  const fn = compiled.get(key);
  if (!fn) {
    throw new BootstrapRenderError(`no bootstrap template named ${JSON.stringify(name)}; known: ${names.join(', ')}`);
  }
  return memoized(`template ${key}`, context, () => {
    try {
      const text = fn(context);
      return key.endsWith('.sh') ? stripShellComments(text) : text;
    } catch (e) {
      throw new BootstrapRenderError(`template ${key}: ${(e as Error).message}`);
    }
  });
}

/**
 * A shell script without its full-line comments, outside here-documents. The comments document the `.hbs`
 * sources; on the node they only cost user-data bytes (Nova's limit is 65,535 bytes after base64, and the largest
 * master's user-data passed it with comments). Kept: the shebang, shellcheck directives, every line of a
 * here-document (its body is data, e.g. a unit file or a manifest), blank lines (line structure for readers).
 */
export function stripShellComments(text: string): string {
  const out: string[] = [];
  const pending: { delimiter: string; tabs: boolean }[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (pending.length > 0) {
      out.push(line);
      const head = pending[0]!;
      if ((head.tabs ? line.replace(/^\t+/, '') : line) === head.delimiter) pending.shift();
      continue;
    }
    if (/^\s*#/.test(line) && !(i === 0 && line.startsWith('#!')) && !/^\s*#\s*shellcheck\s/.test(line)) continue;
    out.push(line);
    for (const m of line.matchAll(/(?<!<)<<(-?)\s*(['"]?)([A-Za-z_][A-Za-z0-9_]*)\2/g)) {
      pending.push({ delimiter: m[3]!, tabs: m[1] === '-' });
    }
  }
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Helpers available in every template.

/** Quotes a string for POSIX shell as one word: `it's` -> `'it'\''s'`. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

function registerHelpers(hb: typeof Handlebars): void {
  // {{sh value}}: one shell word, single-quoted.
  hb.registerHelper('sh', (value: unknown) => shellQuote(stringOf('sh', value)));
  // {{json value}}: JSON text (also a valid YAML flow scalar / sequence / mapping).
  hb.registerHelper('json', (value: unknown) => {
    if (value === undefined) throw new BootstrapRenderError('helper json: value is undefined');
    return JSON.stringify(value);
  });
  // {{indent n text}}: indents every line but the first by n spaces (for YAML block scalars).
  hb.registerHelper('indent', (n: unknown, text: unknown) => {
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
      throw new BootstrapRenderError(`helper indent: width must be a non-negative integer; got ${String(n)}`);
    }
    const pad = ' '.repeat(n);
    return stringOf('indent', text)
      .split('\n')
      .map((line, i) => (i === 0 || line === '' ? line : pad + line))
      .join('\n');
  });
  // {{gzb64 text}}: gzip + base64 (for write_files `encoding: gz+b64`).
  hb.registerHelper('gzb64', (text: unknown) => gzipBase64(stringOf('gzb64', text)));
  // {{eq a b}}: strict equality, for {{#if (eq mode "download")}}.
  hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  // `if`/`unless`/`each`/`with` reject an undefined argument: Handlebars' strict mode does not check
  // helper arguments, and a misspelt field must not silently render the else branch.
  for (const name of ['if', 'unless', 'each', 'with']) {
    const original = hb.helpers[name] as Handlebars.HelperDelegate;
    hb.registerHelper(name, function (this: unknown, ...args: unknown[]) {
      if (args.length < 2 || args[0] === undefined) {
        const loc = (args[args.length - 1] as { loc?: { start?: { line?: number } } })?.loc?.start?.line;
        throw new BootstrapRenderError(`{{#${name}}} argument is undefined (line ${loc ?? '?'}): the context lacks the field`);
      }
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    });
  }
  // {{join list sep}}
  hb.registerHelper('join', (list: unknown, separator: unknown) => {
    if (!Array.isArray(list)) throw new BootstrapRenderError('helper join: first argument must be an array');
    return list.map((v) => stringOf('join', v)).join(typeof separator === 'string' ? separator : ' ');
  });
}

function stringOf(helper: string, value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new BootstrapRenderError(`helper ${helper}: expected a string or number; got ${value === undefined ? 'undefined' : typeof value}`);
}

// ---------------------------------------------------------------------------------------------
// User-data assembly

/**
 * gzip (fixed header: no file name, mtime 0, so the output depends only on the input) then base64,
 * for cloud-init's `write_files` `encoding: gz+b64`; computed once per distinct text per process. Never use it on text that holds a placeholder:
 * Heat could not substitute inside it.
 */
export function gzipBase64(text: string): string {
  const cached = gzipMemo.get(text);
  if (cached !== undefined) return cached;
  const found = findPlaceholders(text);
  if (found.length > 0) {
    throw new BootstrapRenderError(
      `cannot compress text that holds deploy-time placeholders (${found.join(', ')}): Heat's str_replace could not reach them`,
    );
  }
  // Node's gzip writes mtime 0 and no name; level fixed so output is stable across runs.
  const b64 = gzipSync(Buffer.from(text, 'utf8'), { level: 9 }).toString('base64');
  gzipMemo.set(text, b64);
  return b64;
}

/**
 * Compressed texts by content: every worker group and master carries the same libraries and manifests, and
 * the output depends only on the text.
 */
const gzipMemo = new BoundedMemo<string>();

/**
 * Builds a MIME multipart/mixed user-data the way `cloud-init devel make-mime` does, with a
 * boundary derived from the parts' content (deterministic). Content must be ASCII (7bit).
 */
export function buildMultipart(parts: readonly UserDataPart[]): string {
  if (parts.length === 0) throw new BootstrapRenderError('multipart user-data needs at least one part; got none');
  const seen = new Set<string>();
  for (const p of parts) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(p.filename)) {
      throw new BootstrapRenderError(
        `user-data part file name must be letters, digits, '.', '_' or '-'; got ${JSON.stringify(p.filename)}`,
      );
    }
    if (seen.has(p.filename)) throw new BootstrapRenderError(`user-data part file name ${p.filename} is used twice`);
    seen.add(p.filename);
    const bad = /[^\x09\x0a\x20-\x7e]/.exec(p.content);
    if (bad) {
      throw new BootstrapRenderError(
        `user-data part ${p.filename} must be printable ASCII (7bit); found code point ${bad[0].codePointAt(0)} at offset ${bad.index}`,
      );
    }
    if (p.contentType === 'text/cloud-config' && !p.content.startsWith('#cloud-config\n')) {
      throw new BootstrapRenderError(`user-data part ${p.filename} is text/cloud-config and must start with "#cloud-config"`);
    }
    if (p.contentType === 'text/x-shellscript' && !p.content.startsWith('#!')) {
      throw new BootstrapRenderError(`user-data part ${p.filename} is text/x-shellscript and must start with "#!"`);
    }
  }
  const hash = createHash('sha256');
  for (const p of parts) hash.update(p.filename).update('\0').update(p.content).update('\0');
  const boundary = `==hotk8s-${hash.digest('hex').slice(0, 24)}==`;
  const lines: string[] = [`Content-Type: multipart/mixed; boundary="${boundary}"`, 'MIME-Version: 1.0', ''];
  for (const p of parts) {
    const body = p.content.endsWith('\n') ? p.content : `${p.content}\n`;
    lines.push(
      `--${boundary}`,
      `Content-Type: ${p.contentType}; charset="us-ascii"`,
      'MIME-Version: 1.0',
      'Content-Transfer-Encoding: 7bit',
      `Content-Disposition: attachment; filename="${p.filename}"`,
      '',
      body,
    );
  }
  lines.push(`--${boundary}--`, '');
  return lines.join('\n');
}

/** Wraps rendered text as a {@link RenderedUserData}, listing its placeholders. */
export function userData(role: NodeRole, text: string): RenderedUserData {
  return { role, text, placeholders: findPlaceholders(text) };
}

/** Bytes of user-data as Nova receives it (base64 of the UTF-8 text); Nova's limit is 65535. */
export function base64Size(text: string): number {
  return Buffer.from(text, 'utf8').toString('base64').length;
}

/** Nova's limit on the base64-encoded user-data, in bytes. */
export const NOVA_USER_DATA_LIMIT = 65535;

// ---------------------------------------------------------------------------------------------
// The common shell library (templates/common/lib.sh.hbs). It holds no placeholder, so it travels
// gz+b64 in a cloud-config `write_files` entry (partial `common/write-files-lib.yaml`, needs the
// fields of `commonTemplateFields()`), and every role's script starts with the partial
// `common/preamble.sh` (sets HK_NODE and HK_SIGNAL from placeholders, then sources the library).
// The library gives: `phase NAME`, `retry [-m TEXT] MAX_SECONDS CMD...`, `fail REASON`,
// `finish [DATA]` (SUCCESS signal), a trap that signals FAILURE naming the node and phase
// ("etcd-2: health: peers not healthy after 300 s"), `HK_CLEANUP+=(file)` (removed on exit) and
// `block_metadata_from_pods`. Shell parts run in cloud-init's final stage, after write_files.

/** Synth-time values of the common shell library. */
export interface CommonContext {
  readonly role: NodeRole;
  /** The pod network (flannel's CIDR); traffic from it to 169.254.169.254 is dropped. */
  readonly podCidr: string;
}

/** Deploy-time placeholders the common library uses; each role's user-data contains both. */
export const COMMON_PLACEHOLDERS = {
  /** The node's name, used in signal reasons ("etcd-2: health: ..."), e.g. `etcd-0`, `master-1`. */
  nodeName: placeholder('NODE_NAME'),
  /**
   * The WaitConditionHandle's `curl_cli` attribute: a command prefix
   * (`curl -i -X POST -H 'X-Auth-Token: ...' -H 'Content-Type: application/json' ... URL`); the script appends
   * `--data-binary '{"status": ...}'`.
   */
  signalCurl: placeholder('SIGNAL_CURL'),
} as const;

const IPV4_CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/** Checks an IPv4 CIDR (`10.244.0.0/16`): octets 0-255, prefix 0-32, no host bits set. */
export function checkIpv4Cidr(what: string, value: string): void {
  const m = IPV4_CIDR.exec(value);
  const octets = m ? m.slice(1, 5).map(Number) : [];
  const prefix = m ? Number(m[5]) : -1;
  if (!m || octets.some((o) => o > 255) || prefix > 32) {
    throw new BootstrapRenderError(`${what} must be an IPv4 CIDR like 10.244.0.0/16; got ${JSON.stringify(value)}`);
  }
  const addr = octets.reduce((a, o) => a * 256 + o, 0);
  const hostBits = 2 ** (32 - prefix);
  if (addr % hostBits !== 0) {
    throw new BootstrapRenderError(`${what} must not have host bits set (the network address of /${prefix}); got ${value}`);
  }
}

/** Where the common library is written on every node. */
export const COMMON_LIBRARY_PATH = '/usr/local/lib/hotk8s/lib.sh';

/**
 * Keystone's token lifetime the signal path depends on. A WaitConditionHandle with `signal_transport: TOKEN_SIGNAL`
 * (Heat's default, what the nodes use) gets, when Heat creates it, a Keystone token of its stack-domain user, and
 * `curl_cli` is `curl -i -X POST -H 'X-Auth-Token: <that token>' ... <heat-api>/v1/<project>/stacks/<stack>/<id>/
 * resources/<handle>/signal`. Heat never renews the token, so Keystone refuses the signal once the token is older than
 * its `[token] expiration` (3600 s by default): a node still bootstrapping then cannot report, and the stack only
 * times out. The library bounds this: see SIGNAL_TOKEN_MARGIN_SEC.
 */
export const SIGNAL_TOKEN_LIFETIME_SEC = 3600;
/**
 * The signal watchdog fires this long before the token expires, counted from the node's boot (the handle, hence the
 * token, was made before the server): time for Nova to build the server before it boots, plus the signal's own
 * retries (120 s).
 */
export const SIGNAL_TOKEN_MARGIN_SEC = 420;

/** Renders the common shell library (placeholder-free bash). */
export function renderCommonLibrary(common: CommonContext): string {
  const text = renderTemplate('common/lib.sh', {
    ...common,
    signalTokenSec: SIGNAL_TOKEN_LIFETIME_SEC,
    signalMarginSec: SIGNAL_TOKEN_MARGIN_SEC,
  });
  const found = findPlaceholders(text);
  if (found.length > 0) throw new BootstrapRenderError(`common/lib.sh must not hold placeholders; found ${found.join(', ')}`);
  return text;
}

/** Fields the common partials need: `{{> common/preamble.sh}}` and `{{> common/write-files-lib.yaml}}`. */
export interface CommonTemplateFields {
  readonly libPath: string;
  /** The library, gzip + base64. */
  readonly libGzB64: string;
}

/** Computes {@link CommonTemplateFields}; spread them into a role template's context. */
export function commonTemplateFields(common: CommonContext): CommonTemplateFields {
  return { libPath: COMMON_LIBRARY_PATH, libGzB64: gzipBase64(renderCommonLibrary(common)) };
}

/** Builds (and checks) the common library's context. */
export function commonContext(role: NodeRole, podCidr: string): CommonContext {
  checkIpv4Cidr('podCidr', podCidr);
  return { role, podCidr };
}
