/** Response schemas of the seat report (LSE's SeatReport and its assignment shapes) and its shaping. */
import { z } from 'zod';
import { ROLE_NAMES, type Role, lseRoleSource } from '../../lib/core/roles.js';
import type { ResolvedAssignment } from '../../lib/reviews/assignments.js';
import type { SeatRow, SeatUsage } from '../../lib/reviews/seat-report.js';
import { components, page } from '../schemas.js';

const named = <T extends z.ZodType>(id: string, schema: T, description?: string): T => {
  components.add(schema, { id, ...(description ? { description } : {}) });
  return schema;
};
const datetime = z.string().describe('ISO 8601 date and time');

export const MappingStatus = named('MappingStatusEnum', z.enum(['configured', 'orphaned', 'missing_membership']), 'configured: the group is still mapped in the settings of its source (SCIM or SAML); orphaned: the mapping is gone but the access was kept; missing_membership: the membership it stands for is gone.');

const common = {
  assignment_id: z.number().int(),
  created_at: datetime,
  identity_provider_group: z.string().nullable(),
  linked_membership_id: z.number().int().nullable(),
  /** Roster's own: which IdP wrote the record. */
  source: z.enum(['scim', 'saml']),
};

export const OrganizationRoleAssignment = named(
  'OrganizationRoleAssignment',
  z.strictObject({ ...common, assigned_role: z.string().nullable(), assigned_role_display: z.string().nullable(), mapping_status: MappingStatus, mapping_status_display: z.string() }),
);
export const WorkspaceAccessAssignment = named(
  'WorkspaceAccessAssignment',
  z.strictObject({ ...common, workspace_id: z.number().int().nullable(), workspace_title: z.string().nullable(), mapping_status: MappingStatus, mapping_status_display: z.string() }),
  'Workspace access granted by a group (never affects the seat count). Roster adds its mapping status.',
);
export const ProjectRoleAssignment = named(
  'ProjectRoleAssignment',
  z.strictObject({
    ...common,
    assigned_role: z.string().nullable(),
    assigned_role_display: z.string().nullable(),
    mapping_status: MappingStatus,
    mapping_status_display: z.string(),
    project_id: z.number().int().nullable(),
    project_title: z.string().nullable(),
  }),
);

export const SeatReport = named(
  'SeatReport',
  z.strictObject({
    user_id: z.number().int(),
    email: z.string(),
    first_name: z.string(),
    last_name: z.string(),
    account_is_active: z.boolean(),
    organization_role: z.string().nullable(),
    organization_role_display: z.string().nullable(),
    role_source: z.string().nullable(),
    role_source_display: z.string().nullable(),
    user_type: z.string().nullable(),
    user_type_display: z.string().nullable(),
    counts_toward_seat_limit: z.boolean(),
    has_stale_role_assignments: z.boolean(),
    organization_role_assignments: z.array(OrganizationRoleAssignment),
    workspace_access_assignments: z.array(WorkspaceAccessAssignment),
    project_role_assignments: z.array(ProjectRoleAssignment),
    /** Roster's own: when the membership was soft-deleted (such rows never count toward the seat limit). */
    deleted_at: datetime.nullable(),
  }),
  "One organization member, with the reason they do or do not occupy a paid seat (LSE's SeatReport).",
);

const SeatUsageSchema = z.strictObject({ count: z.number().int(), total: z.number().int(), limit: z.number().int().nullable(), reached: z.boolean(), scope: z.literal('organization') });
export const SeatReportPage = named('PaginatedSeatReportList', page(SeatReport).extend({ seat_usage: SeatUsageSchema.optional() }));

const STATUS_NAMES = { configured: 'Configured', orphaned: 'Orphaned', missing_membership: 'Missing membership' } as const;
const SOURCE_NAMES: Record<string, string> = { manual: 'Manual', saml: 'SAML', scim: 'SCIM', ldap: 'LDAP', api: 'API', billing: 'Billing' };
const roleName = (r: string | null | undefined) => (r ? (ROLE_NAMES[r as Role] ?? r) : null);

const commonShape = (a: ResolvedAssignment) => ({
  assignment_id: a.assignment_id,
  created_at: a.created_at,
  identity_provider_group: a.group ?? null,
  linked_membership_id: a.linked_membership_id,
  source: a.source,
  mapping_status: a.mapping_status,
  mapping_status_display: STATUS_NAMES[a.mapping_status],
});

export function seatRowShape(r: SeatRow) {
  const m = r.membership;
  const source = lseRoleSource(m.role_source);
  const of = (kind: ResolvedAssignment['kind']) => r.assignments.filter((a) => a.kind === kind);
  return {
    user_id: m.user_id,
    email: m.user.email,
    first_name: m.user.first_name,
    last_name: m.user.last_name,
    // Roster has no account-wide deactivation: an account can always sign in; the role decides the seat.
    account_is_active: true,
    organization_role: m.role,
    organization_role_display: roleName(m.role),
    role_source: source,
    role_source_display: source ? SOURCE_NAMES[source]! : null,
    user_type: m.user_type ?? 'standard',
    user_type_display: 'Standard',
    counts_toward_seat_limit: r.counts_toward_seat_limit,
    has_stale_role_assignments: r.has_stale_role_assignments,
    organization_role_assignments: of('organization_role').map((a) => ({ ...commonShape(a), assigned_role: a.assigned_role ?? null, assigned_role_display: roleName(a.assigned_role) })),
    workspace_access_assignments: of('workspace').map((a) => ({ ...commonShape(a), workspace_id: a.workspace_id ?? null, workspace_title: a.workspace_title })),
    project_role_assignments: of('project').map((a) => ({ ...commonShape(a), assigned_role: a.assigned_role ?? null, assigned_role_display: roleName(a.assigned_role), project_id: a.project_id ?? null, project_title: a.project_title })),
    deleted_at: m.deleted_at,
  };
}

export const seatUsageShape = (u: SeatUsage) => u;
