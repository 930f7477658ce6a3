import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import yaml from 'js-yaml';
import { HotError } from '../core/errors.js';
import { OpenStackCli } from './openstack.js';
import { readOutput } from './output.js';
import { reportError, type Io } from './report.js';

/**
 * `hotk8s update`: a stack update that rolls the etcd members and the masters one at a time, each next one only after
 * the one before reports healthy again. Heat pauses every etcd and master server after its update (a `post-update`
 * hook, set by an environment this command adds); the command reads the paused server's console log (Nova's), waits
 * for the node's health marker from a boot after the update started (or printed after the hook), then clears the hook.
 * A node that stays silent past the timeout stops the command with the hook left set: Heat goes no further.
 */
export interface UpdateArgs {
  /** The Heat stack name. */
  readonly stack: string;
  /** A root template to update to (nested templates beside it). @default - the stack's current template */
  readonly template?: string;
  /** A synth output directory to update to (its manifest's template and environments). */
  readonly out?: string;
  /** `KEY=VALUE` parameters (as `openstack stack update --parameter`). */
  readonly parameters?: readonly string[];
  /** Environment files (as `openstack stack update -e`). */
  readonly environments?: readonly string[];
  /** Seconds a paused node has to report healthy. @default 900 */
  readonly timeout?: number;
  /** Seconds between two looks at the stack. @default 5 */
  readonly poll?: number;
  readonly openstack?: string;
  readonly json?: boolean;
  readonly debug?: boolean;
}

/** The server resource of an etcd or master member template (node-group.ts). */
export const MEMBER_SERVER = 'Server';
/** The hook `hotk8s update` puts on every etcd and master server. */
export const HOOK = 'post-update';
/** The reason of Heat's event when a resource reaches a hook (heat/engine/resource.py `_break_if_required`). */
const HOOK_REASON = `paused until Hook ${HOOK} is cleared`;

export type GatedRole = 'etcd' | 'master';

/** A ResourceGroup of etcd members or masters that rolls one member at a time. */
export interface GatedGroup {
  /** Its logical id in the root template. */
  readonly name: string;
  readonly role: GatedRole;
}

const PAUSE_PARAMETER: Readonly<Record<string, GatedRole>> = { etcd_update_pause: 'etcd', master_update_pause: 'master' };

/**
 * The etcd and master groups of a root template: the ResourceGroups whose `rolling_update.pause_time` is the
 * `etcd_update_pause` or `master_update_pause` parameter (what Cluster writes; worker groups have their own).
 */
