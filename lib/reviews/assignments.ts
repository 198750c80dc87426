/**
 * The IdP assignment records behind members' access (written by the federation engine, see
 * plan/contract.md), read for a page of members at once: one Query for the records of the page's
 * user id range, one BatchGet of what they stand for (the workspace and project memberships, with
 * the workspaces' and projects' titles) and of the SCIM and SAML settings. Each record gets its
 * mapping status: `missing_membership` when the membership it stands for is gone, `configured` when
 * the settings of its source still map its group to it, `orphaned` otherwise.
 */
import { QueryCommand, type QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import { type Db, batchGet } from '../core/db.js';
import type { Membership } from '../core/model.js';
import { keys, pad } from '../core/table.js';
import { storedMappingsOf, stillMapped } from '../federation/mappings.js';
import { samlMappingsOf } from '../federation/saml/settings.js';

export type MappingStatus = 'configured' | 'orphaned' | 'missing_membership';

export interface AssignmentRecord {
  assignment_id: number;
  user_id: number;
  kind: 'organization_role' | 'workspace' | 'project';
  workspace_id?: number;
  project_id?: number;
  group: string;
  assigned_role: string | null;
  source: 'scim' | 'saml';
  created_at: string;
  updated_at: string;
}

export interface ResolvedAssignment extends AssignmentRecord {
  mapping_status: MappingStatus;
  /** The membership the record is attached to (Roster identifies a membership by its user id); null when it is gone. */
  linked_membership_id: number | null;
  workspace_title: string | null;
  project_title: string | null;
}

const SAML_SETTINGS = (orgId: number) => ({ PK: keys.organization(orgId).PK, SK: 'SAML' });

/** Every assignment record of the members with ids from `first` to `last` (one Query, following its pages). */
export async function assignmentRecords(db: Db, orgId: number, first: number, last: number): Promise<AssignmentRecord[]> {
  const out: AssignmentRecord[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const r: QueryCommandOutput = await db.doc.send(
      new QueryCommand({
        TableName: db.table,
        KeyConditionExpression: 'PK = :pk AND SK BETWEEN :a AND :b',
        ExpressionAttributeValues: { ':pk': keys.organization(orgId).PK, ':a': `IDPA#${pad(first)}`, ':b': `IDPA#${pad(last)}~` },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    out.push(...((r.Items ?? []) as unknown as AssignmentRecord[]));
    start = r.LastEvaluatedKey;
  } while (start);
  return out;
}

/**
 * The records of these members, each with its status and the titles of what it stands for.
 * `members`: the page's memberships (deleted ones included), by user id.
 */
export async function resolveAssignments(db: Db, orgId: number, members: Map<number, Pick<Membership, 'deleted_at'>>): Promise<Map<number, ResolvedAssignment[]>> {
  const out = new Map<number, ResolvedAssignment[]>();
  if (!members.size) return out;
  const ids = [...members.keys()];
  const records = (await assignmentRecords(db, orgId, Math.min(...ids), Math.max(...ids))).filter((a) => members.has(a.user_id));
  if (!records.length) return out;
  const linkKeys = records.flatMap((a) =>
    a.kind === 'workspace' ? [keys.workspaceMember(orgId, a.workspace_id!, a.user_id), keys.workspace(orgId, a.workspace_id!)] : a.kind === 'project' ? [keys.projectMember(orgId, a.project_id!, a.user_id), keys.project(orgId, a.project_id!)] : [],
  );
  const items = await batchGet(db, [keys.scimSettings(orgId), SAML_SETTINGS(orgId), ...linkKeys], true);
  const bySk = new Map(items.map((i) => [i.SK as string, i]));
  const settings = { scim: storedMappingsOf(bySk.get('SCIM')), saml: samlMappingsOf(bySk.get('SAML')) };
  for (const a of records) {
    const m = members.get(a.user_id)!;
    const link = a.kind === 'workspace' ? keys.workspaceMember(orgId, a.workspace_id!, a.user_id).SK : a.kind === 'project' ? keys.projectMember(orgId, a.project_id!, a.user_id).SK : undefined;
    const linked = m.deleted_at === null && (link === undefined || bySk.has(link));
    const mapping_status: MappingStatus = !linked ? 'missing_membership' : stillMapped(settings[a.source] ?? settings.scim, a) ? 'configured' : 'orphaned';
    const ws = a.workspace_id !== undefined ? bySk.get(keys.workspace(orgId, a.workspace_id).SK) : undefined;
    const project = a.project_id !== undefined ? bySk.get(keys.project(orgId, a.project_id).SK) : undefined;
    const resolved: ResolvedAssignment = {
      ...a,
      mapping_status,
      linked_membership_id: linked ? a.user_id : null,
      workspace_title: (ws?.title as string | undefined) ?? null,
      project_title: (project?.title as string | undefined) ?? null,
    };
    const list = out.get(a.user_id) ?? [];
    list.push(resolved);
    out.set(a.user_id, list);
  }
  return out;
}
