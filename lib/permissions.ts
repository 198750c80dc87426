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

/** Organization-level check: may `role` do `action` somewhere in its organization? */
export function grantOf(role: Role, action: Action): Grant | undefined {
  if (!isActive(role)) return undefined;
  return (MATRIX[action] as Partial<Record<ActiveRole, Grant>>)[role];
}

/** Organization-wide actions (no workspace/project in scope) are allowed only with an 'org' grant. */
export const canInOrganization = (role: Role, action: Action) => grantOf(role, action) === 'org';

/** The permission codes whoami reports: every action the role may take organization-wide or on its own resources. */
export const permissionsOf = (role: Role): Action[] => ACTIONS.filter((a) => grantOf(role, a) !== undefined);


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

/** May the user do `action` given their access to the resource in scope? */
export function allows(access: Access, action: Action): boolean {
  if (!access.allowed) return false;
  const grant = grantOf(access.role, action);
  // 'member' grants need membership, which an allowed access already proves; 'org' grants hold anyway.
  return grant !== undefined;
}
