/**
 * Whether a Cluster's worker groups of one shape share member templates (WorkerGroupOptions.shareMemberTemplates).
 * Always on in use; tests turn it off to show that sharing changes no file synthesis writes.
 */
export const memberTemplateSharing = { enabled: true };
