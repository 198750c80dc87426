import { QueryCommand, type QueryCommandInput, type QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import { type Project, type ProjectFacts, type ProjectRoleRecord, asProject, asProjectRole, projectFacts, projectFactsKeys, readProject, workspaceFacts, workspaceFactsKeys } from './effective.js';
import type { Caller } from '../identity/auth.js';
export type { Project } from './effective.js';
import { type Db, getItem, batchGet, cancellationReasons, inOrder, queryAll, transactWrite } from '../core/db.js';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../core/errors.js';
import { nextId } from '../core/ids.js';
import { asMembership } from '../core/items.js';
import { changeOne } from './jobs.js';
import { type Membership, type Principal, isActiveMembership } from '../core/model.js';
import { authorize, liveMember } from '../org/organizations.js';
import { type Access, type Action, allows, projectAccess } from '../core/permissions.js';
import type { ProjectRole } from '../core/roles.js';
import { idOf, keys, pad } from '../core/table.js';
import { now } from '../core/util.js';
import { orgMembers, workspaceFor } from './workspaces.js';

/** The largest id a key holds (ten digits): a cursor past it points nowhere. */
const MAX_ID = 9_999_999_999;

/** The caller's project, checked for `action`: unreadable → 404 (not revealed), readable but not allowed → 403. */
/** What projectFor reads by key before the project's workspace is known (a route prefetches them). */
export const projectForKeys = (c: Caller, projectId: number) => projectFactsKeys(c.orgId, c.userId, projectId);

export async function projectFor(db: Db, p: Principal, projectId: number, action: Action): Promise<ProjectFacts> {
  const facts = await projectFacts(db, p.orgId, p.userId, projectId);
  if (!allows(facts.access, 'project.read', p.overrides)) throw new NotFoundError();
  if (!allows(facts.access, action, p.overrides)) throw new ForbiddenError();
  return facts;
}

export interface ProjectInput {
  title: string;
  description?: string | null;
  workspace?: number | null;
  published?: boolean;
  annotator_instructions?: string;
  reviewer_instructions?: string;
}

const projectItem = (orgId: number, project: Project) => ({
  ...keys.project(orgId, project.id),
  ...(project.workspace ? keys.projectInWorkspace(orgId, project.workspace, project.id) : {}),
  type: 'project',
  ...project,
});

const countIn = (db: Db, orgId: number, wsId: number, delta: 1 | -1) => ({
  Update: {
    TableName: db.table,
    Key: keys.workspace(orgId, wsId),
    UpdateExpression: 'ADD projects_count :d',
    ConditionExpression: 'attribute_exists(PK)',
    ExpressionAttributeValues: { ':d': delta },
  },
});

/** Creating in a workspace needs project.create there; outside any workspace, organization-wide. */
async function checkCreateIn(db: Db, p: Principal, wsId: number | null | undefined): Promise<void> {
  if (wsId) await workspaceFor(db, p, wsId, 'project.create');
  else await authorize(db, p, p.orgId, 'project.create');
}

export async function createProject(db: Db, p: Principal, input: ProjectInput): Promise<Project> {
  await checkCreateIn(db, p, input.workspace);
  const project: Project = {
    id: await nextId(db, 'project'),
    title: input.title,
    description: input.description ?? null,
    workspace: input.workspace ?? null,
    published: input.published ?? false,
    annotator_instructions: input.annotator_instructions ?? '',
    reviewer_instructions: input.reviewer_instructions ?? '',
    created_by: p.userId,
    created_at: now(),
  };
  try {
    await transactWrite(db, [
      { Put: { TableName: db.table, Item: projectItem(p.orgId, project), ConditionExpression: 'attribute_not_exists(PK)' } },
      ...(project.workspace ? [countIn(db, p.orgId, project.workspace, 1)] : []),
    ]);
  } catch (err) {
    if (cancellationReasons(err)) throw new ValidationError('Validation error', { workspace: ['No such workspace.'] });
    throw err;
  }
  return project;
}

/** Write a project, moving it between workspaces when its workspace changed: counts and index move with it in one transaction. */
async function writeProject(db: Db, orgId: number, before: Project, after: Project): Promise<void> {
  const moved = before.workspace !== after.workspace;
  try {
    await transactWrite(db, [
      {
        Put: {
          TableName: db.table,
          Item: projectItem(orgId, after),
          ConditionExpression: before.workspace === null ? 'attribute_exists(PK) AND workspace = :null' : 'workspace = :ws',
          ExpressionAttributeValues: before.workspace === null ? { ':null': null } : { ':ws': before.workspace },
        },
      },
      ...(moved && before.workspace ? [countIn(db, orgId, before.workspace, -1)] : []),
      ...(moved && after.workspace ? [countIn(db, orgId, after.workspace, 1)] : []),
    ]);
  } catch (err) {
    if (cancellationReasons(err)) throw new ConflictError('The project or its workspace changed meanwhile; retry.');
    throw err;
  }
}

export async function updateProject(db: Db, p: Principal, projectId: number, patch: Partial<ProjectInput>): Promise<{ project: Project; access: Access }> {
  const facts = await projectFor(db, p, projectId, 'project.update');
  if (patch.workspace !== undefined && patch.workspace !== facts.project.workspace) await checkCreateIn(db, p, patch.workspace);
  const next: Project = { ...facts.project, ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) };
  await writeProject(db, p.orgId, facts.project, next);
  return { project: next, access: facts.access };
}

