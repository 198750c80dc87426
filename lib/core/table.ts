/**
 * The single table: its definition (used by CDK and by the local runtime to create it) and the key
 * builders every repository uses. Nothing else in Roster spells a key.
 *
 * Tenant items carry their organization in the partition key (`ORG#<id>`); the only global items are
 * the ones that must be found before the organization is known: users, the email index, token
 * hashes and id counters.
 */
export const TABLE = {
  partitionKey: 'PK',
  sortKey: 'SK',
  ttlAttribute: 'expiresAt',
  stream: 'NEW_AND_OLD_IMAGES',
  indexes: [
    /** GSI1: what a user belongs to (USER#id → ORG#…, WSM#…, PM#…). */
    { name: 'GSI1', partitionKey: 'GSI1PK', sortKey: 'GSI1SK' },
    /** GSI2: the projects of a workspace (WSP#org#ws → PROJ#id). */
    { name: 'GSI2', partitionKey: 'GSI2PK', sortKey: 'GSI2SK' },
    /** GSI3: activity entries by workspace (LOGW#org#ws → time). */
    { name: 'GSI3', partitionKey: 'GSI3PK', sortKey: 'GSI3SK' },
    /** GSI4: membership and role history (HIST#org#scope → time). */
    { name: 'GSI4', partitionKey: 'GSI4PK', sortKey: 'GSI4SK' },
  ],
} as const;

export type IndexName = (typeof TABLE.indexes)[number]['name'];

/** Input for DynamoDB CreateTable, shared by the local runtime and the tests. */
export function createTableInput(tableName: string) {
  const attributes = new Set<string>([TABLE.partitionKey, TABLE.sortKey]);
  for (const i of TABLE.indexes) {
    attributes.add(i.partitionKey);
    attributes.add(i.sortKey);
  }
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST' as const,
    AttributeDefinitions: [...attributes].map((name) => ({ AttributeName: name, AttributeType: 'S' as const })),
    KeySchema: [
      { AttributeName: TABLE.partitionKey, KeyType: 'HASH' as const },
      { AttributeName: TABLE.sortKey, KeyType: 'RANGE' as const },
    ],
    GlobalSecondaryIndexes: TABLE.indexes.map((i) => ({
      IndexName: i.name,
      KeySchema: [
        { AttributeName: i.partitionKey, KeyType: 'HASH' as const },
        { AttributeName: i.sortKey, KeyType: 'RANGE' as const },
      ],
      Projection: { ProjectionType: 'ALL' as const },
    })),
    StreamSpecification: { StreamEnabled: true, StreamViewType: TABLE.stream },
  };
}

/** Zero-padded so that lexical order of sort keys is numeric order of ids. */
export const pad = (id: number) => id.toString().padStart(10, '0');

export type Kind = 'user' | 'organization' | 'workspace' | 'project' | 'project_role' | 'activity_log' | 'assignment' | 'review_definition' | 'review_instance';

/** What an IdP assignment record stands for: the organization role, a workspace or a project membership. */
export type AssignmentScope = { kind: 'organization_role' } | { kind: 'workspace'; id: number } | { kind: 'project'; id: number };

const scopeSuffix = (s: AssignmentScope) => (s.kind === 'organization_role' ? 'R' : s.kind === 'workspace' ? `W#${pad(s.id)}` : `P#${pad(s.id)}`);

