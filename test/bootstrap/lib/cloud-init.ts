/**
 * Static checks of user-data with the real tools: cloud-init's own Python splits it, `cloud-init
 * schema` validates each cloud-config (plus our own check that rejects unknown top-level keys, which
 * cloud-init accepts), shellcheck checks every shell part and every script in write_files, and the
 * size is measured as Nova measures it. Used for every role (etcd, master, worker).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import yaml from 'js-yaml';

/** Debian's interpreter: it has cloud-init's modules (a pyenv python3 on PATH does not). */
export const DEBIAN_PYTHON = '/usr/bin/python3';
export const NOVA_USER_DATA_LIMIT = 65535;
const TOOL = join(dirname(fileURLToPath(import.meta.url)), 'cloudinit_tool.py');

/** One part of user-data as cloud-init sees it. */
export interface UserDataPart {
  readonly contentType: string;
  readonly filename: string | null;
  readonly content: string;
}

/** Fails with a message naming the missing prerequisite (never a silent skip). */
export function requireTool(command: string, hint = 'run scripts/prepare-test-env.sh'): void {
  const r = spawnSync('sh', ['-c', `command -v "$1"`, 'sh', command], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`prerequisite missing: command '${command}' not found (${hint})`);
}

function run(cmd: string, args: string[], input?: string): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new Error(`cannot run ${cmd}: ${r.error.message}`);
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Splits user-data exactly as cloud-init does at boot (its UserDataProcessor). */
export function splitUserData(text: string): UserDataPart[] {
  const r = run(DEBIAN_PYTHON, [TOOL, 'split'], text);
  if (r.status !== 0) throw new Error(`cloud-init could not split the user-data: ${r.stderr}`);
  return JSON.parse(r.stdout) as UserDataPart[];
}

let schemaKeys: Set<string> | undefined;
/** Every top-level key cloud-init's schema knows (its modules' properties). */
export function cloudInitSchemaKeys(): Set<string> {
  if (!schemaKeys) {
    const r = run(DEBIAN_PYTHON, [TOOL, 'schema-keys']);
    if (r.status !== 0) throw new Error(`cannot read cloud-init's schema: ${r.stderr}`);
    schemaKeys = new Set(JSON.parse(r.stdout) as string[]);
  }
  return schemaKeys;
}

