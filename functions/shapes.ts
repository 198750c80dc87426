/** LSE's response shapes (serializers) for Roster's records. */
import type { Project, ProjectRoleRecord, Workspace } from '../lib/access/effective.js';
import type { Membership, Organization, User } from '../lib/core/model.js';
import type { ProjectMemberView } from '../lib/access/projects.js';
import type { Standing } from '../lib/org/organizations.js';
import { type Access, canInOrganization, permissionsOf } from '../lib/core/permissions.js';
import { lseRoleSource } from '../lib/core/roles.js';

const initials = (u: Pick<User, 'first_name' | 'last_name' | 'email'>) =>
  (u.first_name && u.last_name ? u.first_name[0]! + u.last_name[0]! : u.email.slice(0, 2)).toLowerCase();

const orgMembership = (m: Membership) => ({
  active: m.deleted_at === null && m.role !== 'NO' && m.role !== 'DI',
  flex: null,
  organization_id: m.organization,
  role: m.role,
  user_type: m.user_type,
});

/** LseUser / LseUserAPI; `memberships` are the user's memberships the caller may see. */
export function userShape(u: User, memberships: Membership[]) {
  const active = memberships.find((m) => m.organization === u.active_organization);
  return {
    id: u.id,
    email: u.email,
    username: u.username,
    first_name: u.first_name,
    last_name: u.last_name,
    phone: u.phone,
    avatar: null,
    initials: initials(u),
    date_joined: u.date_joined,
    last_activity: u.last_activity,
    allow_newsletters: u.allow_newsletters,
    custom_hotkeys: null,
    active_organization: u.active_organization,
    active_organization_meta: {},
    org_membership: memberships.map(orgMembership),
    organization_membership: active ? orgMembership(active) : null,
    lse_fields: { invite_expired: null, invite_expired_at: null, email_notification_settings: {} },
    pause: null,
  };
}

/** WhoAmIUser: the user plus the permissions of their role in the active organization. */
export function whoamiShape(u: User, memberships: Membership[], standing: Standing, org: Organization | undefined) {
  const base = userShape(u, memberships);
  return {
    ...base,
    active_organization_meta: org ? { title: org.title, email: org.contact_info ?? '' } : {},
    lse_fields: { ...base.lse_fields, active_organization_external_id: null },
    permissions: permissionsOf(standing.role, standing.overrides),
    social_accounts: [],
  };
}

/** OrganizationId (list item). */
export const organizationIdShape = (o: Organization) => ({ id: o.id, title: o.title, contact_info: o.contact_info, created_at: o.created_at });

/** LseOrganization. The invite token is shown only to those who may invite. */
export function organizationShape(o: Organization, caller: Standing) {
  return {
    id: o.id,
    title: o.title,
    created_at: o.created_at,
    contact_info: o.contact_info,
    default_role: o.default_role,
    token: canInOrganization(caller.role, 'organization.invite', caller.overrides) ? o.token : '',
    billing: {
      manual_role_management: false,
      manual_workspace_management: false,
      enforce_session_concurrency: false,
      max_parallel_sessions: 0,
      session_concurrency_window_seconds: 0,
    },
    custom_scripts_enabled: false,
    custom_interfaces_enabled: null,
    email_notification_settings: {},
    embed_domains: null,
    embed_enabled: null,
    embed_settings: null,
    external_id: null,
    interface_settings: null,
    react_code_settings: {},
    // Roster's own: how long the activity log keeps entries (null: forever).
    activity_log_retention_days: o.activity_log_retention_days ?? null,
  };
}

/** LseUser for a member, from the copy of the user kept on the membership (one read per page). */
export const memberUserShape = (m: Membership) =>
  userShape({ ...m.user, phone: '', allow_newsletters: null, date_joined: m.created_at, active_organization: m.organization }, [m]);

/** LseOrganizationMemberList. A member's id is their user id (unique within an organization). */
export function memberShape(m: Membership) {
  return {
    id: m.user_id,
    organization: m.organization,
    role: m.role,
    role_source: lseRoleSource(m.role_source),
    user_type: m.user_type,
    tags: [],
    concurrency: null,
    flex: null,
    contributed_to_projects: null,
    created_projects: null,
    user: {
      ...m.user,
      avatar: null,
      initials: initials(m.user),
      contributed_to_projects: null,
      created_projects: null,
      lse_fields: { invite_expired: null, invite_expired_at: null, email_notification_settings: {} },
      pause: null,
    },
  };
}

/** OrganizationMember (one member's details). Roster keeps no annotations or projects yet: counts are 0, lists empty. */
export const memberDetailShape = (m: Membership) => ({
  user: m.user_id,
  organization: m.organization,
  created_at: m.created_at,
  annotations_count: 0,
  contributed_projects_count: 0,
  contributed_to_projects: [],
  created_projects: [],
  role: m.role,
  role_source: lseRoleSource(m.role_source),
  deleted_at: m.deleted_at,
});

/** DefaultRole (set-default-role's answer). */
export const defaultRoleShape = (o: Organization) => ({ organization: o.id, default_role: o.default_role, external_id: null });

// ---------------------------------------------------------------------------------------------
// Workspaces and projects

/** LSE's Workspace. `membership` says whether the caller belongs to it. */
export const workspaceShape = (w: Workspace, callerIsMember?: boolean) => ({
  id: w.id,
  title: w.title,
  description: w.description,
  color: w.color,
  is_archived: w.is_archived,
  is_personal: w.is_personal,
  created_by: w.created_by,
  created_by_user: { id: w.created_by },
  membership: callerIsMember === undefined ? null : { is_member: callerIsMember },
  projects_count: w.projects_count,
});

/**
 * A project as Roster's registry keeps it, with the instructions that fit the caller's effective
 * role in it: annotators the annotator text, reviewers the reviewer text, managers and above both.
 * (`expert_instruction` is LSE's name for the labeling instructions.) Without `access`, none.
 */
export function projectShape(p: Project, access?: Access) {
  // Listings carry no instructions: only a project's own page decides the caller's role in it.
  const role = access?.allowed ? access.role : null;
  const annotator = role !== null && role !== 'RE';
  const reviewer = role !== null && role !== 'AN';
  return {
    id: p.id,
    title: p.title,
    description: p.description,
    workspace: p.workspace,
    is_published: p.published,
    created_by: p.created_by,
    created_at: p.created_at,
    effective_role: role,
    ...(annotator ? { expert_instruction: p.annotator_instructions, annotator_instructions: p.annotator_instructions } : {}),
    ...(reviewer ? { reviewer_instructions: p.reviewer_instructions } : {}),
  };
}

/** LSE's PaginatedProjectMember: the user, whether the membership is implicit, and their project role. */
export function projectMemberShape(v: ProjectMemberView) {
  const m = v.membership;
  return {
    ...memberUserShape(m),
    implicit_member: v.implicit,
    project_role: v.projectRole?.role ?? null,
    project_role_source: lseRoleSource(v.projectRole?.role_source),
    effective_role: v.access.allowed ? v.access.role : null,
    tags: [],
    user_type: m.user_type,
  };
}

export const projectRoleShape = (r: ProjectRoleRecord) => ({ id: r.id, project: r.project, user: r.user, role: r.role, role_source: lseRoleSource(r.role_source) });
