import { type ActiveRole, type ProjectRole, type Role, isActive } from './roles.js';

/**
 * The permission matrix of SPEC §1 as data. For each action, what each active role may do:
 *   'org'    — anywhere in the organization;
 *   'member' — only on workspaces/projects the user belongs to (or created);
 *   absent   — never.
 * NO and DI never appear: they have no access at all.
 */
export type Grant = 'org' | 'member';
export type Matrix = Record<string, Partial<Record<ActiveRole, Grant>>>;

const ADMINS = { AD: 'org', OW: 'org' } as const;
const ALL_MEMBERS = { AN: 'member', RE: 'member', MA: 'member', AD: 'org', OW: 'org' } as const;

export const MATRIX = {
  'organization.read': { AN: 'org', RE: 'org', MA: 'org', AD: 'org', OW: 'org' },
  'organization.update': ADMINS,
  'organization.roles.assign': ADMINS,
  'organization.invite': ADMINS,
  'organization.members.list': { MA: 'org', ...ADMINS },
  'organization.activity_log.view': ADMINS,
  'organization.sso.configure': ADMINS,
  'organization.access_review.run': ADMINS,
  'organization.transfer_ownership': { OW: 'org' },
  'organization.permissions.configure': { OW: 'org' },
  'workspace.create': { MA: 'org', ...ADMINS },
  'workspace.read': ALL_MEMBERS,
  'workspace.update': { MA: 'member', ...ADMINS },
  'workspace.delete': { MA: 'member', ...ADMINS },
  'workspace.members.manage': { MA: 'member', ...ADMINS },
  'project.create': { MA: 'member', ...ADMINS },
  'project.read': ALL_MEMBERS,
  'project.update': { MA: 'member', ...ADMINS },
  'project.delete': { MA: 'member', ...ADMINS },
  'project.members.manage': { MA: 'member', ...ADMINS },
  'project.tasks.assign_annotators': { RE: 'member', MA: 'member', ...ADMINS },
  'project.tasks.assign_reviewers': { MA: 'member', ...ADMINS },
  'project.review': { RE: 'member', MA: 'member', ...ADMINS },
  'project.label': ALL_MEMBERS,
  'project.data.import_export': { MA: 'member', ...ADMINS },
  'tokens.own': { AN: 'org', RE: 'org', MA: 'org', AD: 'org', OW: 'org' },
} as const satisfies Matrix;

export type Action = keyof typeof MATRIX;
export const ACTIONS = Object.keys(MATRIX) as Action[];

/** Per-organization restrictions: action → roles that keep it (the Owner always keeps everything). */
export type Overrides = Partial<Record<Action, Role[]>>;

/**
 * What `role` may do for `action`, after the organization's overrides. Overrides only restrict:
 * a role missing from the matrix never gains an action, and the Owner is never restricted.
 */
export function grantOf(role: Role, action: Action, overrides: Overrides = {}): Grant | undefined {
  if (!isActive(role)) return undefined;
  const grant = (MATRIX[action] as Partial<Record<ActiveRole, Grant>>)[role];
  const kept = overrides[action];
  if (grant && kept && role !== 'OW' && !kept.includes(role)) return undefined;
  return grant;
}

/** Organization-wide actions (no workspace/project in scope) are allowed only with an 'org' grant. */
export const canInOrganization = (role: Role, action: Action, overrides?: Overrides) => grantOf(role, action, overrides) === 'org';

/** The permission codes whoami reports: every action the role may take organization-wide or on its own resources. */
export const permissionsOf = (role: Role, overrides?: Overrides): Action[] => ACTIONS.filter((a) => grantOf(role, a, overrides) !== undefined);

/** The matrix's roles for an action (never NO/DI). */
export const defaultRolesOf = (action: Action): ActiveRole[] => Object.keys(MATRIX[action]) as ActiveRole[];

/**
 * The permissions an Owner may restrict (LSE's configurable permissions), with the labels LSE's UI
 * shows. Each may be narrowed to a subset of its default roles; the Owner's own rights never change.
 */
