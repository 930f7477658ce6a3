/**
 * Real boots under qemu (TCG: no KVM here): Debian 12 VMs built by scripts/vm-image boot the library's
 * real user-data from a NoCloud seed disk, under systemd and the real cloud-init.
 *
 * Networking stays inside: every qemu process runs in a network namespace this code creates (loopback
 * only) and deletes. The VMs share a private LAN that exists only between the qemu processes (a
 * multicast socket netdev on that namespace's loopback); host services (the fake Heat signal endpoint,
 * a file mirror) are reached through user-mode networking with `restrict=on` and a `guestfwd` that runs
 * fake-heat-stdio.py for each connection (no host port at all). The test drives each guest through a
 * root shell on a virtio serial port (a unix socket on the host), not the network.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(HERE, '../../..');
export const HEAT_ADDRESS = '10.0.2.100';
export const HEAT_PORT = 8004;

export function run(cmd: string, args: readonly string[], opts: { allowFail?: boolean; input?: string } = {}) {
  const r = spawnSync(cmd, args as string[], { encoding: 'utf8', input: opts.input, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new Error(`cannot run ${cmd}: ${r.error.message}`);
  if (r.status !== 0 && !opts.allowFail) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status}): ${r.stderr}`);
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Problems that make real boots impossible here, as sentences (empty when they can run). */
export function vmPrerequisites(): string[] {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('real boots need root (network namespaces, debootstrap)');
  for (const cmd of ['qemu-system-x86_64', 'qemu-img', 'mkfs.vfat', 'mcopy', 'ip', 'debootstrap', 'mke2fs']) {
    if (spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0)
      missing.push(`command ${cmd} is not installed (scripts/prepare-test-env.sh)`);
  }
  return missing;
}

/** The image directory of a role (built by scripts/vm-image when missing: about 10 minutes, cached). */
export function ensureImage(role: 'etcd' | 'kube' = 'etcd'): string {
  const r = spawnSync('bash', [join(REPO_ROOT, 'scripts/vm-image'), role], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 3_000_000,
  });
  if (r.status !== 0) throw new Error(`scripts/vm-image failed (status ${r.status}, signal ${r.signal})`);
  const dir = r.stdout.trim().split('\n').pop() as string;
  for (const f of ['rootfs.img', 'vmlinuz', 'initrd.img']) if (!existsSync(join(dir, f))) throw new Error(`image ${dir} lacks ${f}`);
  return dir;
}

export interface Signal {
  readonly node: string;
  readonly tokenOk: boolean;
  readonly time: number;
  readonly status?: string;
  readonly reason?: string;
  readonly data?: string;
}

/** A LAN and a fake Heat for a set of VMs, in a network namespace of its own. */
export class VmLab {
  readonly id = randomBytes(3).toString('hex');
  readonly ns = `hk8s-vm-${this.id}`;
  readonly dir = join(tmpdir(), `hk8s-vm-${this.id}`);
  readonly record = join(this.dir, 'signals.jsonl');
  readonly tokensFile = join(this.dir, 'tokens.json');
  readonly mcast: string;
  readonly subnet = '10.77.0';
  private readonly tokens: Record<string, string> = {};
  readonly vms: Vm[] = [];

  constructor(readonly image: string) {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    writeFileSync(this.record, '');
    writeFileSync(this.tokensFile, '{}');
    const b = randomBytes(3);
    this.mcast = `239.255.${b[0]}.${b[1]}:${20000 + ((b[2] as number) % 200) * 10}`;
    run('ip', ['netns', 'add', this.ns]);
    run('ip', ['-n', this.ns, 'link', 'set', 'lo', 'up']);
    run('ip', ['-n', this.ns, 'link', 'set', 'lo', 'multicast', 'on']);
    run('ip', ['-n', this.ns, 'route', 'add', '224.0.0.0/4', 'dev', 'lo']);
    // An interrupted run (Ctrl-C, a killed worker) still stops its VMs and removes its namespace.
    const stopAll = (): void => {
      for (const vm of this.vms) vm.killNow();
      spawnSync('ip', ['netns', 'del', this.ns]);
    };
    process.once('exit', stopAll);
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      process.once(sig, () => {
        stopAll();
        process.exit(1);
      });
    }
  }

  address(i: number): string {
    return `${this.subnet}.${10 + i}`;
  }

  /** The curl_cli-shaped command Heat substitutes for __SIGNAL_CURL__, with a per-node token. */
  signalCurl(node: string): string {
    this.tokens[node] ??= `tok-${randomBytes(8).toString('hex')}`;
    writeFileSync(this.tokensFile, JSON.stringify(this.tokens));
    return `curl -i -X POST -H 'X-Auth-Token: ${this.tokens[node]}' -H 'Content-Type: application/json' -H 'Accept: application/json' http://${HEAT_ADDRESS}:${HEAT_PORT}/v1/signal/${node}`;
  }

  signals(): Signal[] {
    return readFileSync(this.record, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Signal);
  }

  /** Stops every VM (by its qemu PID) and deletes the namespace and the work directory. */
  async cleanup(): Promise<string[]> {
    const problems: string[] = [];
    for (const vm of this.vms) await vm.kill();
    const r = run('ip', ['netns', 'del', this.ns], { allowFail: true });
    if (r.status !== 0) problems.push(`ip netns del ${this.ns}: ${r.stderr.trim()}`);
    if (!process.env.HOTK8S_VM_KEEP) rmSync(this.dir, { recursive: true, force: true });
    return problems;
  }
}