export const keys = {
  counter: (kind: Kind) => ({ PK: 'COUNTER', SK: kind }),
  user: (userId: number) => ({ PK: `USER#${pad(userId)}`, SK: 'USER' }),
  email: (email: string) => ({ PK: `EMAIL#${email.toLowerCase()}`, SK: 'EMAIL' }),
  token: (hash: string) => ({ PK: `TOKEN#${hash}`, SK: 'TOKEN' }),
  organization: (orgId: number) => ({ PK: `ORG#${pad(orgId)}`, SK: 'ORG' }),
  membership: (orgId: number, userId: number) => ({ PK: `ORG#${pad(orgId)}`, SK: `MEMBER#${pad(userId)}` }),
  membershipPrefix: (orgId: number) => ({ PK: `ORG#${pad(orgId)}`, SKPrefix: 'MEMBER#' }),
  /** GSI1 attributes of a membership item: list a user's organizations. */
  membershipByUser: (userId: number, orgId: number) => ({ GSI1PK: `USER#${pad(userId)}`, GSI1SK: `ORG#${pad(orgId)}` }),
  workspace: (orgId: number, wsId: number) => ({ PK: `ORG#${pad(orgId)}`, SK: `WS#${pad(wsId)}` }),
  workspaceMember: (orgId: number, wsId: number, userId: number) => ({ PK: `ORG#${pad(orgId)}`, SK: `WSM#${pad(wsId)}#${pad(userId)}` }),
  workspaceMemberPrefix: (orgId: number, wsId: number) => ({ PK: `ORG#${pad(orgId)}`, SKPrefix: `WSM#${pad(wsId)}#` }),
  /** GSI1 attributes of a workspace membership: a user's workspaces in an organization. */
  workspaceMemberByUser: (userId: number, orgId: number, wsId: number) => ({ GSI1PK: `USER#${pad(userId)}`, GSI1SK: `WSM#${pad(orgId)}#${pad(wsId)}` }),
  project: (orgId: number, projectId: number) => ({ PK: `ORG#${pad(orgId)}`, SK: `PROJ#${pad(projectId)}` }),
  /** GSI2 attributes of a project in a workspace. */
  projectInWorkspace: (orgId: number, wsId: number, projectId: number) => ({ GSI2PK: `WSP#${pad(orgId)}#${pad(wsId)}`, GSI2SK: `PROJ#${pad(projectId)}` }),
  projectMember: (orgId: number, projectId: number, userId: number) => ({ PK: `ORG#${pad(orgId)}`, SK: `PM#${pad(projectId)}#${pad(userId)}` }),
  projectMemberPrefix: (orgId: number, projectId: number) => ({ PK: `ORG#${pad(orgId)}`, SKPrefix: `PM#${pad(projectId)}#` }),
  /** GSI1 attributes of a direct project membership: a user's projects in an organization. */
  projectMemberByUser: (userId: number, orgId: number, projectId: number) => ({ GSI1PK: `USER#${pad(userId)}`, GSI1SK: `PM#${pad(orgId)}#${pad(projectId)}` }),
  projectRole: (orgId: number, projectId: number, userId: number) => ({ PK: `ORG#${pad(orgId)}`, SK: `PR#${pad(projectId)}#${pad(userId)}` }),
  projectRoleId: (orgId: number, roleId: number) => ({ PK: `ORG#${pad(orgId)}`, SK: `PRID#${pad(roleId)}` }),
  /**
   * Activity entries of an organization, by time: SK `<ISO time>#<stream event id>`. The same sort
   * key orders them in the GSIs: by actor (GSI1), project (GSI2), workspace (GSI3) and history
   * stream (GSI4).
   */
  log: (orgId: number) => `LOG#${pad(orgId)}`,
  logByActor: (orgId: number, userId: number) => `LOGU#${pad(orgId)}#${pad(userId)}`,
  logByProject: (orgId: number, projectId: number) => `LOGP#${pad(orgId)}#${pad(projectId)}`,
  logByWorkspace: (orgId: number, wsId: number) => `LOGW#${pad(orgId)}#${pad(wsId)}`,
  history: (orgId: number, stream: HistoryStream, scopeId: number) => `HIST#${pad(orgId)}#${stream}#${pad(scopeId)}`,
  /** Daily digests of an organization's log: SK `<YYYY-MM-DD>` (the day) and `<YYYY-MM-DD>#<n>` (its leaves). */
  digest: (orgId: number) => `DIGEST#${pad(orgId)}`,
  /** A rate-limited security event counter: one item per key and minute. */
  securityEvent: (key: string, minute: string) => ({ PK: `EVT#${key}`, SK: minute }),
  exportJob: (orgId: number, id: string) => ({ PK: `ORG#${pad(orgId)}`, SK: `EXPORT#${id}` }),
  /** The organization's SCIM group mappings (LSE's /api/scim/settings). */
  scimSettings: (orgId: number) => ({ PK: `ORG#${pad(orgId)}`, SK: 'SCIM' }),
  /** One IdP-granted access of a member and the group behind it (federation engine; seat report). */
  assignment: (orgId: number, userId: number, scope: AssignmentScope) => ({ PK: `ORG#${pad(orgId)}`, SK: `IDPA#${pad(userId)}#${scopeSuffix(scope)}` }),
  assignmentPrefix: (orgId: number, userId: number) => ({ PK: `ORG#${pad(orgId)}`, SKPrefix: `IDPA#${pad(userId)}#` }),
  /** A member's SCIM User resource (the SCIM protocol's; its presence marks the member as SCIM-provisioned). */
  scimUser: (orgId: number, userId: number) => ({ PK: `ORG#${pad(orgId)}`, SK: `SCIMU#${pad(userId)}` }),
  /** A re-evaluation of group mappings running in slices. */
  federationJob: (orgId: number, id: string) => ({ PK: `ORG#${pad(orgId)}`, SK: `FJOB#${id}` }),
  /** A SCIM group, its displayName claim, and one item per member with its mirror under the user. */
  scimGroup: (orgId: number, groupId: string) => ({ PK: `ORG#${pad(orgId)}`, SK: `SCIMG#${groupId}` }),
  scimGroupName: (orgId: number, displayName: string) => ({ PK: `ORG#${pad(orgId)}`, SK: `SCIMGN#${displayName}` }),
  groupMember: (orgId: number, groupId: string, userId: number) => ({ PK: `ORG#${pad(orgId)}`, SK: `GMEM#${groupId}#${pad(userId)}` }),
  groupMemberPrefix: (orgId: number, groupId: string) => ({ PK: `ORG#${pad(orgId)}`, SKPrefix: `GMEM#${groupId}#` }),
  userGroup: (orgId: number, userId: number, groupId: string) => ({ PK: `ORG#${pad(orgId)}`, SK: `UGRP#${pad(userId)}#${groupId}` }),
  userGroupPrefix: (orgId: number, userId: number) => ({ PK: `ORG#${pad(orgId)}`, SKPrefix: `UGRP#${pad(userId)}#` }),
} as const;

export type HistoryStream = 'org_membership' | 'ws_membership' | 'project_membership' | 'project_role';

/** The id at the end of a key (`…#0000000042` → 42). */
export const idOf = (key: string) => Number(key.slice(key.lastIndexOf('#') + 1));

/** Strip key and index attributes from an item before it leaves the repository layer. */
export function stripKeys<T extends Record<string, unknown>>(item: T): Omit<T, 'PK' | 'SK' | 'GSI1PK' | 'GSI1SK' | 'GSI2PK' | 'GSI2SK' | '_ctx'> {
  const { PK: _pk, SK: _sk, GSI1PK: _g1, GSI1SK: _g1s, GSI2PK: _g2, GSI2SK: _g2s, _ctx: _c, ...rest } = item;
  return rest;
}