export function gatedGroups(rootTemplate: unknown, where = 'template'): GatedGroup[] {
  const resources = (rootTemplate as { resources?: Record<string, unknown> } | null)?.resources;
  if (!resources || typeof resources !== 'object') throw new HotError(where, 'a HOT template has a resources section; got none');
  const out: GatedGroup[] = [];
  for (const [name, r] of Object.entries(resources)) {
    const res = r as { type?: unknown; update_policy?: { rolling_update?: { pause_time?: unknown } } } | null;
    if (res?.type !== 'OS::Heat::ResourceGroup') continue;
    const pause = res.update_policy?.rolling_update?.pause_time as { get_param?: unknown } | undefined;
    const role = typeof pause?.get_param === 'string' ? PAUSE_PARAMETER[pause.get_param] : undefined;
    if (role) out.push({ name, role });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** The environment that pauses every member's server of the groups after its update (`hooks: post-update`). */
export function hookEnvironment(groups: readonly GatedGroup[]): string {
  const resources = Object.fromEntries(groups.map((g) => [g.name, { '*': { [MEMBER_SERVER]: { hooks: HOOK } } }]));
  return yaml.dump({ resource_registry: { resources } });
}

/** The environment that removes those hooks again from the stack's environment (a null entry deletes it in Heat). */
export function clearHookEnvironment(groups: readonly GatedGroup[]): string {
  const resources = Object.fromEntries(groups.map((g) => [g.name, { '*': { [MEMBER_SERVER]: null } }]));
  return yaml.dump({ resource_registry: { resources } });
}

/** One health marker line of a node's console (bootstrap lib.sh `install_health_marker`, the twin's nodes). */
export interface HealthMarker {
  readonly role: string;
  readonly node: string;
  readonly member: string;
  readonly boot: string;
  /** Seconds since the epoch, the node's clock. */
  readonly time: number;
}

const MARKER_RX = /hotk8s-health role=(\S+) node=(\S+) member=(\S+) boot=([0-9a-fA-F-]+) time=(\d+) healthy/g;

/** Every health marker in a console log, in order (other lines, and lines cut by the console's length, ignored). */
export function parseHealthMarkers(consoleLog: string): HealthMarker[] {
  return [...consoleLog.matchAll(MARKER_RX)].map((m) => ({ role: m[1]!, node: m[2]!, member: m[3]!, boot: m[4]!, time: Number(m[5]) }));
}

/**
 * The marker that shows the node healthy after its update: the last one of this node whose boot was not seen before
 * the update started (a rebuild, a resize or a replacement reboots the node), or printed at or after the hook (an
 * update that did not reboot it). Undefined when there is none yet.
 */
export function healthyAfter(
  markers: readonly HealthMarker[],
  node: { name: string; role: GatedRole },
  bootsBefore: ReadonlySet<string>,
  hookTime: number,
): HealthMarker | undefined {
  return [...markers]
    .reverse()
    .find((m) => m.node === node.name && m.role === node.role && (!bootsBefore.has(m.boot) || m.time >= Math.floor(hookTime)));
}

/**
 * The group and member index of a member's nested stack, from its name: Heat names a nested stack
 * `<parent stack name>-<resource name>-<short id>`, so a member's is `<root>-<group>-<id>-<index>-<id>`.
 */
export function memberOf(stackName: string, groups: readonly GatedGroup[]): { group: GatedGroup; index: string } | undefined {
  for (const group of groups) {
    const m = new RegExp(`-${group.name}-[a-z0-9]+-([^-]+)-[a-z0-9]+$`).exec(stackName);
    if (m) return { group, index: m[1]! };
  }
  return undefined;
}

interface Member {
  readonly group: GatedGroup;
  readonly index: string;
  /** The member's nested stack id (the hook is cleared on its Server). */
  readonly stackId: string;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v));
const field = (row: Record<string, unknown>, ...keys: string[]): string => str(keys.map((k) => row[k]).find((v) => v !== undefined));
/** An event or resource time (UTC, with or without a zone) in seconds since the epoch. */
const seconds = (t: string): number => Date.parse(/Z$|[+-]\d\d:?\d\d$/.test(t) ? t : `${t}Z`) / 1000;
const sleep = (s: number) => new Promise((r) => setTimeout(r, s * 1000));

/** The template and environments of `--out` (its manifest) or `--template`. */
function updateInputs(args: UpdateArgs): { template?: string; environments: string[] } {
  if (args.template && args.out) throw new HotError('hotk8s update', 'give --template or --out, not both');
  if (args.template) return { template: resolve(args.template), environments: [] };
  if (!args.out) return { environments: [] };
  const dir = resolve(args.out);
  const { manifest } = readOutput(dir);
  const stacks = manifest.stacks ?? [];
  const s = stacks.find((x) => x.name === args.stack) ?? (stacks.length === 1 ? stacks[0] : undefined);
  if (!s)
    throw new HotError(
      `--out ${args.out}`,
      `the manifest names one stack or one called ${args.stack}; got ${JSON.stringify(stacks.map((x) => x.name))}`,
    );
  return {
    template: join(dir, s.template),
    environments: [s.environment, s.secretEnvironment].filter((e): e is string => !!e).map((e) => join(dir, e)),
  };
}

/** The physical id of a resource of a stack (empty while it has none). */
async function physicalId(os: OpenStackCli, stack: string, resource: string): Promise<string> {
  return (await os.run(['stack', 'resource', 'show', stack, resource, '-f', 'value', '-c', 'physical_resource_id'])).trim();
}

/** The gated groups' members now: member stack ids, server physical ids and names. */
async function gatedMembers(os: OpenStackCli, stack: string, groups: readonly GatedGroup[]) {
  const members = new Map<string, Member>(); // member stack id -> member
  const servers = new Map<string, { member: Member; physicalId: string }>(); // member stack id -> its server
  for (const g of groups) {
    const groupStack = await physicalId(os, stack, g.name);
    if (!groupStack) continue;
    for (const row of await os.list(['stack', 'resource', 'list', groupStack, '-c', 'resource_name', '-c', 'physical_resource_id'])) {
      const id = field(row, 'physical_resource_id');
      if (id) members.set(id, { group: g, index: field(row, 'resource_name'), stackId: id });
    }
  }
  for (const m of members.values()) {
    const id = await physicalId(os, m.stackId, MEMBER_SERVER);
    if (id) servers.set(m.stackId, { member: m, physicalId: id });
  }
  return { members, servers };
}

/** The health markers in a server's console log (its last 200 lines). */
async function consoleMarkers(os: OpenStackCli, serverId: string): Promise<HealthMarker[]> {
  return parseHealthMarkers(await os.run(['console', 'log', 'show', '--lines', '200', serverId]));
}

interface Gate {
  readonly member: string;
  readonly role: GatedRole;
  readonly server: string;
  readonly serverId: string;
  readonly hookAt: string;
  readonly healthyAt: string;
  readonly boot: string;
  readonly waitedSec: number;
}

export async function runUpdate(args: UpdateArgs, io: Io): Promise<number> {
  const work = mkdtempSync(join(tmpdir(), 'hotk8s-update-'));
  try {
    const os = new OpenStackCli(args.openstack);
    const timeout = args.timeout ?? 900;
    const poll = args.poll ?? 5;
    if (!(timeout > 0)) throw new HotError('hotk8s update --timeout', `must be a positive number of seconds; got ${String(args.timeout)}`);
    const inputs = updateInputs(args);
    const rootTemplate = inputs.template
      ? (yaml.load(readFileSync(inputs.template, 'utf8')) as unknown)
      : (JSON.parse(await os.run(['stack', 'template', 'show', args.stack, '-f', 'json'])) as unknown);
    const groups = gatedGroups(rootTemplate, inputs.template ?? `stack ${args.stack}`);
    if (groups.length === 0)
      throw new HotError(
        inputs.template ?? `stack ${args.stack}`,
        'an update gated on health needs an etcd or master ResourceGroup rolling with etcd_update_pause or master_update_pause; found none',
      );
    const log = (t: string) => {
      if (!args.json) io.err(t);
    };

    // what the consoles showed before: a marker of one of these boots is not news
    const before = await gatedMembers(os, args.stack, groups);
    const bootsBefore = new Map<string, Set<string>>(); // server physical id -> boot ids
    for (const { physicalId } of before.servers.values()) {
      bootsBefore.set(physicalId, new Set((await consoleMarkers(os, physicalId)).map((m) => m.boot)));
    }

    const hooks = join(work, 'hotk8s-health-hooks.env.yaml');
    writeFileSync(hooks, hookEnvironment(groups));
    const update = ['stack', 'update', '--existing'];
    if (inputs.template) update.push('-t', inputs.template);
    for (const e of [...inputs.environments, ...(args.environments ?? []).map((e) => resolve(e))]) update.push('-e', e);
    update.push('-e', hooks);
    for (const p of args.parameters ?? []) update.push('--parameter', p);
    const startedAt = Date.now() / 1000;
    await os.run([...update, args.stack]);
    log(
      `hotk8s update: ${args.stack} updating; etcd and master members wait for their health marker (${groups.map((g) => g.name).join(', ')})`,
    );

    const gates: Gate[] = [];
    const handled = new Set<string>(); // hook event ids dealt with
    const waiting = new Map<string, { since: number; hookAt: string; member: Member; serverId: string; name?: string }>();
    let status = '';
    for (;;) {
      status = (await os.run(['stack', 'show', args.stack, '-f', 'value', '-c', 'stack_status'])).trim();
      const events = await os.list([
        'stack',
        'event',
        'list',
        args.stack,
        '--nested-depth',
        '3',
        '--filter',
        `resource_name=${MEMBER_SERVER}`,
      ]);
      for (const ev of events) {
        const id = field(ev, 'id');
        if (handled.has(id) || !field(ev, 'resource_status_reason').includes(HOOK_REASON)) continue;
        const at = seconds(field(ev, 'event_time'));
        if (at < startedAt - 5) continue; // a hook of an earlier update
        handled.add(id);
        const at_ = memberOf(field(ev, 'stack_name'), groups);
        if (!at_) continue; // not a member of a gated group (cannot happen with our environment)
        const find = (ms: Map<string, Member>) => [...ms.values()].find((m) => m.group.name === at_.group.name && m.index === at_.index);
        const member = find(before.members) ?? find((await gatedMembers(os, args.stack, groups)).members);
        if (!member)
          throw new HotError(
            `stack ${args.stack}`,
            `the member stack ${field(ev, 'stack_name')} paused at its hook is not in ${at_.group.name}`,
          );
        waiting.set(member.stackId, { since: at, hookAt: field(ev, 'event_time'), member, serverId: field(ev, 'physical_resource_id') });
      }
      for (const [stackId, w] of [...waiting]) {
        // the hook event names the server; when it does not, ask once
        w.serverId ||= await physicalId(os, stackId, MEMBER_SERVER);
        const serverId = w.serverId;
        w.name ??= (await os.run(['server', 'show', serverId, '-f', 'value', '-c', 'name'])).trim();
        const seen = { name: w.name, markers: await consoleMarkers(os, serverId) };
        const ok = healthyAfter(
          seen.markers,
          { name: seen.name, role: w.member.group.role },
          bootsBefore.get(serverId) ?? new Set(),
          w.since,
        );
        const what = `${w.member.group.role} member ${w.member.index} (${seen.name}, server ${serverId}, ${w.member.group.name}/${w.member.index}/${MEMBER_SERVER})`;
        if (ok) {
          await os.run(['stack', 'resource', 'signal', stackId, MEMBER_SERVER, '--data', JSON.stringify({ unset_hook: HOOK })]);
          const waited = Date.now() / 1000 - w.since;
          gates.push({
            member: w.member.index,
            role: w.member.group.role,
            server: seen.name,
            serverId,
            hookAt: w.hookAt,
            healthyAt: new Date(ok.time * 1000).toISOString(),
            boot: ok.boot,
            waitedSec: Math.round(waited),
          });
          log(`hotk8s update: ${what} healthy (boot ${ok.boot}) after ${waited.toFixed(0)} s: hook cleared`);
          waiting.delete(stackId);
        } else if (Date.now() / 1000 - w.since > timeout) {
          const last = seen.markers.at(-1);
          const clearFile = join(tmpdir(), `hotk8s-${args.stack}-clear-hooks.env.yaml`);
          writeFileSync(clearFile, clearHookEnvironment(groups));
          throw new HotError(
            `stack ${args.stack}`,
            `${what} reported no health marker within ${timeout} s of its update (hotk8s-health role=${w.member.group.role} node=${seen.name} from a new boot); ` +
              `its console's last marker: ${last ? `boot ${last.boot} at ${new Date(last.time * 1000).toISOString()}${bootsBefore.get(serverId)?.has(last.boot) ? ' (from before the update)' : ''}` : 'none'}. ` +
              `Heat stays paused on it, no other member is touched. Fix the node, then let Heat go on: ` +
              `openstack stack resource signal ${stackId} ${MEMBER_SERVER} --data '{"unset_hook": "${HOOK}"}' ` +
              `(each next member pauses at its own hook: check its health and clear it the same way, or cancel with openstack stack cancel ${args.stack}); ` +
              `once the update has ended, remove the hooks: openstack stack update --existing --wait -e ${clearFile} ${args.stack}`,
          );
        }
      }
      if (!status.endsWith('IN_PROGRESS')) break;
      await sleep(poll);
    }
    if (status !== 'UPDATE_COMPLETE') {
      const reason = (await os.run(['stack', 'show', args.stack, '-f', 'value', '-c', 'stack_status_reason'])).trim();
      throw new HotError(`stack ${args.stack}`, `the update ended ${status}: ${reason}`);
    }
    // the hooks stay in the stack's environment after the update: a later plain `openstack stack update` would pause
    // at them forever. A second update with only the clearing environment removes them; it changes no resource.
    const clear = join(work, 'hotk8s-health-hooks-clear.env.yaml');
    writeFileSync(clear, clearHookEnvironment(groups));
    log(`hotk8s update: ${args.stack} UPDATE_COMPLETE; removing the hooks from the stack's environment`);
    await os.run(['stack', 'update', '--existing', '--wait', '-e', clear, args.stack]);
    const after = (await os.run(['stack', 'show', args.stack, '-f', 'value', '-c', 'stack_status'])).trim();
    if (after !== 'UPDATE_COMPLETE') throw new HotError(`stack ${args.stack}`, `removing the hooks ended ${after}`);
    if (args.json) io.out(JSON.stringify({ ok: true, stack: args.stack, status: after, groups, gates }));
    else
      io.out(
        `${args.stack}: UPDATE_COMPLETE; ${gates.length} member(s) gated on their health marker` +
          (gates.length ? `: ${gates.map((g) => `${g.server} (${g.waitedSec} s)`).join(', ')}` : ' (none was updated)'),
      );
    return 0;
  } catch (e) {
    return reportError(e, io, { debug: args.debug, json: args.json });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
