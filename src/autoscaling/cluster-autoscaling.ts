/**
 * Autoscaling and self-healing of a Cluster's worker groups, opt-in (`Cluster` props `autoscaling` and `autoHealing`).
 *
 * What the stack gains:
 * - two hidden parameters, `autoscaler_application_credential_id` and `_secret`: a Keystone application credential
 *   given at create time (never in the program), which the agent uses for two things only: reading and PATCH-updating
 *   this stack, and reading Nova's flavors and the cluster's servers; plus `os_auth_url` (shared with `cloudProvider`);
 * - the output `hotk8s_autoscaling`: each worker group's range, parameter names, labels, taints, whether it is
 *   autoscaled and healed, and its members' server ids. The agent reads it on every round, so a stack update (a new
 *   group, a new range) reaches it without re-applying anything;
 * - the resource `AutoscalerProgram` (an OS::Heat::Value): the agent program (src/autoscaling/agent, bundled into
 *   `agent.generated.ts`), gzip and base64, about 11 kB of the root template; the agent's loader reads it from there;
 * - two add-on files the masters apply (`manifests.ts`): the access Secret and the Deployment of the upstream
 *   cluster-autoscaler beside the agent's loader (about 5 kB of the masters' user-data).
 *
 * Never masters or etcd: only worker groups appear in the output. An operator keeps control: a stack update by hand
 * works beside the agent (it waits while the stack is busy and keeps every parameter it does not own), a group opts
 * out with `excludeGroups`, min/max stay the count parameter's range, and scaling the Deployment to 0 pauses both.
 */
import { gzipSync } from 'node:zlib';
import { Construct } from 'constructs';
import { HotError, describeValue } from '../core/errors.js';
import { Fn } from '../core/intrinsics.js';
import { HeatOutput } from '../core/output.js';
import { HeatParameter } from '../core/parameter.js';
import { HeatStack } from '../core/stack.js';
import { Lazy } from '../core/tokens.js';
import { mirrorImage, type ExtraAddon } from '../bootstrap/addons.js';
import { CLUSTER_AUTOSCALER_TAGS } from '../bootstrap/kubernetes-versions.js';
import { WORKER_GROUP_LABEL } from '../bootstrap/worker.js';
import { OsHeatValue } from '../heat/generated/heat.generated.js';
import type { DeployTimeValue } from '../k8s/cloud-provider.js';
import { checkInt, checkOneOf } from '../k8s/private/names.js';
import type { WorkerGroup } from '../k8s/worker-group.js';
import { AUTOSCALING_OUTPUT, type AutoscalingView, type GroupView } from './agent/config.js';
import { PROGRAM_RESOURCE } from './agent/program.js';
import { AUTOSCALER_AGENT } from './agent.generated.js';
import { ACCESS_PLACEHOLDERS, renderAccessManifest, renderAgentManifest } from './manifests.js';

/** The public Node image the agent runs on (through the cluster's `imageRegistry`, like every image). */
export const AGENT_IMAGE = 'docker.io/library/node:22-alpine';

export type AutoscalerExpander = 'least-waste' | 'random' | 'most-pods';
const EXPANDERS: readonly AutoscalerExpander[] = ['least-waste', 'random', 'most-pods'];

/** What autoscaling and healing share: where Keystone is and the agent's image. */
export interface AgentAccessOptions {
  /** Keystone v3 URL (parameter `os_auth_url`, shared with `cloudProvider`). @default - a required parameter */
  readonly authUrl?: string;
  /** Region of the Heat and Nova endpoints in the catalog. @default - the first endpoint of each */
  readonly region?: string;
  /** Catalog interface of those endpoints. @default 'public' */
  readonly endpointInterface?: 'public' | 'internal';
  /** The agent's image, taken verbatim. @default - AGENT_IMAGE through `imageRegistry` */
  readonly agentImage?: string;
}

