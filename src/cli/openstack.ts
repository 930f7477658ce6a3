import { execFile } from 'node:child_process';
import { HotError } from '../core/errors.js';

/**
 * The `openstack` client as the day-2 commands use it: one process per call, arguments as an array (no shell), the
 * credentials from the caller's environment (`OS_*` or `OS_CLOUD`). The executable is `--openstack`, else
 * `$HOTK8S_OPENSTACK`, else `openstack` on the PATH, so tests put a recording fake in its place.
 */
export class OpenStackCli {
  readonly executable: string;

  constructor(executable?: string) {
    this.executable = executable ?? process.env.HOTK8S_OPENSTACK ?? 'openstack';
  }

  /** Run `openstack ARGS`; resolves to its standard output, rejects with a HotError quoting its standard error. */
  run(args: readonly string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(this.executable, [...args], { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
        const why = missing
          ? `the openstack client (${this.executable}) is not installed or not on the PATH (Debian: apt install python3-openstackclient)`
          : `failed: ${(stderr || error.message).trim().split('\n').slice(-3).join(' ')}`;
        reject(new HotError(`openstack ${args.join(' ')}`, why));
      });
    });
  }

  /** Run a listing command with `-f json`; resolves to its rows. */
  async list(args: readonly string[]): Promise<Record<string, unknown>[]> {
    const text = await this.run([...args, '-f', 'json']);
    const rows: unknown = JSON.parse(text.trim() === '' ? '[]' : text);
    if (!Array.isArray(rows)) throw new HotError(`openstack ${args.join(' ')}`, 'expected a JSON list');
    return rows as Record<string, unknown>[];
  }

  /** A stack output's value (`openstack stack output show STACK NAME -f value -c output_value`). */
  async stackOutput(stack: string, output: string): Promise<string> {
    return (await this.run(['stack', 'output', 'show', stack, output, '-f', 'value', '-c', 'output_value'])).trim();
  }
}
