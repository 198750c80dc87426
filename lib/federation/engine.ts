/**
 * The group-mapping engine, one for SCIM and SAML (SPEC §7): brings a member's organization role,
 * workspace memberships and project memberships in line with their IdP groups. Its writes go
 * through the same services and conditions as the API's (an Owner is never demoted; a deleted
 * membership is never touched; a membership is only added to a workspace or project that exists),
 * stamped with the change context of the work in progress (source `scim` or `saml`), so each change
 * reaches the activity log with its cause. Every access the engine grants is recorded with the
 * group behind it (an assignment record); the engine only ever takes away access it recorded.
 */
import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { changeMembership } from '../access/jobs.js';
import { setProjectRoleFromIdp } from '../access/projects.js';
import { type Db, batchGet, queryAll } from '../core/db.js';
import { nextId } from '../core/ids.js';
import { asMembership, asOrganization } from '../core/items.js';
import type { Role } from '../core/roles.js';
import { type AssignmentScope, keys } from '../core/table.js';
import { now } from '../core/util.js';
import { setRoleFromIdp } from '../org/organizations.js';
import { type StoredMappings, desired } from './mappings.js';

export type IdpSource = 'scim' | 'saml';

export interface ApplyInput {
  orgId: number;
  userId: number;
  /** The member's IdP groups now (names, case-sensitive). */
  groups: readonly string[];
  source: IdpSource;
  mappings: StoredMappings;
  /**
   * SCIM's `active`: false → Deactivated at once; true on a Deactivated member → the mapped role,
   * or the organization's default role when the mappings do not decide it. Absent: groups alone.
   */
  active?: boolean;
}

export interface ApplyResult {
  role?: { from: Role; to: Role };
  workspacesAdded: number[];
  workspacesRemoved: number[];
  projectsAdded: number[];
  projectsRemoved: number[];
}

/** An assignment record as stored (see the contract in the seat report: configured / orphaned / missing_membership). */
export interface Assignment {
  assignment_id: number;
  user_id: number;
  kind: AssignmentScope['kind'];
  workspace_id?: number;
  project_id?: number;
  group: string;
  assigned_role: string | null;
  source: IdpSource;
  created_at: string;
  updated_at: string;
}

const scopeOf = (a: Pick<Assignment, 'kind' | 'workspace_id' | 'project_id'>): AssignmentScope =>
  a.kind === 'organization_role' ? { kind: a.kind } : a.kind === 'workspace' ? { kind: a.kind, id: a.workspace_id! } : { kind: a.kind, id: a.project_id! };

/** A member's assignment records: one strongly consistent Query. */
export async function assignmentsOf(db: Db, orgId: number, userId: number): Promise<Assignment[]> {
  const { PK, SKPrefix } = keys.assignmentPrefix(orgId, userId);
  return (await queryAll(db, { KeyConditionExpression: 'PK = :pk AND begins_with(SK, :a)', ExpressionAttributeValues: { ':pk': PK, ':a': SKPrefix }, ConsistentRead: true })) as unknown as Assignment[];
}

/** Record (or re-point) an assignment; unchanged records are not rewritten. */
async function record(db: Db, orgId: number, userId: number, existing: Assignment | undefined, a: Pick<Assignment, 'kind' | 'workspace_id' | 'project_id' | 'group' | 'assigned_role' | 'source'>): Promise<void> {
  if (existing && existing.group === a.group && (existing.assigned_role ?? null) === (a.assigned_role ?? null) && existing.source === a.source) return;
  const at = now();
  const item: Assignment = {
    assignment_id: existing?.assignment_id ?? (await nextId(db, 'assignment')),
    user_id: userId,
    ...a,
    assigned_role: a.assigned_role ?? null,
    created_at: existing?.created_at ?? at,
    updated_at: at,
  };
  await db.doc.send(new PutCommand({ TableName: db.table, Item: { ...keys.assignment(orgId, userId, scopeOf(item)), type: 'idp_assignment', ...item } }));
}

async function unrecord(db: Db, orgId: number, userId: number, a: Assignment): Promise<void> {
  await db.doc.send(new DeleteCommand({ TableName: db.table, Key: keys.assignment(orgId, userId, scopeOf(a)) }));
}

/**
 * Bring one member in line with their groups. Reads: the membership, the organization, and the
 * workspace/project memberships the groups ask for, in one strongly consistent BatchGet, beside one
 * Query of the member's assignment records; then only the writes that change something.
 */
