import { type Project, type Workspace, asProject, asWorkspace, workspaceFacts, workspaceFactsKeys } from './effective.js';
import type { Caller } from '../identity/auth.js';
import { type Db, batchGet, cancellationReasons, inOrder, queryAll, transactWrite } from '../core/db.js';
import { ConflictError, ForbiddenError, NotFoundError } from '../core/errors.js';
import { nextId } from '../core/ids.js';
import { asMembership, workspaceMemberItem } from '../core/items.js';
import { changeOne } from './jobs.js';
import type { Membership, Principal } from '../core/model.js';
import { authorize, liveMember } from '../org/organizations.js';
import { type Page, type PageRequest, queryPrefixPage } from '../core/pagination.js';
import { type Action, allows } from '../core/permissions.js';
import { idOf, keys, pad } from '../core/table.js';
import { now } from '../core/util.js';

const isAdmin = (p: Principal) => p.role === 'OW' || p.role === 'AD';

/**
 * The caller's workspace, checked for `action`: a workspace they cannot even read is 404 (its
 * existence is not revealed); one they can read but not act on is 403.
 */
/** What workspaceFor reads (a route prefetches it with its caller). */
export const workspaceForKeys = (c: Caller, wsId: number) => workspaceFactsKeys(c.orgId, c.userId, wsId);

export async function workspaceFor(db: Db, p: Principal, wsId: number, action: Action): Promise<Workspace> {
  const facts = await workspaceFacts(db, p.orgId, p.userId, wsId);
  if (!allows(facts.access, 'workspace.read', p.overrides)) throw new NotFoundError();
  if (!allows(facts.access, action, p.overrides)) throw new ForbiddenError();
  return facts.workspace;
}

/** Workspaces the caller sees: Owners and Administrators all; others those they belong to (Managers also those they created). */
export async function listWorkspaces(db: Db, p: Principal): Promise<Workspace[]> {
  const org = keys.organization(p.orgId).PK;
  const all = (await queryAll(db, { KeyConditionExpression: 'PK = :pk AND begins_with(SK, :ws)', ExpressionAttributeValues: { ':pk': org, ':ws': 'WS#' } })).map(asWorkspace);
  if (isAdmin(p)) return all;
  const mine = await queryAll(db, {
    IndexName: 'GSI1',
    KeyConditionExpression: 'GSI1PK = :u AND begins_with(GSI1SK, :w)',
    ExpressionAttributeValues: { ':u': keys.workspaceMemberByUser(p.userId, p.orgId, 0).GSI1PK, ':w': `WSM#${pad(p.orgId)}#` },
  });
  const ids = new Set(mine.map((m) => m.workspace as number));
  return all.filter((w) => ids.has(w.id) || (p.role === 'MA' && w.created_by === p.userId));
}

export interface WorkspaceInput {
  title: string;
  description?: string | null;
  color?: string | null;
  is_archived?: boolean;
  is_personal?: boolean;
}

/** Create a workspace; its creator becomes its first member. */
export async function createWorkspace(db: Db, p: Principal, input: WorkspaceInput): Promise<Workspace> {
  await authorize(db, p, p.orgId, 'workspace.create');
  const id = await nextId(db, 'workspace');
  const ws: Workspace = {
    id,
    title: input.title,
    description: input.description ?? null,
    color: input.color ?? null,
    is_archived: input.is_archived ?? false,
    is_personal: input.is_personal ?? false,
    created_by: p.userId,
    created_at: now(),
    projects_count: 0,
  };
  await transactWrite(db, [
    { Put: { TableName: db.table, Item: { ...keys.workspace(p.orgId, id), type: 'workspace', ...ws }, ConditionExpression: 'attribute_not_exists(PK)' } },
    { Put: { TableName: db.table, Item: workspaceMemberItem(p.orgId, id, p.userId, p.userId, now()) } },
  ]);
  return ws;
}

export async function updateWorkspace(db: Db, p: Principal, wsId: number, patch: Partial<WorkspaceInput>): Promise<Workspace> {
  const ws = await workspaceFor(db, p, wsId, 'workspace.update');
  const next = { ...ws, ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) };
  await transactWrite(db, [
    {
      Put: {
        TableName: db.table,
        Item: { ...keys.workspace(p.orgId, wsId), type: 'workspace', ...next },
        // Never overwrite a project count that moved meanwhile.
        ConditionExpression: 'projects_count = :n',
        ExpressionAttributeValues: { ':n': ws.projects_count },
      },
    },
  ]).catch((err) => {
    if (cancellationReasons(err)) throw new ConflictError('The workspace changed meanwhile; retry.');
    throw err;
  });
  return next;
}