export async function deleteProject(db: Db, p: Principal, projectId: number): Promise<void> {
  const { project } = await projectFor(db, p, projectId, 'project.delete');
  try {
    await transactWrite(db, [
      { Delete: { TableName: db.table, Key: keys.project(p.orgId, projectId), ConditionExpression: 'attribute_exists(PK)' } },
      ...(project.workspace ? [countIn(db, p.orgId, project.workspace, -1)] : []),
    ]);
  } catch (err) {
    if (cancellationReasons(err)) throw new NotFoundError();
    throw err;
  }
}

/** POST /api/workspaces/{id}/projects/ {project}: move a project into a workspace (its implicit members move with it). */
export async function moveProject(db: Db, p: Principal, wsId: number | null, projectId: number): Promise<void> {
  const facts = await projectFor(db, p, projectId, 'project.update');
  if (wsId) await workspaceFor(db, p, wsId, 'project.create');
  await writeProject(db, p.orgId, facts.project, { ...facts.project, workspace: wsId });
}

/** DELETE /api/workspaces/{id}/projects/?project=: take a project out of this workspace. */
export async function removeProjectFromWorkspace(db: Db, p: Principal, wsId: number, projectId: number): Promise<void> {
  await workspaceFor(db, p, wsId, 'workspace.update');
  const project = await readProject(db, p.orgId, projectId);
  if (!project || project.workspace !== wsId) throw new NotFoundError('The project is not in this workspace.');
  await moveProject(db, p, null, projectId);
}

// ---------------------------------------------------------------------------------------------
// Project members

/** Add a direct member (idempotent). */
export async function addProjectMember(db: Db, p: Principal, projectId: number, userId: number): Promise<void> {
  await inOrder(projectFor(db, p, projectId, 'project.members.manage'), liveMember(db, p.orgId, userId));
  if ((await changeOne(db, p, 'project.assign', projectId, userId)) === 'gone') throw new NotFoundError();
}

/** Remove a direct member. Implicit members (through the workspace, or as OW/AD) cannot be removed here: 409 with the reason. */
export async function removeProjectMember(db: Db, p: Principal, projectId: number, userId: number): Promise<void> {
  await projectFor(db, p, projectId, 'project.members.manage');
  if ((await changeOne(db, p, 'project.unassign', projectId, userId)) === 'done') return;
  const target = await projectFacts(db, p.orgId, userId, projectId);
  if (target.access.allowed && target.access.implicit) {
    const why = target.access.reason === 'organization_role' ? `they are ${target.access.role === 'OW' ? 'the Owner' : 'an Administrator'}` : 'they belong to the project\'s workspace';
    throw new ConflictError(`Implicit member: ${why}; remove them there instead.`);
  }
  throw new NotFoundError('Not a member of this project.');
}

