/**
 * Network namespaces for "VM" tests: a hub namespace with a bridge, members attached by veth pairs.
 * Addresses (10.x) exist only inside these namespaces. Every namespace and process is recorded so
 * `cleanup()` stops processes by PID and deletes namespaces by exact name, even after a failure.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export function sh(
  cmd: string,
  args: readonly string[],
  opts: { input?: string; allowFail?: boolean } = {},
): { status: number; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync(cmd, args as string[], {
      input: opts.input,
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
      maxBuffer: 32 * 1024 * 1024,
    });
    return { status: 0, stdout, stderr: '' };
  } catch (e) {
    const err = e as { status?: number; stdout?: string; stderr?: string; message: string };
    if (!opts.allowFail) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${err.status}): ${err.stderr ?? err.message}`);
    return { status: err.status ?? -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

export class TestNetwork {
  readonly id = randomBytes(3).toString('hex');
  readonly prefix = `hk8s-etcd-${this.id}`;
  /** 10.<a>.<b>.0/24, chosen at random, only inside our namespaces. */
  readonly subnet: string;
  readonly hub: string;
  readonly namespaces: string[] = [];
  readonly pids = new Set<number>();
  private readonly children: ChildProcess[] = [];

  constructor() {
    const b = randomBytes(2);
    // 10.200-239.x: clear of the usual pod (10.244/16) and service (10.96/12) ranges.
    this.subnet = `10.${200 + ((b[0] as number) % 40)}.${b[1] as number}`;
    this.hub = `${this.prefix}-hub`;
  }

  get hubAddress(): string {
    return `${this.subnet}.1`;
  }

  memberAddress(i: number): string {
    return `${this.subnet}.${10 + i}`;
  }

  memberNs(i: number): string {
    return `${this.prefix}-${i}`;
  }

  private addNs(name: string): void {
    sh('ip', ['netns', 'add', name]);
    this.namespaces.push(name);
    sh('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  }

  createHub(): void {
    this.addNs(this.hub);
    sh('ip', ['-n', this.hub, 'link', 'add', 'br0', 'type', 'bridge']);
    sh('ip', ['-n', this.hub, 'addr', 'add', `${this.hubAddress}/24`, 'dev', 'br0']);
    sh('ip', ['-n', this.hub, 'link', 'set', 'br0', 'up']);
  }

  addMember(i: number): string {
    const ns = this.memberNs(i);
    this.addNs(ns);
    sh('ip', ['-n', this.hub, 'link', 'add', `m${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    sh('ip', ['-n', this.hub, 'link', 'set', `m${i}`, 'master', 'br0', 'up']);
    sh('ip', ['-n', ns, 'addr', 'add', `${this.memberAddress(i)}/24`, 'dev', 'eth0']);
    sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    sh('ip', ['-n', ns, 'route', 'add', 'default', 'via', this.hubAddress]);
    return ns;
  }

  /** Starts a long-running process in a namespace (detached, own process group); records its PID. */
  spawnIn(ns: string, argv: readonly string[], logFile?: string): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, ...argv], {
      detached: true,
      stdio: ['ignore', logFile ? 'pipe' : 'ignore', logFile ? 'pipe' : 'ignore'],
    });
    if (child.pid) this.pids.add(child.pid);
    this.children.push(child);
    return child;
  }

  /** Runs a command in a namespace to completion. */
  exec(
    ns: string,
    argv: readonly string[],
    opts: { input?: string; allowFail?: boolean } = {},
  ): { status: number; stdout: string; stderr: string } {
    return sh('ip', ['netns', 'exec', ns, ...argv], opts);
  }

  trackPid(pid: number): void {
    this.pids.add(pid);
  }

  /** Stops every recorded process by PID, then deletes every namespace by its exact name. */
  async cleanup(): Promise<string[]> {
    const problems: string[] = [];
    for (const pid of this.pids) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
    const deadline = Date.now() + 10_000;
    for (const pid of this.pids) {
      while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      if (alive(pid)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    for (const ns of [...this.namespaces].reverse()) {
      const r = sh('ip', ['netns', 'del', ns], { allowFail: true });
      if (r.status !== 0) problems.push(`ip netns del ${ns}: ${r.stderr.trim()}`);
    }
    this.namespaces.length = 0;
    return problems;
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie still answers kill 0; treat it as gone.
  try {
    const stat = execFileSync('cat', [`/proc/${pid}/stat`], { encoding: 'utf8' });
    return !/^\d+ \(.*\) Z /.test(stat);
  } catch {
    return false;
  }
}

export function listNamespaces(): string[] {
  return sh('ip', ['netns', 'list'])
    .stdout.split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n !== '');
}