export const CONFIGURABLE: Partial<Record<Action, { label: string; group: string; tooltip: string }>> = {
  'tokens.own': { label: 'Create API tokens', group: 'API access', tooltip: 'Who may create and use their own API tokens.' },
  'organization.members.list': { label: 'View organization members', group: 'Organization', tooltip: 'Who may list the members of the organization.' },
  'workspace.create': { label: 'Create workspaces', group: 'Workspaces', tooltip: 'Who may create workspaces.' },
  'workspace.delete': { label: 'Delete workspaces', group: 'Workspaces', tooltip: 'Who may delete workspaces they manage.' },
  'project.create': { label: 'Create projects', group: 'Projects', tooltip: 'Who may create projects.' },
  'project.delete': { label: 'Delete projects', group: 'Projects', tooltip: 'Who may delete projects they manage.' },
  'project.data.import_export': { label: 'Import and export project data', group: 'Projects', tooltip: 'Who may import tasks and export annotations.' },
  'project.members.manage': { label: 'Manage project members', group: 'Projects', tooltip: 'Who may add and remove project members.' },
  'workspace.members.manage': { label: 'Manage workspace members', group: 'Workspaces', tooltip: 'Who may add and remove workspace members.' },
  'project.tasks.assign_annotators': { label: 'Assign annotators to tasks', group: 'Labeling', tooltip: 'Who may assign tasks to annotators.' },
  'project.tasks.assign_reviewers': { label: 'Assign reviewers to tasks', group: 'Labeling', tooltip: 'Who may assign tasks to reviewers.' },
};
export const CONFIGURABLE_ACTIONS = Object.keys(CONFIGURABLE) as Action[];


// ---------------------------------------------------------------------------------------------
// Effective access (SPEC §2): organization role × workspace membership × project membership ×
// project role override × membership state.

export interface MembershipState {
  /** Organization role, or undefined when the user is not a member of the organization. */
  orgRole?: Role;
  /** Soft-deleted organization membership. */
  deleted?: boolean;
}

export interface ProjectAccessInput extends MembershipState {
  /** Direct project membership. */
  projectMember?: boolean;
  /** Membership of the project's workspace (implicit project membership). */
  workspaceMember?: boolean;
  /** The user created the project or its workspace (Managers keep rights over what they create). */
  creator?: boolean;
  /** Project-level role override. */
  projectRole?: ProjectRole;
}

export type Refusal = 'not_member' | 'not_activated' | 'deactivated' | 'deleted' | 'not_project_member';
export type GrantReason = 'organization_role' | 'workspace_membership' | 'project_membership' | 'creator' | 'project_role';

export type Access =
  | { allowed: true; role: ActiveRole; implicit: boolean; reason: GrantReason }
  | { allowed: false; role: null; reason: Refusal };

function refusalOf(s: MembershipState): Refusal | undefined {
  if (s.orgRole === undefined) return 'not_member';
  if (s.deleted) return 'deleted';
  if (s.orgRole === 'DI') return 'deactivated';
  if (s.orgRole === 'NO') return 'not_activated';
  return undefined;
}

/** The role a user has inside one project, and why (or why not). */
export function projectAccess(input: ProjectAccessInput): Access {
  const refusal = refusalOf(input);
  if (refusal) return { allowed: false, role: null, reason: refusal };
  const orgRole = input.orgRole as ActiveRole;
  if (orgRole === 'OW' || orgRole === 'AD') return { allowed: true, role: orgRole, implicit: true, reason: 'organization_role' };

  const via: GrantReason | undefined = input.projectMember
    ? 'project_membership'
    : input.workspaceMember
      ? 'workspace_membership'
      : input.creator && orgRole === 'MA'
        ? 'creator'
        : undefined;
  if (!via) return { allowed: false, role: null, reason: 'not_project_member' };
  const implicit = via === 'workspace_membership';

  // A project role overrides only Annotator and Reviewer; Managers and above are never downgraded.
  if (input.projectRole && (orgRole === 'AN' || orgRole === 'RE') && input.projectRole !== orgRole) {
    return { allowed: true, role: input.projectRole, implicit, reason: 'project_role' };
  }
  return { allowed: true, role: orgRole, implicit, reason: via };
}

/** The role a user has inside one workspace. */
export function workspaceAccess(input: MembershipState & { workspaceMember?: boolean; creator?: boolean }): Access {
  return projectAccess({ ...input, projectMember: false, projectRole: undefined });
}

/** May the user do `action` given their access to the resource in scope (and the organization's overrides)? */
export function allows(access: Access, action: Action, overrides: Overrides = {}): boolean {
  // 'member' grants need membership, which an allowed access already proves; 'org' grants hold anyway.
  return access.allowed && grantOf(access.role, action, overrides) !== undefined;
}