export interface ProjectMemberView {
  membership: Membership;
  implicit: boolean;
  projectRole?: ProjectRoleRecord;
  access: Access;
}

export interface MemberQuery {
  implicit?: boolean;
  role?: string[];
  search?: string;
  ids?: number[];
  cursor?: string;
  pageSize: number;
}

/**
 * Members of a project, direct and implicit (workspace members, Owners and Administrators), in user
 * id order, one page at a time: the direct and workspace memberships are two key-ordered streams
 * merged from the cursor on (never the whole collection), with the organization's Owner and
 * Administrators; filtered on the decided access.
 */
export async function projectMembers(db: Db, p: Principal, projectId: number, q: MemberQuery): Promise<{ items: ProjectMemberView[]; next?: string }> {
  const { project } = await projectFor(db, p, projectId, 'project.read');
  const org = keys.organization(p.orgId).PK;
  let after = 0;
  if (q.cursor) {
    const n = Number(Buffer.from(q.cursor, 'base64url').toString());
    if (!Number.isInteger(n) || n < 0 || n > MAX_ID) throw new ValidationError('Invalid cursor.', { cursor: ['Invalid cursor.'] });
    after = n;
  }
  const ids = q.ids ? new Set(q.ids) : undefined;
  const out: ProjectMemberView[] = [];
  const batch = Math.min(100, Math.max(q.pageSize, 25));
  // Owners and Administrators are implicit members everywhere: read once (one round trip per MB of
  // members, DynamoDB filtering), not walked a window at a time.
  const admins = (
    await queryAll(db, {
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :m)',
      FilterExpression: '#r IN (:ow, :ad) AND deleted_at = :null',
      ExpressionAttributeNames: { '#r': 'role' },
      ExpressionAttributeValues: { ':pk': org, ':m': 'MEMBER#', ':ow': 'OW', ':ad': 'AD', ':null': null },
      ProjectionExpression: 'user_id',
      ConsistentRead: true,
    })
  ).map((i) => i.user_id as number);
  for (;;) {
    const stream = async (prefix: string) => {
      const r = await db.doc.send(
        new QueryCommand({
          TableName: db.table,
          KeyConditionExpression: 'PK = :pk AND SK BETWEEN :from AND :to',
          ExpressionAttributeValues: { ':pk': org, ':from': `${prefix}${pad(after + 1)}`, ':to': `${prefix}9999999999` },
          ProjectionExpression: 'SK',
          Limit: batch,
          ConsistentRead: true,
        }),
      );
      return { ids: (r.Items ?? []).map((i) => idOf(String(i.SK))), more: !!r.LastEvaluatedKey };
    };
    const [direct, viaWs] = await Promise.all([
      stream(`PM#${pad(projectId)}#`),
      project.workspace ? stream(`WSM#${pad(project.workspace)}#`) : Promise.resolve({ ids: [] as number[], more: false }),
    ]);
    // Within this window, every candidate up to the smallest unfinished stream's frontier is complete.
    const frontier = Math.min(...[direct, viaWs].filter((s) => s.more).map((s) => s.ids.at(-1)!), Number.MAX_SAFE_INTEGER);
    const candidates = new Set<number>([...direct.ids, ...viaWs.ids, ...admins.filter((a) => a > after)].filter((id) => id <= frontier));
    const sorted = [...candidates].sort((a, b) => a - b);
    const [memberships, roles] = await Promise.all([
      orgMembers(db, p.orgId, sorted),
      batchGet(db, sorted.map((u) => keys.projectRole(p.orgId, projectId, u)), true),
    ]);
    const directIds = new Set(direct.ids);
    const wsIds = new Set(viaWs.ids);
    for (const id of sorted) {
      after = id;
      const membership = memberships.get(id);
      if (!membership) continue;
      const role = roles.find((r) => idOf(String(r.SK)) === id);
      const projectRole = role ? asProjectRole(role) : undefined;
      const access = projectAccess({ orgRole: membership.role, deleted: false, projectMember: directIds.has(id), workspaceMember: wsIds.has(id), projectRole: projectRole?.role });
      if (!access.allowed) continue;
      const view = { membership, implicit: access.implicit, projectRole, access };
      if (q.implicit !== undefined && view.implicit !== q.implicit) continue;
      if (q.role?.length && !q.role.includes(access.role)) continue;
      if (ids && !ids.has(id)) continue;
      if (q.search && !`${membership.user.email} ${membership.user.username} ${membership.user.first_name} ${membership.user.last_name}`.toLowerCase().includes(q.search.toLowerCase())) continue;
      out.push(view);
      if (out.length === q.pageSize) return { items: out, next: Buffer.from(String(after)).toString('base64url') };
    }
    if (frontier === Number.MAX_SAFE_INTEGER) return { items: out };
    after = frontier;
  }
}