export async function applyMappings(db: Db, input: ApplyInput): Promise<ApplyResult> {
  const { orgId, userId, source, mappings } = input;
  const want = desired(mappings, input.groups);
  const result: ApplyResult = { workspacesAdded: [], workspacesRemoved: [], projectsAdded: [], projectsRemoved: [] };
  const wsWanted = [...(want.workspaces?.keys() ?? [])];
  const projWanted = [...(want.projects?.keys() ?? [])];
  const [items, records] = await Promise.all([
    batchGet(
      db,
      [
        keys.membership(orgId, userId),
        keys.organization(orgId),
        ...wsWanted.map((w) => keys.workspaceMember(orgId, w, userId)),
        ...projWanted.map((p) => keys.projectMember(orgId, p, userId)),
      ],
      true,
    ),
    assignmentsOf(db, orgId, userId),
  ]);
  const memberItem = items.find((i) => i.SK === keys.membership(orgId, userId).SK);
  const orgItem = items.find((i) => i.SK === 'ORG');
  if (!memberItem || !orgItem) return result;
  const membership = asMembership(memberItem);
  if (membership.deleted_at !== null) return result;
  const has = new Set(items.map((i) => String(i.SK)));
  const recorded = (kind: Assignment['kind'], id?: number) =>
    records.find((r) => r.kind === kind && (kind === 'organization_role' || (kind === 'workspace' ? r.workspace_id === id : r.project_id === id)));

  // The organization role. The Owner's is never the IdP's to change.
  let role: Role = membership.role;
  if (membership.role !== 'OW') {
    let target: Role = membership.role;
    if (input.active === false) target = 'DI';
    else if (want.role) target = want.role.role;
    else if (input.active === true && membership.role === 'DI') target = asOrganization(orgItem).default_role;
    if (target !== membership.role) {
      const after = await setRoleFromIdp(db, orgId, userId, target as Exclude<Role, 'OW'>, source);
      if (after) {
        result.role = { from: membership.role, to: after.role };
        role = after.role;
      }
    }
    const roleRecord = recorded('organization_role');
    if (want.role && want.role.role !== 'DI' && role === want.role.role) {
      await record(db, orgId, userId, roleRecord, { kind: 'organization_role', group: want.role.group!, assigned_role: want.role.role, source });
    } else if (roleRecord && (want.role || input.active === false)) {
      // The mappings no longer give this role (or SCIM deactivated the member): the record goes.
      await unrecord(db, orgId, userId, roleRecord);
    }
  }

  // Workspaces: add what the groups give, remove what the IdP gave and the groups no longer do.
  if (want.workspaces) {
    for (const [wsId, group] of want.workspaces) {
      const rec = recorded('workspace', wsId);
      if (!has.has(keys.workspaceMember(orgId, wsId, userId).SK)) {
        const r = await changeMembership(db, orgId, 'workspace.assign', wsId, userId, null);
        if (r === 'gone') continue;
        if (r === 'done') result.workspacesAdded.push(wsId);
        await record(db, orgId, userId, rec, { kind: 'workspace', workspace_id: wsId, group, assigned_role: null, source });
      } else if (rec) {
        await record(db, orgId, userId, rec, { kind: 'workspace', workspace_id: wsId, group, assigned_role: null, source });
      }
    }
    for (const rec of records.filter((r) => r.kind === 'workspace' && !want.workspaces!.has(r.workspace_id!))) {
      if ((await changeMembership(db, orgId, 'workspace.unassign', rec.workspace_id!, userId, null)) === 'done') result.workspacesRemoved.push(rec.workspace_id!);
      await unrecord(db, orgId, userId, rec);
    }
  }

  // Projects: the same, and the project role the mapping brings (Annotators and Reviewers only).
  if (want.projects) {
    for (const [projectId, { group, role: projectRole }] of want.projects) {
      const rec = recorded('project', projectId);
      let member = has.has(keys.projectMember(orgId, projectId, userId).SK);
      if (!member) {
        const r = await changeMembership(db, orgId, 'project.assign', projectId, userId, null);
        if (r === 'gone') continue;
        if (r === 'done') result.projectsAdded.push(projectId);
        member = true;
      } else if (!rec) continue;
      if (projectRole) await setProjectRoleFromIdp(db, orgId, projectId, userId, role, projectRole, source);
      else if (rec?.assigned_role) await setProjectRoleFromIdp(db, orgId, projectId, userId, role, null, source);
      await record(db, orgId, userId, rec, { kind: 'project', project_id: projectId, group, assigned_role: projectRole ?? null, source });
    }
    for (const rec of records.filter((r) => r.kind === 'project' && !want.projects!.has(r.project_id!))) {
      if ((await changeMembership(db, orgId, 'project.unassign', rec.project_id!, userId, null)) === 'done') result.projectsRemoved.push(rec.project_id!);
      if (rec.assigned_role) await setProjectRoleFromIdp(db, orgId, rec.project_id!, userId, role, null, source);
      await unrecord(db, orgId, userId, rec);
    }
  }
  return result;
}
