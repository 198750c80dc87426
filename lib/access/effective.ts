/**
 * Effective access to workspaces and projects, read fresh from the table and decided by the pure
 * rules of lib/core/permissions.ts. The API's own checks and the access-check API both come through here,
 * so they cannot disagree. A project check is 2 round trips (the project, then one BatchGet of the
 * organization membership, direct and workspace membership and project role); a workspace check 1.
 */
import { type Db, getItem, batchGet } from '../core/db.js';
import { NotFoundError } from '../core/errors.js';
import { asMembership } from '../core/items.js';
import type { Membership } from '../core/model.js';
import { type Access, projectAccess, workspaceAccess } from '../core/permissions.js';
import type { ProjectRole, RoleSource } from '../core/roles.js';
import { keys, stripKeys } from '../core/table.js';

export interface Workspace {
  id: number;
  title: string;
  description: string | null;
  color: string | null;
  is_archived: boolean;
  is_personal: boolean;
  created_by: number;
  created_at: string;
  projects_count: number;
}

export interface Project {
  id: number;
  title: string;
  description: string | null;
  workspace: number | null;
  published: boolean;
  annotator_instructions: string;
  reviewer_instructions: string;
  created_by: number;
  created_at: string;
}

export interface ProjectRoleRecord {
  id: number;
  project: number;
  user: number;
  role: ProjectRole;
  role_source: RoleSource;
}

const clean = <T>(item: Record<string, unknown>) => {
  const { type: _t, ...rest } = stripKeys(item);
  return rest as unknown as T;
};
export const asWorkspace = (i: Record<string, unknown>) => clean<Workspace>(i);
export const asProject = (i: Record<string, unknown>) => clean<Project>(i);
export const asProjectRole = (i: Record<string, unknown>) => clean<ProjectRoleRecord>(i);

export async function readProject(db: Db, orgId: number, projectId: number): Promise<Project | undefined> {
  const r = await getItem(db, keys.project(orgId, projectId));
  return r ? asProject(r) : undefined;
}

export interface ProjectFacts {
  project: Project;
  membership?: Membership;
  projectMember: boolean;
  workspaceMember: boolean;
  projectRole?: ProjectRoleRecord;
  access: Access;
}

/**
 * What projectFacts reads by key before it knows the project's workspace: a route prefetches these
 * with its caller, leaving only the workspace membership to read.
 */
export const projectFactsKeys = (orgId: number, userId: number, projectId: number) => [
  keys.project(orgId, projectId),
  keys.membership(orgId, userId),
  keys.projectMember(orgId, projectId, userId),
  keys.projectRole(orgId, projectId, userId),
];

/** Everything that decides a user's access to a project, and the decision. Unknown project → 404. */
export async function projectFacts(db: Db, orgId: number, userId: number, projectId: number): Promise<ProjectFacts> {
  const project = await readProject(db, orgId, projectId);
  if (!project) throw new NotFoundError();
  const wanted = [
    keys.membership(orgId, userId),
    keys.projectMember(orgId, projectId, userId),
    keys.projectRole(orgId, projectId, userId),
    ...(project.workspace ? [keys.workspaceMember(orgId, project.workspace, userId)] : []),
  ];
  const items = await batchGet(db, wanted, true);
  const has = (k: { SK: string }) => items.find((i) => i.SK === k.SK);
  const m = has(wanted[0]!);
  const membership = m ? asMembership(m) : undefined;
  const role = has(wanted[2]!);
  const projectRole = role ? asProjectRole(role) : undefined;
  const projectMember = !!has(wanted[1]!);
  const workspaceMember = !!(wanted[3] && has(wanted[3]));
  const access = projectAccess({
    orgRole: membership?.role,
    deleted: membership ? membership.deleted_at !== null : false,
    projectMember,
    workspaceMember,
    creator: project.created_by === userId,
    projectRole: projectRole?.role,
  });
  return { project, membership, projectMember, workspaceMember, projectRole, access };
}

export interface WorkspaceFacts {
  workspace: Workspace;
  membership?: Membership;
  workspaceMember: boolean;
  access: Access;
}

/** What workspaceFacts reads: the workspace, the user's membership and workspace membership. */
export const workspaceFactsKeys = (orgId: number, userId: number, wsId: number) => [keys.workspace(orgId, wsId), keys.membership(orgId, userId), keys.workspaceMember(orgId, wsId, userId)];

/** Everything that decides a user's access to a workspace: one BatchGet. Unknown workspace → 404. */
export async function workspaceFacts(db: Db, orgId: number, userId: number, wsId: number): Promise<WorkspaceFacts> {
  const wanted = workspaceFactsKeys(orgId, userId, wsId);
  const items = await batchGet(db, wanted, true);
  const has = (k: { SK: string }) => items.find((i) => i.SK === k.SK);
  const ws = has(wanted[0]!);
  if (!ws) throw new NotFoundError();
  const workspace = asWorkspace(ws);
  const m = has(wanted[1]!);
  const membership = m ? asMembership(m) : undefined;
  const workspaceMember = !!has(wanted[2]!);
  const access = workspaceAccess({
    orgRole: membership?.role,
    deleted: membership ? membership.deleted_at !== null : false,
    workspaceMember,
    creator: workspace.created_by === userId,
  });
  return { workspace, membership, workspaceMember, access };
}
