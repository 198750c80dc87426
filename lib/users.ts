import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { type Db, batchGet, cancellationReasons, transactWrite } from './db.js';
import { ConflictError, NotFoundError } from './errors.js';
import { nextId } from './ids.js';
import { type NewUser, asMembership, asOrganization, asUser, membershipItem, newUserItem, userPuts } from './items.js';
import type { Membership, Organization, Principal, User } from './model.js';
import { authorize } from './organizations.js';
import { keys } from './table.js';
import { now } from './util.js';

/**
 * Create a user and their membership in the caller's organization with its default role.
 * Round trips: organization read ‖ id allocation, then one transaction (email claim, user,
 * membership). The email claim's condition makes concurrent creates of one address yield one user.
 */
export async function createUser(db: Db, p: Principal, input: NewUser): Promise<{ user: User; membership: Membership }> {
  await authorize(db, p, p.orgId, 'organization.invite');
  const [org, id] = await Promise.all([
    db.doc.send(new GetCommand({ TableName: db.table, Key: keys.organization(p.orgId) })),
    nextId(db, 'user'),
  ]);
  if (!org.Item) throw new NotFoundError('Organization not found.');
  const at = now();
  const user = newUserItem(id, input, p.orgId, at);
  const member = membershipItem(p.orgId, user, org.Item.default_role, 'api', at);
  try {
    await transactWrite(db, [
      ...userPuts(db.table, user),
      { Put: { TableName: db.table, Item: member, ConditionExpression: 'attribute_not_exists(PK)' } },
    ]);
  } catch (err) {
    const reasons = cancellationReasons(err);
    if (!reasons) throw err;
    if (reasons[0]?.code === 'ConditionalCheckFailed') {
      throw new ConflictError('A user with this email already exists.', { validation_errors: { email: ['user with this email address already exists.'] } });
    }
    throw err;
  }
  return { user, membership: asMembership(member) };
}

/**
 * The caller's user record, active organization and all of their memberships: one BatchGet and one
 * index Query, in parallel.
 */
export async function currentUser(db: Db, p: Principal): Promise<{ user: User; memberships: Membership[]; organization?: Organization }> {
  const userKey = keys.user(p.userId);
  const [items, ms] = await Promise.all([
    batchGet(db, [userKey, keys.organization(p.orgId)]),
    db.doc.send(
      new QueryCommand({
        TableName: db.table,
        IndexName: 'GSI1',
        KeyConditionExpression: 'GSI1PK = :u',
        ExpressionAttributeValues: { ':u': keys.membershipByUser(p.userId, 0).GSI1PK },
      }),
    ),
  ]);
  const userItem = items.find((i) => i.PK === userKey.PK);
  const orgItem = items.find((i) => i.PK !== userKey.PK);
  if (!userItem) throw new NotFoundError('User not found.');
  // The organization this request acts in is the principal's (the token's organization).
  return {
    user: { ...asUser(userItem), active_organization: p.orgId },
    memberships: (ms.Items ?? []).map(asMembership),
    organization: orgItem ? asOrganization(orgItem) : undefined,
  };
}
