/**
 * hotk8s-autoscaler: the agent a hotk8s cluster runs on its control plane (in the cluster-autoscaler's pod, from a
 * ConfigMap, on a public Node image). Two duties, one process, so that every stack update it makes goes through one
 * queue: the externalgrpc provider the cluster-autoscaler calls on 127.0.0.1 (HOTK8S_GRPC_LISTEN), and the healing and
 * upkeep rounds (HOTK8S_HEAL=true for healing). Only the holder of the Lease changes the stack or the nodes.
 *
 * Environment: OS_AUTH_URL, OS_APPLICATION_CREDENTIAL_ID, OS_APPLICATION_CREDENTIAL_SECRET, optional OS_REGION_NAME and
 * OS_INTERFACE (the Secret the masters create from the stack's hidden parameters); HOTK8S_STACK (`<name>/<id>`);
 * POD_NAME, POD_NAMESPACE; HOTK8S_PROGRAM_SHA256 (set by the loader: the program it started). For tests:
 * HOTK8S_KUBE_API, HOTK8S_KUBE_TOKEN_FILE, HOTK8S_RETRY_MS, HOTK8S_ACCEPT_WAIT_MS, HOTK8S_HEAL_INTERVAL_MS,
 * HOTK8S_LEASE_SEC, HOTK8S_PROGRAM_CHECK_MS.
 */
import { hostname } from 'node:os';
import { serveGrpc } from './grpc.js';
import { Healer } from './healer.js';
import { Kube, type KubeNode, type ObjectRef } from './kube.js';
import { OpenStack } from './openstack.js';
import { readProgram, sha256 } from './program.js';
import { providerHandlers, SERVICE } from './provider.js';
import { Stack, type Notify } from './stack.js';

const env = process.env;
const log = (line: string): void => console.log(`${new Date().toISOString()} ${line}`);
const need = (name: string): string => {
  const v = env[name];
  if (!v) {
    log(`error: ${name} is not set`);
    process.exit(2);
  }
  return v;
};

const namespace = env.POD_NAMESPACE ?? 'kube-system';
const instance = env.POD_NAME ?? hostname();
const self: ObjectRef = { kind: 'ConfigMap', name: 'hotk8s-autoscaler', namespace };
const kube = new Kube(env, 'hotk8s-autoscaler', instance);
const notify: Notify = (type, reason, message, about) => {
  log(`${type === 'Warning' ? 'warning' : 'info'} ${reason}${about ? ` ${about.kind}/${about.name}` : ''}: ${message}`);
  kube.event(about ?? self, type, reason, message).catch((e: Error) => log(`warning: event not recorded: ${e.message}`));
};
const cloud = new OpenStack({
  authUrl: need('OS_AUTH_URL'),
  credentialId: need('OS_APPLICATION_CREDENTIAL_ID'),
  credentialSecret: need('OS_APPLICATION_CREDENTIAL_SECRET'),
  region: env.OS_REGION_NAME || undefined,
  interface: env.OS_INTERFACE || undefined,
});
const retryMs = Number(env.HOTK8S_RETRY_MS ?? 5000);
const stack = new Stack(cloud, need('HOTK8S_STACK'), notify, retryMs);
const leaseSec = Number(env.HOTK8S_LEASE_SEC ?? 30);
let leader: boolean | undefined;

async function renew(): Promise<void> {
  const was = leader;
  try {
    leader = await kube.lease(namespace, 'hotk8s-autoscaler', leaseSec);
  } catch (e) {
    leader = false;
    log(`warning: lease: ${(e as Error).message}`);
  }
  if (leader !== was) log(leader ? `${instance} holds the lease: changes the stack from now on` : `${instance} does not hold the lease`);
}

const tick = (fn: () => Promise<unknown>, ms: () => number): void => {
  const next = (): void => void setTimeout(() => void fn().finally(next), ms());
  void fn().finally(next);
};

process.on('SIGTERM', () => process.exit(0));
process.on('unhandledRejection', (e) => log(`error: ${(e as Error)?.message ?? e}`));
await renew();
tick(renew, () => (leaseSec * 1000) / 3);

const listen = env.HOTK8S_GRPC_LISTEN;
if (listen) {
  const at = listen.lastIndexOf(':');
  const handlers = providerHandlers({
    stack,
    cloud,
    nodes: (): Promise<KubeNode[]> => kube.nodes(),
    leader: () => leader === true,
    acceptWaitMs: Number(env.HOTK8S_ACCEPT_WAIT_MS ?? 20_000),
    log,
  });
  await serveGrpc(listen.slice(0, at), Number(listen.slice(at + 1)), SERVICE, handlers, log);
  log(`externalgrpc provider for stack ${stack.id} on ${listen}`);
}

const healer = new Healer(stack, cloud, kube, notify, log);
const healing = env.HOTK8S_HEAL === 'true';
// HOTK8S_HEAL_INTERVAL_MS (tests) overrides the output's intervalSec, which synth keeps at 10 s or more
const intervalMs = (): number => Number(env.HOTK8S_HEAL_INTERVAL_MS ?? 0) || (stack.snap?.view.heal?.intervalSec ?? 30) * 1000;
tick(async () => {
  // while our own update runs a round could neither repair nor delete Node objects (the stack is in progress), and
  // its read of the output costs heat-engine 0.3 to 6.5 s a time (the Heat twin): the round after the update does it
  if (!leader || stack.busy) return;
  try {
    await healer.round(healing);
  } catch (e) {
    log(`warning: round: ${(e as Error).message}`);
  }
}, intervalMs);

// a stack update that brings another program: finish what is running, then exit; the container restarts the loader
const running = env.HOTK8S_PROGRAM_SHA256;
if (running) {
  tick(
    async () => {
      const text = await readProgram(cloud, stack.id);
      if (typeof text === 'string' && sha256(text) !== running && stack.idle && !stack.busy) {
        log(`the stack holds a new agent program (sha256 ${sha256(text).slice(0, 12)}); restarting`);
        process.exit(0);
      }
    },
    () => Number(env.HOTK8S_PROGRAM_CHECK_MS ?? 600_000),
  );
}