/** Problems of one cloud-config: `cloud-init schema` errors and top-level keys the schema does not know. */
export function checkCloudConfig(content: string, label: string): string[] {
  const problems: string[] = [];
  if (!content.startsWith('#cloud-config')) problems.push(`${label}: does not start with #cloud-config`);
  let doc: unknown;
  try {
    doc = yaml.load(content);
  } catch (e) {
    return [...problems, `${label}: not YAML: ${(e as Error).message}`];
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return [...problems, `${label}: not a YAML mapping`];
  const known = cloudInitSchemaKeys();
  for (const key of Object.keys(doc)) {
    if (!known.has(key)) problems.push(`${label}: unknown top-level key '${key}' (cloud-init ignores it silently)`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'hk8s-schema-'));
  try {
    const file = join(dir, 'cloud-config.yaml');
    writeFileSync(file, content);
    const r = run('cloud-init', ['schema', '-c', file]);
    if (r.status !== 0 || !/Valid cloud-config/.test(r.stdout + r.stderr)) {
      problems.push(`${label}: cloud-init schema: ${(r.stdout + r.stderr).trim()}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return problems;
}

/** shellcheck findings for one script (empty when clean). */
export function shellcheck(content: string, label: string): string[] {
  const shell = /^#!.*\b(sh|dash)\b\s*$/m.test(content.split('\n')[0] ?? '') ? 'sh' : 'bash';
  const r = run('shellcheck', ['--format=gcc', `--shell=${shell}`, '-'], content);
  if (r.status === 0) return [];
  return r.stdout
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => `${label}: ${l.replace(/^-:/, 'line ')}`);
}

/** A write_files entry, decoded. */
export interface WrittenFile {
  readonly path: string;
  readonly content: string;
  readonly permissions?: string;
  readonly owner?: string;
  readonly defer?: boolean;
}

/** Decodes the write_files entries of a cloud-config (text, b64, gz+b64). */
export function writeFilesOf(cloudConfig: string): WrittenFile[] {
  const doc = yaml.load(cloudConfig) as { write_files?: Record<string, unknown>[] } | null;
  return (doc?.write_files ?? []).map((f) => {
    const raw = String(f['content'] ?? '');
    const enc = String(f['encoding'] ?? 'text');
    let content: string;
    if (enc === 'gz+b64' || enc === 'gzip+base64' || enc === 'gz+base64' || enc === 'gzip+b64') {
      content = gunzipSync(Buffer.from(raw, 'base64')).toString('utf8');
    } else if (enc === 'b64' || enc === 'base64') {
      content = Buffer.from(raw, 'base64').toString('utf8');
    } else content = raw;
    return {
      path: String(f['path']),
      content,
      ...(f['permissions'] !== undefined ? { permissions: String(f['permissions']) } : {}),
      ...(f['owner'] !== undefined ? { owner: String(f['owner']) } : {}),
      ...(f['defer'] !== undefined ? { defer: Boolean(f['defer']) } : {}),
    };
  });
}

/** The result of checking one user-data. */
export interface StaticReport {
  readonly parts: UserDataPart[];
  readonly problems: string[];
  /** Scripts checked with shellcheck (shell parts and write_files scripts). */
  readonly scriptsChecked: string[];
  readonly cloudConfigsChecked: string[];
}

/**
 * Every static check of one user-data: split as cloud-init does; each cloud-config passes the schema
 * with unknown keys rejected; each shell part and each write_files file that starts with a shebang
 * passes shellcheck; part types are ones cloud-init runs.
 */
export function staticCheckUserData(text: string, label: string): StaticReport {
  const parts = splitUserData(text);
  const problems: string[] = [];
  const scriptsChecked: string[] = [];
  const cloudConfigsChecked: string[] = [];
  if (parts.length === 0) problems.push(`${label}: cloud-init found no parts`);
  for (const [i, p] of parts.entries()) {
    const name = `${label}/${p.filename ?? `part-${i}`}`;
    if (p.contentType === 'text/cloud-config') {
      cloudConfigsChecked.push(name);
      problems.push(...checkCloudConfig(p.content, name));
      let files: WrittenFile[] = [];
      try {
        files = writeFilesOf(p.content);
      } catch (e) {
        problems.push(`${name}: write_files cannot be decoded: ${(e as Error).message}`);
      }
      for (const f of files) {
        if (/^#!\s*\/(usr\/)?bin\/(env\s+)?(ba)?sh\b/.test(f.content)) {
          scriptsChecked.push(`${name}:${f.path}`);
          problems.push(...shellcheck(f.content, `${name}:${f.path}`));
        }
      }
    } else if (p.contentType === 'text/x-shellscript') {
      scriptsChecked.push(name);
      problems.push(...shellcheck(p.content, name));
    } else {
      problems.push(`${name}: part type ${p.contentType} is not one hotk8s renders (cloud-config or shell script)`);
    }
  }
  return { parts, problems, scriptsChecked, cloudConfigsChecked };
}

/** Bytes Nova counts: the base64 encoding of the user-data. */
export function novaSize(text: string): number {
  return Buffer.from(text, 'utf8').toString('base64').length;
}

/**
 * Shell parts in the order cloud-init's final stage runs them (scripts-user: sorted by file name,
 * not MIME order).
 */
export function shellPartsInRunOrder(parts: readonly UserDataPart[]): UserDataPart[] {
  return parts
    .filter((p) => p.contentType === 'text/x-shellscript')
    .slice()
    .sort((a, b) => (a.filename ?? '').localeCompare(b.filename ?? ''));
}

/** Runs cloud-init's write_files module code for a cloud-config (in whatever root/namespace the caller runs). */
export function writeFilesCommand(): string[] {
  return [DEBIAN_PYTHON, TOOL, 'write-files'];
}