/** The Cluster's `autoscaling` prop: the upstream cluster-autoscaler scaling worker groups through stack updates. */
export interface AutoscalingOptions extends AgentAccessOptions {
  /** Worker groups the autoscaler leaves alone. @default [] */
  readonly excludeGroups?: readonly string[];
  /** `--expander`. @default 'least-waste' */
  readonly expander?: AutoscalerExpander;
  /** `--balance-similar-node-groups`. @default true */
  readonly balanceSimilarNodeGroups?: boolean;
  /** Remove nodes that are not needed (`--scale-down-enabled`). @default true */
  readonly scaleDown?: boolean;
  /** How long a node must be unneeded before it is removed (`--scale-down-unneeded-time`). @default 600 */
  readonly scaleDownUnneededSec?: number;
  /** No scale-down this long after a scale-up (`--scale-down-delay-after-add`). @default 600 */
  readonly scaleDownDelayAfterAddSec?: number;
  /**
   * How long a new node may take to register (`--max-node-provision-time`): a server boot and a worker bootstrap,
   * plus the time a change may wait for a busy stack. @default 1800
   */
  readonly maxNodeProvisionSec?: number;
  /** The CPU architecture of the worker images, for scale-from-zero templates (`kubernetes.io/arch`). @default 'amd64' */
  readonly arch?: 'amd64' | 'arm64';
  /** The cluster-autoscaler image, taken verbatim. @default - the upstream release of the cluster's minor, through `imageRegistry` */
  readonly image?: string;
}

/** The Cluster's `autoHealing` prop: failed workers replaced through stack updates. */
export interface AutoHealingOptions extends AgentAccessOptions {
  /** Worker groups never repaired. @default [] */
  readonly excludeGroups?: readonly string[];
  /** Seconds a node may be NotReady (or its server gone or in ERROR) before it is replaced. @default 300 */
  readonly notReadySec?: number;
  /**
   * Most unhealthy nodes of a group that are still repaired (a number, or a share such as '40%', rounded down); with
   * more, the group is left to an operator (MachineHealthCheck's maxUnhealthy). @default '40%'
   */
  readonly maxUnhealthy?: number | string;
  /** Seconds between two checks. @default 30 */
  readonly intervalSec?: number;
}

export interface ClusterAutoscalingProps {
  readonly clusterName: string;
  /** The cluster's Kubernetes version (x.y.z). */
  readonly kubernetesVersion: string;
  readonly imageRegistry?: string;
  readonly autoscaling?: AutoscalingOptions;
  readonly autoHealing?: AutoHealingOptions;
  /** The cluster's worker groups, read at synthesis (groups added later count). */
  readonly workerGroups: () => readonly WorkerGroup[];
  /** The `os_auth_url` parameter when the cloud provider made it already. */
  readonly authUrlParameter?: HeatParameter;
  /** Whether a cloud-controller-manager sets nodes' provider ids (else the agent does). */
  readonly cloudControllerManager: boolean;
}

/** The credential's allowed characters: what Keystone generates, and nothing that needs quoting in the Secret. */
const CREDENTIAL_PATTERN = '[A-Za-z0-9_.~+/=-]+';

export class ClusterAutoscaling extends Construct {
  /** The add-on files the masters apply (access Secret first). */
  public readonly addons: readonly ExtraAddon[];
  /** The deploy-time values of those files (member-template inputs of the masters). */
  public readonly deployValues: readonly DeployTimeValue[];
  public readonly parameters: {
    readonly authUrl: HeatParameter;
    readonly credentialId: HeatParameter;
    readonly credentialSecret: HeatParameter;
  };
  /** The cluster-autoscaler image, when autoscaling is on. */
  public readonly autoscalerImage?: string;
  public readonly agentImage: string;
  /** The resource `AutoscalerProgram` that holds the agent program. */
  public readonly program: OsHeatValue;

