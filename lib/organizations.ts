import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { type Db, batchGet, cancellationReasons, transactWrite } from './db.js';
import { ConflictError, ForbiddenError, NotFoundError } from './errors.js';
import { type Membership, type Organization, type Principal, type User, isActiveMembership } from './model.js';
import { type PageRequest, type Page, queryPrefixPage } from './pagination.js';
import { type Action, canInOrganization } from './permissions.js';
import type { Role } from './roles.js';
import { keys } from './table.js';
import { newToken, now } from './util.js';
import { nextId } from './ids.js';
import { asMembership, asOrganization, membershipItem } from './items.js';


async function getMembership(db: Db, orgId: number, userId: number): Promise<Membership | undefined> {
  const r = await db.doc.send(new GetCommand({ TableName: db.table, Key: keys.membership(orgId, userId), ConsistentRead: true }));
  return r.Item ? asMembership(r.Item) : undefined;
}

/**
 * The caller's role in organization `orgId`, checked against `action`. The active organization is
 * already resolved by the authorizer; any other organization costs one read of the caller's
 * membership there. Not a member → 404 (another organization's existence is not revealed).
 */
export async function authorize(db: Db, p: Principal, orgId: number, action: Action, opts: { activeOnly?: boolean } = {}): Promise<Role> {
  let role: Role = p.role;
  if (orgId !== p.orgId) {
    const m = await getMembership(db, orgId, p.userId);
    if (!m || !isActiveMembership(m)) throw new NotFoundError();
    if (opts.activeOnly) throw new ForbiddenError('You can manage members only of your current active organization.');
    role = m.role;
  }
  if (!canInOrganization(role, action)) throw new ForbiddenError();
  return role;
}

/** Organizations the caller is an active member of: one index Query, then one BatchGet per 100. */
export async function listOrganizations(db: Db, p: Principal): Promise<Organization[]> {
  const memberships: Membership[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const r = await db.doc.send(
      new QueryCommand({
        TableName: db.table,
        IndexName: 'GSI1',
        KeyConditionExpression: 'GSI1PK = :u AND begins_with(GSI1SK, :o)',
        ExpressionAttributeValues: { ':u': keys.membershipByUser(p.userId, 0).GSI1PK, ':o': 'ORG#' },
        ExclusiveStartKey: start,
      }),
    );
    memberships.push(...(r.Items ?? []).map(asMembership).filter(isActiveMembership));
    start = r.LastEvaluatedKey;
  } while (start);
  const orgs = (await batchGet(db, memberships.map((m) => keys.organization(m.organization)))).map(asOrganization);
  return orgs.sort((a, b) => a.id - b.id);
}

/** An organization the caller belongs to, with the caller's role in it. */
export async function getOrganization(db: Db, p: Principal, orgId: number): Promise<{ organization: Organization; role: Role }> {
  const role = await authorize(db, p, orgId, 'organization.read');
  const r = await db.doc.send(new GetCommand({ TableName: db.table, Key: keys.organization(orgId) }));
  if (!r.Item) throw new NotFoundError();
  return { organization: asOrganization(r.Item), role };
}

export async function listMembers(db: Db, p: Principal, orgId: number, page: PageRequest): Promise<Page<Membership>> {
  await authorize(db, p, orgId, 'organization.members.list', { activeOnly: true });
  const { PK, SKPrefix } = keys.membershipPrefix(orgId);
  const result = await queryPrefixPage<Record<string, unknown>>(db, PK, SKPrefix, page);
  return { ...result, items: result.items.map(asMembership) };
}

/**
 * Assign an organization role (which also activates with an active role, or deactivates with DI).
 * One transaction: the target's update is conditional on it existing, not being deleted and not
 * being the Owner; a condition check re-reads the caller's own membership so that a caller demoted
 * a moment ago cannot still change roles (two administrators demoting each other: one wins).
 */
export async function assignRole(db: Db, p: Principal, orgId: number, userId: number, role: Role): Promise<Membership> {
  await authorize(db, p, orgId, 'organization.roles.assign', { activeOnly: true });
  if (userId === p.userId) throw new ForbiddenError('You cannot change your own role.');
  if (role === 'OW') throw new ConflictError('The Owner changes only through an ownership transfer.');
  const at = now();
  try {
    await transactWrite(db, [
          {
            ConditionCheck: {
              TableName: db.table,
              Key: keys.membership(orgId, p.userId),
              ConditionExpression: '#role IN (:ow, :ad) AND deleted_at = :null',
              ExpressionAttributeNames: { '#role': 'role' },
              ExpressionAttributeValues: { ':ow': 'OW', ':ad': 'AD', ':null': null },
            },
          },
          {
            Update: {
              TableName: db.table,
              Key: keys.membership(orgId, userId),
              UpdateExpression: 'SET #role = :role, role_source = :source, updated_at = :at',
              ConditionExpression: 'attribute_exists(PK) AND #role <> :ow AND deleted_at = :null',
              ExpressionAttributeNames: { '#role': 'role' },
              ExpressionAttributeValues: { ':role': role, ':source': 'api', ':at': at, ':ow': 'OW', ':null': null },
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            },
          },
    ]);
  } catch (err) {
    const reasons = cancellationReasons(err);
    if (!reasons) throw err;
    const [actor, target] = reasons;
    if (actor?.code === 'ConditionalCheckFailed') throw new ForbiddenError();
    if (target?.code === 'ConditionalCheckFailed') {
      if (!target.item || target.item.deleted_at !== null) throw new NotFoundError('Member not found.');
      throw new ConflictError('The Owner cannot be demoted or deactivated; transfer ownership first.');
    }
    throw new ConflictError('A concurrent change to these members won; retry.');
  }
  // Read back the committed item so the response shows exactly what is stored.
  return (await getMembership(db, orgId, userId))!;
}

/**
 * Create an organization whose Owner is an existing user: id allocation, then one transaction
 * (organization item, Owner membership, the user's active organization untouched).
 */
export async function createOrganization(db: Db, ownerId: number, title: string): Promise<Organization> {
  const [id, owner] = await Promise.all([
    nextId(db, 'organization'),
    db.doc.send(new GetCommand({ TableName: db.table, Key: keys.user(ownerId), ConsistentRead: true })),
  ]);
  if (!owner.Item) throw new NotFoundError('User not found.');
  const at = now();
  const org: Organization = {
    id,
    title,
    created_at: at,
    created_by: ownerId,
    contact_info: owner.Item.email as string,
    default_role: 'AN',
    token: newToken(),
  };
  await transactWrite(db, [
    { Put: { TableName: db.table, Item: { ...keys.organization(id), type: 'organization', ...org }, ConditionExpression: 'attribute_not_exists(PK)' } },
    { Put: { TableName: db.table, Item: membershipItem(id, owner.Item as User, 'OW', 'manual', at), ConditionExpression: 'attribute_not_exists(PK)' } },
  ]);
  return org;
}