// ---------------------------------------------------------------------------------------------
// Project roles (SPEC §2: AN/RE on one project, only for Annotators and Reviewers)

export async function setProjectRole(db: Db, p: Principal, input: { project: number; user: number; role: string }): Promise<ProjectRoleRecord> {
  if (input.role !== 'AN' && input.role !== 'RE') throw new ValidationError('Validation error', { role: ['A project role is AN or RE.'] });
  await projectFor(db, p, input.project, 'project.members.manage');
  const m = await liveMember(db, p.orgId, input.user);
  if (m.role !== 'AN' && m.role !== 'RE') throw new ConflictError('Project roles apply to Annotators and Reviewers only; Managers, Administrators and Owners are never downgraded.');
  const existing = (await getItem(db, keys.projectRole(p.orgId, input.project, input.user)));
  const record: ProjectRoleRecord = { id: existing ? (existing.id as number) : await nextId(db, 'project_role'), project: input.project, user: input.user, role: input.role as ProjectRole, role_source: p.via === 'cognito' ? 'manual' : 'api' };
  await transactWrite(db, [
    { Put: { TableName: db.table, Item: { ...keys.projectRole(p.orgId, input.project, input.user), type: 'project_role', ...record } } },
    { Put: { TableName: db.table, Item: { ...keys.projectRoleId(p.orgId, record.id), type: 'project_role_id', project: input.project, user: input.user } } },
  ]);
  return record;
}

export async function deleteProjectRole(db: Db, p: Principal, roleId: number): Promise<void> {
  const ref = (await getItem(db, keys.projectRoleId(p.orgId, roleId)));
  if (!ref) throw new NotFoundError();
  await projectFor(db, p, ref.project, 'project.members.manage');
  await transactWrite(db, [
    { Delete: { TableName: db.table, Key: keys.projectRole(p.orgId, ref.project, ref.user) } },
    { Delete: { TableName: db.table, Key: keys.projectRoleId(p.orgId, roleId) } },
  ]);
}

/** GET /api/projects/{id}/roles: the project's role overrides. */
export async function rolesOfProject(db: Db, p: Principal, projectId: number): Promise<ProjectRoleRecord[]> {
  await projectFor(db, p, projectId, 'project.read');
  const org = keys.organization(p.orgId).PK;
  return (await queryAll(db, { KeyConditionExpression: 'PK = :pk AND begins_with(SK, :r)', ExpressionAttributeValues: { ':pk': org, ':r': `PR#${pad(projectId)}#` } })).map(asProjectRole);
}

/** GET /api/projects/roles/: role overrides of the organization, for those who may list its members. */
export async function listProjectRoles(db: Db, p: Principal, ids?: number[]): Promise<ProjectRoleRecord[]> {
  await authorize(db, p, p.orgId, 'organization.members.list');
  const org = keys.organization(p.orgId).PK;
  const all = (await queryAll(db, { KeyConditionExpression: 'PK = :pk AND begins_with(SK, :r)', ExpressionAttributeValues: { ':pk': org, ':r': 'PR#' } })).map(asProjectRole);
  return ids ? all.filter((r) => ids.includes(r.id)) : all;
}

// ---------------------------------------------------------------------------------------------
// Access checks for the platform's services