  constructor(scope: Construct, id: string, props: ClusterAutoscalingProps) {
    super(scope, id);
    const path = this.node.path;
    const as = checkOptions(path, 'autoscaling', props.autoscaling);
    const heal = checkOptions(path, 'autoHealing', props.autoHealing);
    const shared = <K extends keyof AgentAccessOptions>(key: K): AgentAccessOptions[K] => {
      const a = as?.[key];
      const b = heal?.[key];
      if (a !== undefined && b !== undefined && a !== b) {
        throw new HotError(
          path,
          `autoscaling.${key} and autoHealing.${key} configure one agent and must agree; got ${describeValue(a)} and ${describeValue(b)}`,
        );
      }
      return a ?? b;
    };
    const endpointInterface = checkOneOf(path, 'endpointInterface', shared('endpointInterface') ?? 'public', ['public', 'internal']);
    const region = shared('region');
    if (region !== undefined && (typeof region !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(region))) {
      throw new HotError(path, `region must be a Keystone region id (letters, digits, '.', '_', '-'); got ${describeValue(region)}`);
    }
    // the region is written into the masters' user-data, where __NAME__ is a deploy-time placeholder
    if (region !== undefined && /__[A-Z](?:[A-Z0-9_]*?[A-Z0-9])?__/.test(region)) {
      throw new HotError(path, `region must not contain __NAME__ (the form of a user-data placeholder); got ${describeValue(region)}`);
    }
    const authUrl = shared('authUrl');
    if (authUrl !== undefined && (typeof authUrl !== 'string' || !/^https?:\/\/[^\s/"\\]+(\/[^\s"\\]*)?$/.test(authUrl))) {
      throw new HotError(
        path,
        `authUrl must be an http(s) URL of Keystone, e.g. https://keystone.example.com:5000/v3; got ${describeValue(authUrl)}`,
      );
    }
    if (authUrl !== undefined && props.authUrlParameter) {
      throw new HotError(path, 'with cloudProvider the agent uses its Keystone URL (parameter os_auth_url): give authUrl there only');
    }
    const agentImage = shared('agentImage');
    this.agentImage = agentImage ?? mirrorImage(AGENT_IMAGE, props.imageRegistry);

    // ------------------------------------------------------------ options
    const minor = props.kubernetesVersion.split('.').slice(0, 2).join('.');
    let autoscalerArgs: string[] = [];
    if (as) {
      const tag = CLUSTER_AUTOSCALER_TAGS[minor];
      if (as.image === undefined && tag === undefined) {
        throw new HotError(path, `autoscaling: no cluster-autoscaler release is known for Kubernetes ${minor}; give autoscaling.image`);
      }
      this.autoscalerImage = as.image ?? mirrorImage(`registry.k8s.io/autoscaling/cluster-autoscaler:${tag}`, props.imageRegistry);
      const expander = checkOneOf(path, 'autoscaling.expander', as.expander ?? 'least-waste', EXPANDERS);
      const unneeded = checkInt(path, 'autoscaling.scaleDownUnneededSec', as.scaleDownUnneededSec ?? 600, 60, 86400);
      const afterAdd = checkInt(path, 'autoscaling.scaleDownDelayAfterAddSec', as.scaleDownDelayAfterAddSec ?? 600, 0, 86400);
      const provision = checkInt(path, 'autoscaling.maxNodeProvisionSec', as.maxNodeProvisionSec ?? 1800, 300, 86400);
      for (const k of ['balanceSimilarNodeGroups', 'scaleDown'] as const) {
        if (as[k] !== undefined && typeof as[k] !== 'boolean')
          throw new HotError(path, `autoscaling.${k} must be true or false; got ${describeValue(as[k])}`);
      }
      checkOneOf(path, 'autoscaling.arch', as.arch ?? 'amd64', ['amd64', 'arm64']);
      autoscalerArgs = [
        '--cloud-provider=externalgrpc',
        `--expander=${expander}`,
        `--balance-similar-node-groups=${as.balanceSimilarNodeGroups ?? true}`,
        `--scale-down-enabled=${as.scaleDown ?? true}`,
        `--scale-down-unneeded-time=${unneeded}s`,
        `--scale-down-delay-after-add=${afterAdd}s`,
        `--max-node-provision-time=${provision}s`,
        '--v=2',
      ];
    }
    let healView: AutoscalingView['heal'];
    if (heal) {
      const m = heal.maxUnhealthy ?? '40%';
      const ok = (typeof m === 'number' && Number.isInteger(m) && m >= 0) || (typeof m === 'string' && /^(\d|[1-9]\d|100)%$/.test(m));
      if (!ok)
        throw new HotError(
          path,
          `autoHealing.maxUnhealthy must be a whole number of nodes or a percentage such as '40%'; got ${describeValue(m)}`,
        );
      healView = {
        notReadySec: checkInt(path, 'autoHealing.notReadySec', heal.notReadySec ?? 300, 60, 86400),
        maxUnhealthy: String(m),
        intervalSec: checkInt(path, 'autoHealing.intervalSec', heal.intervalSec ?? 30, 10, 3600),
      };
    }

