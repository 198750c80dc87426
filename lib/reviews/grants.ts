/** What a review item's grant is, in words, and whether an identity provider manages it. */
import type { ReviewItem } from './model.js';

/** Whether a grant is the IdP's: an assignment record behind it, or an organization role the IdP set. */
export const idpManaged = (item: ReviewItem) =>
  item.reason.kind === 'idp' || item.flags.includes('idp_managed') || (item.kind === 'organization_role' && (item.role_source === 'scim' || item.role_source === 'saml'));

export const grantName = (item: ReviewItem) =>
  item.kind === 'organization_role' ? `the organization role ${item.role}`
  : item.kind === 'workspace_membership' ? `membership of workspace ${item.workspace_id}`
  : item.kind === 'project_membership' ? `membership of project ${item.project_id}`
  : `the project role ${item.role} on project ${item.project_id}`;

/** What to change in the IdP instead of in Roster, for a grant the IdP manages. */
export function idpInstruction(item: ReviewItem): string {
  if (item.reason.kind === 'idp') {
    const idp = item.reason.source === 'scim' ? 'SCIM' : 'SAML';
    return `Remove ${item.email} from the group "${item.reason.group}" in the identity provider (${idp}), or change its mapping: it grants ${grantName(item)}, and a change in Roster would be restored by the next sync.`;
  }
  const idp = item.role_source === 'saml' ? 'SAML' : 'SCIM';
  return `Change ${item.email}'s assignment in the identity provider (${idp}): it grants ${grantName(item)}, and a change in Roster would be restored by the next sync.`;
}

/** Why the person holds the grant, in words (the report's `reason`). */
export function reasonText(item: ReviewItem): string {
  const r = item.reason;
  if (r.kind === 'idp') return `${r.source.toUpperCase()} group "${r.group}" (assignment ${r.assignment_id}, ${r.mapping_status})`;
  if (r.kind === 'granted') return `granted by ${r.by_email ?? (r.by_user_id !== null ? `user ${r.by_user_id}` : 'the system')} at ${r.at} (${r.via})`;
  return 'unexplained: no mapping and no recorded grant';
}