export interface Check {
  user_id: number;
  action: Action;
  project_id?: number;
  workspace_id?: number;
}

export interface CheckResult {
  allowed: boolean;
  effective_role: string | null;
  reason: string;
}

/** The caller may check their own access; checking others' is for Owners and Administrators (services). */
async function mayCheck(db: Db, p: Principal, userId: number): Promise<void> {
  if (userId !== p.userId) await authorize(db, p, p.orgId, 'organization.access_review.run');
}

/**
 * Would this user be allowed this action on this project or workspace, and why? Decided by the same
 * facts and rules the API's own endpoints use, read fresh (no cache to go stale): 2 round trips for
 * a project, 1 for a workspace.
 */
/** What checkAccess reads by key before a project's workspace is known (a route prefetches them). */
export const checkKeys = (caller: Caller, c: Check) =>
  c.project_id !== undefined ? projectFactsKeys(caller.orgId, c.user_id, c.project_id) : workspaceFactsKeys(caller.orgId, c.user_id, c.workspace_id!);

export async function checkAccess(db: Db, p: Principal, c: Check): Promise<CheckResult> {
  await mayCheck(db, p, c.user_id);
  const facts =
    c.project_id !== undefined
      ? await projectFacts(db, p.orgId, c.user_id, c.project_id).catch((err) => (err instanceof NotFoundError ? undefined : Promise.reject(err)))
      : await workspaceFacts(db, p.orgId, c.user_id, c.workspace_id!).catch((err) => (err instanceof NotFoundError ? undefined : Promise.reject(err)));
  if (!facts) return { allowed: false, effective_role: null, reason: c.project_id !== undefined ? 'no_such_project' : 'no_such_workspace' };
  const { access } = facts;
  if (!access.allowed) return { allowed: false, effective_role: null, reason: access.reason };
  const allowed = allows(access, c.action, p.overrides);
  return { allowed, effective_role: access.role, reason: allowed ? access.reason : 'role_not_permitted' };
}

/** What accessibleProjects reads by key first: the user's membership. */
export const accessibleProjectsKeys = (c: Caller, userId: number) => [keys.membership(c.orgId, userId)];

/** Up to `limit` items of a Query, following LastEvaluatedKey (DynamoDB stops a page at 1 MB read). */
async function queryUpTo(db: Db, input: Omit<QueryCommandInput, 'TableName' | 'Limit' | 'ExclusiveStartKey'>, limit: number): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const r: QueryCommandOutput = await db.doc.send(new QueryCommand({ ...input, TableName: db.table, Limit: limit - out.length, ExclusiveStartKey: start }));
    out.push(...(r.Items ?? []));
    start = r.LastEvaluatedKey;
  } while (start && out.length < limit);
  return out;
}

/**
 * Projects a user can reach, in id order, a page at a time: Owners and Administrators every project
 * of the organization; others their direct projects and the projects of their workspaces, merged.
 * The project items come from the queries themselves (the table and GSI2 hold them whole); only
 * direct projects outside the user's workspaces are read by key.
 */
