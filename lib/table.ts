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
  /** GSI1: a user's memberships across organizations (USER#id → ORG#id). */
  indexes: [{ name: 'GSI1', partitionKey: 'GSI1PK', sortKey: 'GSI1SK' }],
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

export type Kind = 'user' | 'organization' | 'workspace' | 'project';

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
} as const;

/** Strip key and index attributes from an item before it leaves the repository layer. */
export function stripKeys<T extends Record<string, unknown>>(item: T): Omit<T, 'PK' | 'SK' | 'GSI1PK' | 'GSI1SK'> {
  const { PK: _pk, SK: _sk, GSI1PK: _g1, GSI1SK: _g1s, ...rest } = item;
  return rest;
}