    // ------------------------------------------------------------ parameters
    const authUrlParameter =
      props.authUrlParameter ??
      new HeatParameter(this, 'AuthUrl', {
        name: 'os_auth_url',
        type: 'string',
        label: 'Keystone URL',
        description: 'Keystone v3 URL the autoscaling agent authenticates against',
        constraints: [
          {
            allowedPattern: 'https?://[^\\s/"\\\\]+(/[^\\s"\\\\]*)?',
            description: 'an http(s) URL, e.g. https://keystone.example.com:5000/v3',
          },
        ],
        value: authUrl,
      });
    const secret = (id: string, name: string, label: string, description: string): HeatParameter =>
      new HeatParameter(this, id, {
        name,
        type: 'string',
        hidden: true,
        label,
        description,
        constraints: [{ allowedPattern: CREDENTIAL_PATTERN, description: 'letters, digits and - _ . ~ + / = (what Keystone generates)' }],
      });
    const credentialId = secret(
      'CredentialId',
      'autoscaler_application_credential_id',
      'Autoscaler application credential id',
      'Id of the application credential the autoscaling agent updates this stack with (of the user who creates the stack); given at stack create',
    );
    const credentialSecret = secret(
      'CredentialSecret',
      'autoscaler_application_credential_secret',
      'Autoscaler application credential secret',
      'Secret of that application credential; given at stack create, never stored by hotk8s',
    );
    this.parameters = { authUrl: authUrlParameter, credentialId, credentialSecret };
    HeatStack.of(this).addParameterGroup({
      label: 'Autoscaling and healing',
      description: 'The application credential the autoscaling agent updates this stack with',
      parameters: [...(props.authUrlParameter ? [] : [authUrlParameter]), credentialId, credentialSecret],
    });
    const value = (ph: string, inputName: string, rootValue: unknown, description: string, hidden = false): DeployTimeValue => ({
      placeholder: ph,
      inputName,
      input: { type: 'string', description, ...(hidden ? { hidden: true } : {}) },
      rootValue,
    });
    this.deployValues = [
      value(ACCESS_PLACEHOLDERS.authUrl, 'autoscaler_auth_url', authUrlParameter.value, 'Keystone URL of the autoscaling agent'),
      value(
        ACCESS_PLACEHOLDERS.credentialId,
        'autoscaler_credential_id',
        credentialId.value,
        'Application credential id of the autoscaling agent',
        true,
      ),
      value(
        ACCESS_PLACEHOLDERS.credentialSecret,
        'autoscaler_credential_secret',
        credentialSecret.value,
        'Application credential secret of the autoscaling agent',
        true,
      ),
      value(
        ACCESS_PLACEHOLDERS.stack,
        'autoscaler_stack',
        Fn.join('/', [Fn.getParam('OS::stack_name'), Fn.getParam('OS::stack_id')]),
        'This stack, <name>/<id>',
      ),
    ];

