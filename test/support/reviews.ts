/**
 * Seeding for the seat-report and access-review tests: members with a given role source, grants
 * written with nobody behind them, and the SAML settings item (issue 12's; its documented shape) —
 * IdP members and their assignment records come from the federation engine itself.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { type Db, transactWrite } from '../../lib/core/db.js';
import { nextId } from '../../lib/core/ids.js';
import { membershipItem, newUserItem, userPuts, workspaceMemberItem } from '../../lib/core/items.js';
import type { Role, RoleSource } from '../../lib/core/roles.js';
import { keys } from '../../lib/core/table.js';
import { now } from '../../lib/core/util.js';
import { resetLegacyToken } from '../../lib/org/tokens.js';
import type { Member } from './db.js';

/** A user with a membership of `role` whose role came from `source`, and a legacy token. */
export async function seedMember(db: Db, orgId: number, role: Role, source: RoleSource, email: string, names: { first_name?: string; last_name?: string } = {}): Promise<Member> {
  const id = await nextId(db, 'user');
  const at = now();
  const user = newUserItem(id, { email, ...names }, orgId, at);
  await transactWrite(db, [...userPuts(db.table, user), { Put: { TableName: db.table, Item: membershipItem(orgId, user, role, source, at) } }]);
  return { userId: id, email: user.email, token: await resetLegacyToken(db, orgId, id) };
}

export const addWorkspaceMember = (db: Db, orgId: number, wsId: number, userId: number, by: number | null = null) =>
  db.doc.send(new PutCommand({ TableName: db.table, Item: workspaceMemberItem(orgId, wsId, userId, by, now()) }));

export interface SeededAssignment {
  user_id: number;
  kind: 'organization_role' | 'workspace' | 'project';
  workspace_id?: number;
  project_id?: number;
  group: string;
  assigned_role: string | null;
  source: 'scim' | 'saml';
}

export interface SeededMappings {
  roles_groups: [string, string][];
  workspaces_groups: [string, string][];
  projects_groups: { project_id: number; group: string; role: 'Inherit' | 'Annotator' | 'Reviewer' }[];
  workspace_ids: Record<string, number>;
}

/** The SCIM (`SK: SCIM`) or SAML (`SK: SAML`) settings item holding the group mappings. */
export const putMappings = (db: Db, orgId: number, which: 'SCIM' | 'SAML', m: SeededMappings) =>
  db.doc.send(
    new PutCommand({
      TableName: db.table,
      Item: { PK: keys.organization(orgId).PK, SK: which, type: `${which.toLowerCase()}_settings`, manual_role_management: false, manual_workspace_management: false, manual_project_management: false, ...m, updated_at: now() },
    }),
  );
