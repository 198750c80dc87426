import { randomUUID } from 'node:crypto';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { inject } from 'vitest';
import { ensureTable, localClient } from '../../infra/local/dynamodb.js';
import { bootstrap } from '../../lib/org/bootstrap.js';
import { type Db, createDb } from '../../lib/core/db.js';
import { createOrganization } from '../../lib/org/organizations.js';
import { newUserItem, membershipItem, userPuts } from '../../lib/core/items.js';
import { transactWrite } from '../../lib/core/db.js';
import { nextId } from '../../lib/core/ids.js';
import type { Role } from '../../lib/core/roles.js';
import { keys } from '../../lib/core/table.js';
import { resetLegacyToken } from '../../lib/org/tokens.js';
import { now } from '../../lib/core/util.js';

/** This worker's DynamoDB Local (VITEST_POOL_ID numbers the workers from 1). */
export const endpoint = () => {
  const all = inject('dynamodbEndpoints');
  return all[(Number(process.env.VITEST_POOL_ID ?? 1) - 1) % all.length]!;
};

/** A new, empty table (from the shared schema) in the run's DynamoDB Local. */
export async function freshTable(prefix = 't'): Promise<Db & { streamArn: string }> {
  const name = `${prefix}-${randomUUID().slice(0, 8)}`;
  const client = localClient(endpoint());
  const streamArn = await ensureTable(client, name);
  client.destroy();
  return { ...createDb(name, endpoint()), streamArn };
}

export interface Member {
  userId: number;
  email: string;
  token: string;
}

/** Bootstrap organization 1 with its Owner, the way the local runtime does on first start. */
export async function bootstrapOrg(db: Db, token = 'owner-token'): Promise<Member> {
  await bootstrap(db, { email: 'owner@example.com', token });
  return { userId: 1, email: 'owner@example.com', token };
}

/** A user with a membership of `role` in `orgId` and a legacy token (seeded directly, not through the API). */
export async function addMember(db: Db, orgId: number, role: Role, email?: string): Promise<Member> {
  const id = await nextId(db, 'user');
  const at = now();
  const user = newUserItem(id, { email: email ?? `user${id}@example.com` }, orgId, at);
  await transactWrite(db, [...userPuts(db.table, user), { Put: { TableName: db.table, Item: membershipItem(orgId, user, role, 'manual', at) } }]);
  const token = await resetLegacyToken(db, orgId, id);
  return { userId: id, email: user.email, token };
}

/** A second organization owned by a new user. */
export async function otherOrg(db: Db, title = 'Other'): Promise<{ orgId: number; owner: Member }> {
  const id = await nextId(db, 'user');
  const at = now();
  const user = newUserItem(id, { email: `owner${id}@other.example.com` }, null, at);
  await transactWrite(db, userPuts(db.table, user));
  const org = await createOrganization(db, id, title);
  // As if they had signed in there: their active organization is the one they own.
  for (const key of [keys.user(id), keys.email(user.email)]) {
    await db.doc.send(new UpdateCommand({ TableName: db.table, Key: key, UpdateExpression: 'SET active_organization = :o', ExpressionAttributeValues: { ':o': org.id } }));
  }
  const token = await resetLegacyToken(db, org.id, id);
  return { orgId: org.id, owner: { userId: id, email: user.email, token } };
}

/** Mark a membership soft-deleted (what DELETE …/memberships/{id} will do). */
export async function softDelete(db: Db, orgId: number, userId: number): Promise<void> {
  await db.doc.send(
    new UpdateCommand({ TableName: db.table, Key: keys.membership(orgId, userId), UpdateExpression: 'SET deleted_at = :at', ExpressionAttributeValues: { ':at': now() } }),
  );
}