export async function accessibleProjects(db: Db, p: Principal, userId: number, page: { cursor?: string; pageSize: number }): Promise<{ items: Project[]; next?: string }> {
  await mayCheck(db, p, userId);
  const m = await getItem(db, keys.membership(p.orgId, userId));
  if (!m) throw new NotFoundError();
  const membership = asMembership(m);
  if (!isActiveMembership(membership)) return { items: [] };
  let after = 0;
  if (page.cursor) {
    after = Number(Buffer.from(page.cursor, 'base64url').toString());
    if (!Number.isInteger(after) || after < 0 || after > MAX_ID) throw new ValidationError('Invalid cursor.', { cursor: ['Invalid cursor.'] });
  }
  const org = keys.organization(p.orgId).PK;
  const limit = page.pageSize + 1;
  const from = (prefix: string) => `${prefix}${pad(after + 1)}`;
  const found = new Map<number, Record<string, unknown>>();
  let ids: number[];
  if (membership.role === 'OW' || membership.role === 'AD') {
    const items = await queryUpTo(db, { KeyConditionExpression: 'PK = :pk AND SK BETWEEN :a AND :z', ExpressionAttributeValues: { ':pk': org, ':a': from('PROJ#'), ':z': 'PROJ#9999999999' } }, limit);
    for (const i of items) found.set(i.id as number, i);
    ids = [...found.keys()];
  } else {
    const user = keys.projectMemberByUser(userId, p.orgId, 0).GSI1PK;
    const orgPad = pad(p.orgId);
    const [direct, workspaces] = await Promise.all([
      queryUpTo(db, { IndexName: 'GSI1', KeyConditionExpression: 'GSI1PK = :u AND GSI1SK BETWEEN :a AND :z', ExpressionAttributeValues: { ':u': user, ':a': from(`PM#${orgPad}#`), ':z': `PM#${orgPad}#9999999999` } }, limit),
      queryAll(db, { IndexName: 'GSI1', KeyConditionExpression: 'GSI1PK = :u AND begins_with(GSI1SK, :w)', ExpressionAttributeValues: { ':u': user, ':w': `WSM#${orgPad}#` } }),
    ]);
    const inWorkspaces = await Promise.all(
      workspaces.map((w) =>
        queryUpTo(
          db,
          {
            IndexName: 'GSI2',
            KeyConditionExpression: 'GSI2PK = :w AND GSI2SK BETWEEN :a AND :z',
            ExpressionAttributeValues: { ':w': keys.projectInWorkspace(p.orgId, w.workspace as number, 0).GSI2PK, ':a': from('PROJ#'), ':z': 'PROJ#9999999999' },
          },
          limit,
        ),
      ),
    );
    for (const i of inWorkspaces.flat()) found.set(i.id as number, i);
    ids = [...new Set([...direct.map((i) => i.project as number), ...found.keys()])].sort((a, b) => a - b).slice(0, limit);
  }
  const pageIds = ids.slice(0, page.pageSize);
  const missing = pageIds.filter((id) => !found.has(id));
  for (const i of await batchGet(db, missing.map((id) => keys.project(p.orgId, id)))) found.set(i.id as number, i);
  const projects = pageIds.flatMap((id) => (found.has(id) ? [asProject(found.get(id)!)] : []));
  const next = ids.length > page.pageSize ? Buffer.from(String(pageIds.at(-1))).toString('base64url') : undefined;
  return { items: projects, next };
}

/** Projects the caller sees (GET /api/projects/). */
export const visibleProjects = (db: Db, p: Principal, page: { cursor?: string; pageSize: number }) => accessibleProjects(db, p, p.userId, page);

/**
 * An identity provider sets or clears a member's role on one project (the federation engine): the
 * same items as setProjectRole, for Annotators and Reviewers only (anyone else is never downgraded
 * by a project role, so nothing is written). Returns whether anything changed.
 */
export async function setProjectRoleFromIdp(db: Db, orgId: number, projectId: number, userId: number, orgRole: string, role: ProjectRole | null, source: 'scim' | 'saml'): Promise<boolean> {
  const existing = await getItem(db, keys.projectRole(orgId, projectId, userId));
  if (role === null) {
    if (!existing) return false;
    await transactWrite(db, [
      { Delete: { TableName: db.table, Key: keys.projectRole(orgId, projectId, userId) } },
      { Delete: { TableName: db.table, Key: keys.projectRoleId(orgId, existing.id as number) } },
    ]);
    return true;
  }
  if (orgRole !== 'AN' && orgRole !== 'RE') return false;
  if (existing && existing.role === role) return false;
  const record: ProjectRoleRecord = { id: existing ? (existing.id as number) : await nextId(db, 'project_role'), project: projectId, user: userId, role, role_source: source };
  await transactWrite(db, [
    { Put: { TableName: db.table, Item: { ...keys.projectRole(orgId, projectId, userId), type: 'project_role', ...record } } },
    { Put: { TableName: db.table, Item: { ...keys.projectRoleId(orgId, record.id), type: 'project_role_id', project: projectId, user: userId } } },
  ]);
  return true;
}