    // ------------------------------------------------------------ add-ons (rendered now: the masters' user-data is)
    this.addons = [
      { file: '40-hotk8s-autoscaler-access.yaml', text: renderAccessManifest({ region, endpointInterface }), images: [] },
      {
        file: '41-hotk8s-autoscaler.yaml',
        text: renderAgentManifest({
          autoscaler: this.autoscalerImage ? { image: this.autoscalerImage, args: autoscalerArgs } : undefined,
          healing: heal !== undefined,
          agentImage: this.agentImage,
          region,
          endpointInterface,
        }),
        images: [
          ...(this.autoscalerImage ? [{ image: this.autoscalerImage, usedBy: 'cluster-autoscaler' }] : []),
          { image: this.agentImage, usedBy: 'hotk8s-autoscaler' },
        ],
      },
    ];

    // ------------------------------------------------------------ the program, which the loader reads from the stack
    this.program = new OsHeatValue(this, 'Program', { type: 'string', value: gzipSync(AUTOSCALER_AGENT, { level: 9 }).toString('base64') });
    this.program.overrideLogicalId(PROGRAM_RESOURCE);

    // ------------------------------------------------------------ what the agent reads: a stack output
    const arch = as?.arch ?? 'amd64';
    new HeatOutput(this, 'View', {
      name: AUTOSCALING_OUTPUT,
      description: 'What the autoscaling agent manages: worker groups (range, parameters, labels, taints, members)',
      value: Lazy.value(() => {
        const groups: Record<string, unknown> = {};
        for (const g of props.workerGroups()) {
          const view: Omit<GroupView, 'servers'> = {
            min: g.minSize,
            max: g.maxSize,
            count: g.countParameter.props.name!,
            remove: g.removeParameter.props.name!,
            flavor: g.flavorParameter.props.name!,
            prefix: `${props.clusterName}-${g.name}-`,
            labels: { ...g.userDataContext.labels, [WORKER_GROUP_LABEL]: g.name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': arch },
            taints: (g.userDataContext.taints ?? []).map((t) => ({ key: t.key, value: t.value ?? '', effect: t.effect })),
            autoscale: as !== undefined && !(as.excludeGroups ?? []).includes(g.name),
            heal: heal !== undefined && !(heal.excludeGroups ?? []).includes(g.name),
          };
          groups[g.name] = { ...view, servers: g.nodes.nodes.attributeMap('server_id') };
        }
        return { cluster: props.clusterName, groups, ...(healView ? { heal: healView } : {}), providerIds: !props.cloudControllerManager };
      }),
    });
    this.node.addValidation({
      validate: () => {
        const names = props.workerGroups().map((g) => g.name);
        return (['autoscaling', 'autoHealing'] as const).flatMap((k) =>
          ((k === 'autoscaling' ? as : heal)?.excludeGroups ?? [])
            .filter((n) => !names.includes(n))
            .map((n) => `${k}.excludeGroups names ${describeValue(n)}, which is not a worker group of this cluster (${names.join(', ')})`),
        );
      },
    });
  }
}

function checkOptions<T extends { readonly excludeGroups?: readonly string[] }>(
  path: string,
  what: string,
  o: T | undefined,
): T | undefined {
  if (o === undefined) return undefined;
  if (typeof o !== 'object' || o === null || Array.isArray(o))
    throw new HotError(path, `${what} must be an options object ({} for the defaults); got ${describeValue(o)}`);
  if (o.excludeGroups !== undefined && (!Array.isArray(o.excludeGroups) || o.excludeGroups.some((n) => typeof n !== 'string'))) {
    throw new HotError(path, `${what}.excludeGroups must be a list of worker group names; got ${describeValue(o.excludeGroups)}`);
  }
  return o;
}
