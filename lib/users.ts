import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { type Db, batchGet, cancellationReasons, transactWrite } from './db.js';
import { ConflictError, NotFoundError } from './errors.js';
import { nextId } from './ids.js';
import { type Membership, type Organization, type Principal, type User, memberUserOf } from './model.js';
import { asMembership, asOrganization, authorize } from './organizations.js';
import { keys, stripKeys } from './table.js';
import { now } from './util.js';

export interface NewUser {
  email: string;
  username?: string;
  first_name?: string;
  last_name?: string;
  phone?: string;
  allow_newsletters?: boolean | null;
}

const asUser = (item: Record<string, unknown>) => {
  const { type: _t, ...rest } = stripKeys(item);
  return rest as unknown as User;
};

export function newUserItem(id: number, input: NewUser, activeOrganization: number, at: string): User {
  const email = input.email.toLowerCase();
  return {
    id,
    email,
    username: input.username ?? email,
    first_name: input.first_name ?? '',
    last_name: input.last_name ?? '',
    phone: input.phone ?? '',
    allow_newsletters: input.allow_newsletters ?? null,
    date_joined: at,
    last_activity: at,
    active_organization: activeOrganization,
  };
}

/** The writes that create a user: the email claim (unique, lower-case) and the user item. */
export function userPuts(table: string, user: User) {
  return [
    {
      Put: {
        TableName: table,
        Item: { ...keys.email(user.email), type: 'email', userId: user.id },
        ConditionExpression: 'attribute_not_exists(PK)',
      },
    },
    { Put: { TableName: table, Item: { ...keys.user(user.id), type: 'user', ...user }, ConditionExpression: 'attribute_not_exists(PK)' } },
  ];
}

export function membershipItem(orgId: number, user: User, role: Membership['role'], source: Membership['role_source'], at: string) {
  const m: Membership = {
    organization: orgId,
    user_id: user.id,
    role,
    role_source: source,
    user_type: 'standard',
    created_at: at,
    updated_at: at,
    deleted_at: null,
    user: memberUserOf(user),
  };
  return { ...keys.membership(orgId, user.id), ...keys.membershipByUser(user.id, orgId), type: 'membership', ...m };
}

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
