/** Deploy-time values shared by master and worker user-data, fed into member templates. */
import type { Input } from '../../core/tokens.js';
import type { MemberContext } from '../node-group.js';
import type { ClusterSecrets } from './secrets.js';

/** Root-template values every Kubernetes node needs. */
export interface KubeRootValues {
  /** The control-plane endpoint address. */
  readonly apiAddress: Input<string>;
  /** The kubeadm bootstrap token. */
  readonly bootstrapToken: Input<string>;
  readonly secrets: ClusterSecrets;
}

/** Placeholder values common to masters and workers. */
export function kubeNodeValues(m: MemberContext, root: KubeRootValues): Record<string, unknown> {
  return {
    __NODE_NAME__: m.nodeName,
    __SIGNAL_CURL__: m.signalCurl,
    __NODE_ADDRESS__: m.address,
    __API_ADDRESS__: m.input('api_address', { type: 'string', description: 'Control-plane endpoint address' }, root.apiAddress).value,
    __BOOTSTRAP_TOKEN__: m.input(
      'bootstrap_token',
      { type: 'string', hidden: true, description: 'kubeadm bootstrap token' },
      root.bootstrapToken,
    ).value,
    __CA_CERT_HASH__: m.input(
      'ca_cert_hash',
      { type: 'string', hidden: true, description: 'kubeadm discovery hash' },
      root.secrets.param('ca_cert_hash').value,
    ).value,
  };
}

/** A hidden secret fed from the root's secret parameter of the same name. */
export function secretInput(m: MemberContext, secrets: ClusterSecrets, name: string): unknown {
  return m.input(name, { type: 'string', hidden: true, description: name.replace(/_/g, ' ') }, secrets.param(name).value).value;
}
