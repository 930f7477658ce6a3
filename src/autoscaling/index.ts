export * from './cluster-autoscaling.js';
export { AUTOSCALING_OUTPUT, type AutoscalingView, type GroupView, type HealView } from './agent/config.js';
export {
  ACCESS_PLACEHOLDERS,
  AGENT_GRPC_ADDRESS,
  renderAccessManifest,
  renderAgentManifest,
  type AgentManifestInput,
} from './manifests.js';