export interface VmOptions {
  readonly name: string;
  /** Index on the LAN: address 10.77.0.<10+index>. */
  readonly index: number;
  readonly userData: string;
  /** NoCloud instance id; a new one for a replacement server. */
  readonly instanceId: string;
  /** @default 448 */
  readonly memoryMiB?: number;
}

/** One VM: its disk (a qcow2 overlay on the image), its seed, its qemu process and its shell. */
export class Vm {
  readonly dir: string;
  readonly disk: string;
  readonly console: string;
  readonly shellPath: string;
  private proc?: ChildProcess;
  private exited?: Promise<void>;
  startedAt = 0;
  private shellSeq = 0;

  constructor(
    readonly lab: VmLab,
    readonly opts: VmOptions,
    generation = 0,
  ) {
    this.dir = join(lab.dir, `${opts.name}-${generation}`);
    mkdirSync(this.dir, { recursive: true });
    this.disk = join(this.dir, 'disk.qcow2');
    this.console = join(this.dir, 'console.log');
    this.shellPath = join(this.dir, 'shell.sock');
    run('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', join(lab.image, 'rootfs.img'), this.disk]);
    const seed = join(this.dir, 'seed');
    mkdirSync(seed);
    writeFileSync(join(seed, 'user-data'), opts.userData);
    writeFileSync(join(seed, 'meta-data'), `instance-id: ${opts.instanceId}\nlocal-hostname: ${opts.name}\n`);
    run('mkfs.vfat', ['-n', 'CIDATA', '-C', join(this.dir, 'seed.img'), '1024']);
    run('mcopy', ['-i', join(this.dir, 'seed.img'), join(seed, 'user-data'), join(seed, 'meta-data'), '::']);
    rmSync(seed, { recursive: true });
    lab.vms.push(this);
  }

  /** Starts qemu (the VM boots). */
  start(): void {
    const o = this.opts;
    const mac = (n: number) => `52:54:00:77:${n.toString(16).padStart(2, '0')}:${(10 + o.index).toString(16).padStart(2, '0')}`;
    const heat = `cmd:/usr/bin/python3 ${join(HERE, 'fake-heat-stdio.py')} ${this.lab.record} ${this.lab.tokensFile}`;
    const args = [
      '-accel',
      'tcg,tb-size=128', // the translation cache; qemu's default (1 GiB) would triple each VM's memory
      '-machine',
      'q35',
      '-cpu',
      'qemu64', // x86-64 baseline: no extensions TCG emulates slowly
      '-smp',
      '1',
      '-m',
      String(o.memoryMiB ?? 448),
      '-nodefaults',
      '-display',
      'none',
      '-serial',
      `file:${this.console}`,
      '-kernel',
      join(this.lab.image, 'vmlinuz'),
      '-initrd',
      join(this.lab.image, 'initrd.img'),
      '-append',
      // no_timer_check: a loaded host can make the kernel's IO-APIC timer check fail (a panic at boot);
      // mitigations=off: page-table isolation and the like cost a lot under TCG, and this VM runs only our tests
      `console=ttyS0 root=/dev/vda rw net.ifnames=0 quiet no_timer_check mitigations=off systemd.show_status=0 ` +
        `hk.lan=${this.lab.address(o.index)}/24 hk.host=10.0.2.15/24`,
      '-drive',
      `file=${this.disk},if=virtio,format=qcow2,cache=unsafe`,
      '-drive',
      `file=${join(this.dir, 'seed.img')},if=virtio,format=raw,readonly=on`,
      '-netdev',
      `socket,id=lan,mcast=${this.lab.mcast},localaddr=127.0.0.1`,
      '-device',
      `virtio-net-pci,netdev=lan,mac=${mac(1)}`,
      '-netdev',
      `user,id=host,restrict=on,ipv6=off,net=10.0.2.0/24,host=10.0.2.2,guestfwd=tcp:${HEAT_ADDRESS}:${HEAT_PORT}-${heat}`,
      '-device',
      `virtio-net-pci,netdev=host,mac=${mac(2)}`,
      '-device',
      'virtio-serial-pci',
      '-chardev',
      `socket,id=shell,path=${this.shellPath},server=on,wait=off`,
      '-device',
      'virtserialport,chardev=shell,name=hk.shell',
      '-device',
      'virtio-rng-pci',
    ];
    this.startedAt = Date.now();
    const proc = spawn('ip', ['netns', 'exec', this.lab.ns, 'qemu-system-x86_64', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    this.exited = new Promise((res) =>
      proc.on('exit', () => {
        if (stderr) writeFileSync(join(this.dir, 'qemu.stderr'), stderr);
        res();
      }),
    );
    this.proc = proc;
  }

  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Kills qemu at once, without waiting (process exit). */
  killNow(): void {
    if (this.running) this.proc?.kill('SIGKILL');
  }

  /** Kills qemu (power off, no shutdown) and waits for it. */
  async kill(): Promise<void> {
    if (this.running && this.proc?.pid) {
      this.proc.kill('SIGKILL');
      await this.exited;
    }
  }

  consoleText(): string {
    return existsSync(this.console) ? readFileSync(this.console, 'utf8') : '';
  }

  /**
   * Runs a shell command in the guest as root (through the virtio serial shell) and returns its output
   * and exit status. Waits for the shell to come up, within `timeoutSec`.
   */
  async sh(command: string, timeoutSec = 300): Promise<{ status: number; out: string }> {
    const deadline = Date.now() + timeoutSec * 1000;
    const marker = `__HK_${randomBytes(4).toString('hex')}_${this.shellSeq++}__`;
    for (;;) {
      try {
        return await this.shOnce(command, marker, deadline);
      } catch (e) {
        if (Date.now() > deadline) throw new Error(`guest shell of ${this.opts.name}: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
  }

  private shOnce(command: string, marker: string, deadline: number): Promise<{ status: number; out: string }> {
    return new Promise((res, rej) => {
      if (!existsSync(this.shellPath)) return rej(new Error('no shell socket yet'));
      const sock: Socket = connect(this.shellPath);
      let buf = '';
      const timer = setTimeout(
        () => {
          sock.destroy();
          rej(new Error(`no answer to ${JSON.stringify(command.slice(0, 80))}`));
        },
        Math.max(1000, Math.min(deadline - Date.now(), 600_000)),
      );
      const probe = setInterval(() => sock.write(`echo ${marker}_ALIVE\n`), 3000);
      let ready = false;
      sock.on('error', (e) => {
        clearTimeout(timer);
        clearInterval(probe);
        rej(e);
      });
      sock.on('connect', () => sock.write(`echo ${marker}_ALIVE\n`));
      sock.on('data', (d: Buffer) => {
        buf += d.toString('utf8');
        if (!ready && buf.includes(`${marker}_ALIVE`)) {
          ready = true;
          clearInterval(probe);
          buf = '';
          // The command travels base64-encoded (no quoting) and runs under the guest's timeout, so a command
          // that outlives the host's wait cannot keep this shell busy for the next one.
          const guestLimit = Math.max(5, Math.floor((deadline - Date.now()) / 1000) - 5);
          const b64 = Buffer.from(command, 'utf8').toString('base64');
          sock.write(
            `printf %s ${b64} | base64 -d >/run/hk-vm-cmd; timeout -k 5 ${guestLimit} bash /run/hk-vm-cmd </dev/null 2>&1; echo "${marker} $?"\n`,
          );
          return;
        }
        const m = new RegExp(`${marker} (\\d+)\\n`).exec(buf);
        if (ready && m) {
          clearTimeout(timer);
          sock.end();
          res({ status: Number(m[1]), out: buf.slice(0, m.index) });
        }
      });
    });
  }
}

/** Polls `probe` every 2 s until it returns a value, within `seconds`. */
export async function waitUntil<T>(what: string, seconds: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${seconds} s`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}