/** Delete a workspace, only when it holds no projects (409 otherwise). Its membership items go with it in the background of reads: nothing refers to a deleted workspace. */
export async function deleteWorkspace(db: Db, p: Principal, wsId: number): Promise<void> {
  await workspaceFor(db, p, wsId, 'workspace.delete');
  try {
    await transactWrite(db, [{ Delete: { TableName: db.table, Key: keys.workspace(p.orgId, wsId), ConditionExpression: 'projects_count = :zero', ExpressionAttributeValues: { ':zero': 0 } } }]);
  } catch (err) {
    if (cancellationReasons(err)) throw new ConflictError('The workspace still holds projects: move or delete them first.');
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Members

/** Members (not deleted) of the organization, by user id: one BatchGet per 100. */
export async function orgMembers(db: Db, orgId: number, userIds: number[]): Promise<Map<number, Membership>> {
  const items = await batchGet(db, userIds.map((u) => keys.membership(orgId, u)), true);
  return new Map(items.map(asMembership).filter((m) => m.deleted_at === null).map((m) => [m.user_id, m]));
}

/** GET …/memberships/: every member of the workspace (LSE answers a plain array). */
export async function listWorkspaceMembers(db: Db, p: Principal, wsId: number): Promise<Membership[]> {
  await workspaceFor(db, p, wsId, 'workspace.members.manage');
  const { PK, SKPrefix } = keys.workspaceMemberPrefix(p.orgId, wsId);
  const items = await queryAll(db, { KeyConditionExpression: 'PK = :pk AND begins_with(SK, :sk)', ExpressionAttributeValues: { ':pk': PK, ':sk': SKPrefix } });
  const members = await orgMembers(db, p.orgId, items.map((i) => i.user_id as number));
  return items.map((i) => members.get(i.user_id as number)).filter((m): m is Membership => !!m);
}

/** GET …/memberships/paginated/: one page of workspace members, with the cursor of the member listing. */
export async function pageWorkspaceMembers(db: Db, p: Principal, wsId: number, page: PageRequest): Promise<Page<Membership>> {
  await workspaceFor(db, p, wsId, 'workspace.members.manage');
  const { PK, SKPrefix } = keys.workspaceMemberPrefix(p.orgId, wsId);
  const result = await queryPrefixPage<Record<string, unknown>>(db, PK, SKPrefix, page);
  const members = await orgMembers(db, p.orgId, result.items.map((i) => i.user_id as number));
  return { ...result, items: result.items.map((i) => members.get(i.user_id as number)).filter((m): m is Membership => !!m) };
}

/** Add a member of the organization to the workspace (idempotent): they see all its projects at once. */
export async function addWorkspaceMember(db: Db, p: Principal, wsId: number, userId: number): Promise<void> {
  await inOrder(workspaceFor(db, p, wsId, 'workspace.members.manage'), liveMember(db, p.orgId, userId));
  // Conditional on the workspace still existing, so no membership outlives a deleted workspace.
  if ((await changeOne(db, p, 'workspace.assign', wsId, userId)) === 'gone') throw new NotFoundError();
}

/** Remove a workspace member: their implicit access to its projects ends on the next request. */
export async function removeWorkspaceMember(db: Db, p: Principal, wsId: number, userId: number): Promise<void> {
  await workspaceFor(db, p, wsId, 'workspace.members.manage');
  if ((await changeOne(db, p, 'workspace.unassign', wsId, userId)) !== 'done') throw new NotFoundError('Not a member of this workspace.');
}

// ---------------------------------------------------------------------------------------------
// Projects of a workspace

/** Projects in a workspace (GSI2), for anyone who can read the workspace: its members see them all. */
export async function workspaceProjects(db: Db, p: Principal, wsId: number): Promise<Project[]> {
  await workspaceFor(db, p, wsId, 'workspace.read');
  const { GSI2PK } = keys.projectInWorkspace(p.orgId, wsId, 0);
  return (await queryAll(db, { IndexName: 'GSI2', KeyConditionExpression: 'GSI2PK = :w', ExpressionAttributeValues: { ':w': GSI2PK } })).map(asProject);
}

/** Member ids of a workspace, for listings (keys only). */
export async function workspaceMemberIds(db: Db, orgId: number, wsId: number): Promise<number[]> {
  const { PK, SKPrefix } = keys.workspaceMemberPrefix(orgId, wsId);
  const items = await queryAll(db, { KeyConditionExpression: 'PK = :pk AND begins_with(SK, :sk)', ExpressionAttributeValues: { ':pk': PK, ':sk': SKPrefix }, ProjectionExpression: 'SK' });
  return items.map((i) => idOf(String(i.SK)));
}
