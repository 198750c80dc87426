import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type Db, getItem, batchGet, cancellationReasons, isConditionFailure, queryAll, transactWrite } from '../core/db.js';
import type { Directory } from '../identity/directory.js';
import { ConflictError, ForbiddenError, MethodNotAllowedError, NotFoundError, ValidationError } from '../core/errors.js';
import { nextId } from '../core/ids.js';
import { asMembership, asOrganization, asUser, membershipItem, orgInviteLookup } from '../core/items.js';
import { type Membership, type Organization, type Principal, isActiveMembership } from '../core/model.js';
import { type Filter, type Page, type PageRequest, queryPrefixPage } from '../core/pagination.js';
import { type Action, type Overrides, canInOrganization } from '../core/permissions.js';
import type { Role } from '../core/roles.js';
import type { Caller } from '../identity/auth.js';
import { keys } from '../core/table.js';
import { newToken, now } from '../core/util.js';

/** The caller's standing in one organization: their role and that organization's overrides. */
export interface Standing {
  role: Role;
  overrides: Overrides;
}

/**
 * The caller's role in organization `orgId`, checked against `action`. The active organization is
 * already resolved with the caller; any other organization costs one BatchGet (the caller's
 * membership there and its overrides). Not a member → 404 (another organization's existence is not
 * revealed); `activeOnly` operations on another of the caller's organizations → 403, as in LSE.
 */
export async function authorize(db: Db, p: Principal, orgId: number, action: Action, opts: { activeOnly?: boolean } = {}): Promise<Standing> {
  let standing: Standing = { role: p.role, overrides: p.overrides };
  if (orgId !== p.orgId) {
    const items = await batchGet(db, [keys.membership(orgId, p.userId), keys.organization(orgId)], true);
    const m = items.find((i) => i.SK !== 'ORG');
    const org = items.find((i) => i.SK === 'ORG');
    if (!m || !org || !isActiveMembership(asMembership(m))) throw new NotFoundError();
    if (opts.activeOnly) throw new ForbiddenError('You can manage members only of your current active organization.');
    standing = { role: m.role as Role, overrides: asOrganization(org).permission_overrides ?? {} };
  }
  if (!canInOrganization(standing.role, action, standing.overrides)) throw new ForbiddenError();
  return standing;
}

/** A member of the organization who is not deleted, or a 400 naming the `user` field. */
export async function liveMember(db: Db, orgId: number, userId: number): Promise<Membership> {
  const m = await getMembership(db, orgId, userId);
  if (!m || m.deleted_at !== null) throw new ValidationError('Validation error', { user: ['Not a member of this organization.'] });
  return m;
}

async function getMembership(db: Db, orgId: number, userId: number): Promise<Membership | undefined> {
  const r = await getItem(db, keys.membership(orgId, userId));
  return r ? asMembership(r) : undefined;
}

async function getOrganizationItem(db: Db, orgId: number): Promise<Organization> {
  const r = await getItem(db, keys.organization(orgId));
  if (!r) throw new NotFoundError();
  return asOrganization(r);
}

/** Every membership of a user, across organizations (GSI1). */
export async function membershipsOf(db: Db, userId: number): Promise<Membership[]> {
  const items = await queryAll(db, {
    IndexName: 'GSI1',
    KeyConditionExpression: 'GSI1PK = :u AND begins_with(GSI1SK, :o)',
    ExpressionAttributeValues: { ':u': keys.membershipByUser(userId, 0).GSI1PK, ':o': 'ORG#' },
  });
  return items.map(asMembership);
}

/** Organizations the caller is an active member of: one index Query, then one BatchGet per 100. */
/** The organizations the caller is an active member of (`memberships`: their memberships Query, when already started). */
export async function listOrganizations(db: Db, p: Principal, memberships?: Promise<Membership[]>): Promise<Organization[]> {
  const active = (await (memberships ?? membershipsOf(db, p.userId))).filter(isActiveMembership);
  const orgs = (await batchGet(db, active.map((m) => keys.organization(m.organization)))).map(asOrganization);
  return orgs.sort((a, b) => a.id - b.id);
}

/** What getOrganization reads by key: the caller's membership there and the organization. */
export const organizationKeys = (c: Caller, orgId: number) => [keys.membership(orgId, c.userId), keys.organization(orgId)];

/** An organization the caller belongs to, with the caller's standing in it. */
export async function getOrganization(db: Db, p: Principal, orgId: number): Promise<{ organization: Organization; standing: Standing }> {
  const standing = await authorize(db, p, orgId, 'organization.read');
  return { organization: await getOrganizationItem(db, orgId), standing };
}

export interface OrganizationPatch {
  title?: string;
  contact_info?: string | null;
  /** Days activity entries are kept (null: kept forever); applies to entries written from now on. */
  activity_log_retention_days?: number | null;
}

export async function updateOrganization(db: Db, p: Principal, orgId: number, patch: OrganizationPatch): Promise<{ organization: Organization; standing: Standing }> {
  const standing = await authorize(db, p, orgId, 'organization.update', { activeOnly: true });
  const sets = Object.entries(patch).filter(([, v]) => v !== undefined);
  if (!sets.length) return { organization: await getOrganizationItem(db, orgId), standing };
  const r = await db.doc.send(
    new UpdateCommand({
      TableName: db.table,
      Key: keys.organization(orgId),
      UpdateExpression: `SET ${sets.map((_, i) => `#f${i} = :v${i}`).join(', ')}`,
      ExpressionAttributeNames: Object.fromEntries(sets.map(([k], i) => [`#f${i}`, k])),
      ExpressionAttributeValues: Object.fromEntries(sets.map(([, v], i) => [`:v${i}`, v])),
      ConditionExpression: 'attribute_exists(PK)',
      ReturnValues: 'ALL_NEW',
    }),
  );
  return { organization: asOrganization(r.Attributes!), standing };
}

/** Roles an organization may give invited users by default: never OW or DI. */
export const DEFAULT_ROLES = ['AD', 'MA', 'RE', 'AN', 'NO'] as const;

export async function setDefaultRole(db: Db, p: Principal, orgId: number, role: Role): Promise<Organization> {
  await authorize(db, p, orgId, 'organization.invite', { activeOnly: true });
  if (!(DEFAULT_ROLES as readonly string[]).includes(role)) {
    throw new ValidationError('Validation error', { default_role: [`The default role must be one of ${DEFAULT_ROLES.join(', ')}.`] });
  }
  const r = await db.doc.send(
    new UpdateCommand({
      TableName: db.table,
      Key: keys.organization(orgId),
      UpdateExpression: 'SET default_role = :r',
      ExpressionAttributeValues: { ':r': role },
      ConditionExpression: 'attribute_exists(PK)',
      ReturnValues: 'ALL_NEW',
    }),
  );
  return asOrganization(r.Attributes!);
}

/**
 * Create an organization whose Owner is an existing user: id allocation ‖ user read, then one
 * transaction (organization item, Owner membership, invite-link lookup).
 */
export async function createOrganization(db: Db, ownerId: number, title: string): Promise<Organization> {
  const [id, owner] = await Promise.all([
    nextId(db, 'organization'),
    db.doc.send(new GetCommand({ TableName: db.table, Key: keys.user(ownerId), ConsistentRead: true })),
  ]);
  if (!owner.Item) throw new NotFoundError('User not found.');
  const user = asUser(owner.Item);
  const at = now();
  const org: Organization = { id, title, created_at: at, created_by: ownerId, contact_info: user.email, default_role: 'AN', token: newToken() };
  await transactWrite(db, [
    { Put: { TableName: db.table, Item: { ...keys.organization(id), type: 'organization', ...org }, ConditionExpression: 'attribute_not_exists(PK)' } },
    { Put: { TableName: db.table, Item: membershipItem(id, user, 'OW', 'manual', at), ConditionExpression: 'attribute_not_exists(PK)' } },
    { Put: { TableName: db.table, Item: orgInviteLookup(id, org.token) } },
  ]);
  return org;
}

/** POST /api/organizations/: any signed-in member may found an organization, unless switched off. */
export async function foundOrganization(db: Db, p: Principal, title: string): Promise<Organization> {
  if (process.env.ROSTER_ALLOW_ORGANIZATION_CREATION === 'false') throw new ForbiddenError('Creating organizations is switched off on this server.');
  return createOrganization(db, p.userId, title);
}

// ---------------------------------------------------------------------------------------------
// Members

export const MEMBER_ORDERINGS = ['id', '-id', 'user__id', '-user__id'] as const;

export interface MemberFilters {
  role?: Role[];
  search?: string;
  /** Deleted members only when true; members not deleted when false or absent. */
  is_deleted?: boolean;
  lastActivityGte?: string;
  lastActivityLte?: string;
  ordering?: (typeof MEMBER_ORDERINGS)[number];
}

function memberFilter(f: MemberFilters): Filter {
  const parts: string[] = [f.is_deleted ? 'deleted_at <> :null' : 'deleted_at = :null'];
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = { ':null': null };
  if (f.role?.length) {
    names['#role'] = 'role';
    parts.push(`#role IN (${f.role.map((r, i) => ((values[`:r${i}`] = r), `:r${i}`)).join(', ')})`);
  }
  if (f.search) {
    names['#search'] = 'search';
    parts.push('contains(#search, :q)');
    values[':q'] = f.search.toLowerCase();
  }
  if (f.lastActivityGte || f.lastActivityLte) names['#user'] = 'user';
  if (f.lastActivityGte) {
    parts.push('#user.last_activity >= :gte');
    values[':gte'] = f.lastActivityGte;
  }
  if (f.lastActivityLte) {
    parts.push('#user.last_activity <= :lte');
    values[':lte'] = f.lastActivityLte;
  }
  return { expression: parts.join(' AND '), names, values };
}

export async function listMembers(db: Db, p: Principal, orgId: number, page: PageRequest, filters: MemberFilters = {}): Promise<Page<Membership>> {
  await authorize(db, p, orgId, 'organization.members.list', { activeOnly: true });
  const { PK, SKPrefix } = keys.membershipPrefix(orgId);
  const forward = !filters.ordering?.startsWith('-');
  const result = await queryPrefixPage<Record<string, unknown>>(db, PK, SKPrefix, page, { filter: memberFilter(filters), forward });
  return { ...result, items: result.items.map(asMembership) };
}

/** One member of the caller's organization: Managers and above see anyone, everyone sees themselves. */
export async function getMember(db: Db, p: Principal, orgId: number, userId: number): Promise<Membership> {
  if (userId !== p.userId || orgId !== p.orgId) await authorize(db, p, orgId, 'organization.members.list', { activeOnly: true });
  const m = await getMembership(db, orgId, userId);
  if (!m) throw new NotFoundError('Member not found.');
  return m;
}

/** The condition that the caller is still an Owner or Administrator of the organization, at write time. */
const callerIsAdmin = (db: Db, orgId: number, userId: number) => ({
  ConditionCheck: {
    TableName: db.table,
    Key: keys.membership(orgId, userId),
    ConditionExpression: '#role IN (:ow, :ad) AND deleted_at = :null',
    ExpressionAttributeNames: { '#role': 'role' },
    ExpressionAttributeValues: { ':ow': 'OW', ':ad': 'AD', ':null': null },
  },
});

/** Map a cancelled caller-check + target-update transaction to the right refusal. */
function refusal(err: unknown, ownerDetail: string): never {
  const reasons = cancellationReasons(err);
  if (!reasons) throw err;
  const [actor, target] = reasons;
  if (actor?.code === 'ConditionalCheckFailed') throw new ForbiddenError();
  if (target?.code === 'ConditionalCheckFailed') {
    if (!target.item || target.item.deleted_at !== null) throw new NotFoundError('Member not found.');
    throw new ConflictError(ownerDetail);
  }
  throw new ConflictError('A concurrent change to these members won; retry.');
}

/**
 * After a change to someone's access, bring their sign-in account in line: disabled and signed out
 * everywhere when no active membership is left, enabled again when one is. Roster's own checks never
 * depend on this (roles come from the table); it closes Cognito sessions for other clients.
 */
function syncDirectory(directory: Directory, changed: Membership, all: Membership[]): Promise<void> {
  // The index is eventually consistent: this organization's membership is the one just read back.
  const others = all.filter((m) => m.organization !== changed.organization);
  const active = isActiveMembership(changed) || others.some(isActiveMembership);
  return active ? directory.enable(changed.user.email) : directory.disable(changed.user.email);
}

/**
 * An Owner or Administrator changes another member, never the Owner, in one transaction: the
 * target's update is conditional on it existing, not being deleted and not being the Owner; a
 * condition check re-reads the caller's own membership so that a caller demoted a moment ago cannot
 * still act (two administrators demoting each other: one wins). Returns the committed membership,
 * and brings the member's sign-in account in line.
 */
async function changeMember(
  db: Db,
  p: Principal,
  orgId: number,
  userId: number,
  change: { set: string; values: Record<string, unknown>; ownerDetail: string },
  directory: Directory,
): Promise<Membership> {
  try {
    await transactWrite(db, [
      callerIsAdmin(db, orgId, p.userId),
      {
        Update: {
          TableName: db.table,
          Key: keys.membership(orgId, userId),
          UpdateExpression: `SET ${change.set}, updated_at = :at`,
          ConditionExpression: 'attribute_exists(PK) AND #role <> :ow AND deleted_at = :null',
          ExpressionAttributeNames: { '#role': 'role' },
          ExpressionAttributeValues: { ...change.values, ':at': now(), ':ow': 'OW', ':null': null },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      },
    ]);
  } catch (err) {
    refusal(err, change.ownerDetail);
  }
  // Read back the committed item so the response shows exactly what is stored, with the user's
  // other memberships for the directory (both reads at once).
  const [m, all] = await Promise.all([getMembership(db, orgId, userId), membershipsOf(db, userId)]);
  await syncDirectory(directory, m!, all);
  return m!;
}

/** Assign an organization role (which also activates with an active role, or deactivates with DI). */
export async function assignRole(db: Db, p: Principal, orgId: number, userId: number, role: Role, directory: Directory): Promise<Membership> {
  await authorize(db, p, orgId, 'organization.roles.assign', { activeOnly: true });
  if (userId === p.userId) throw new ForbiddenError('You cannot change your own role.');
  if (role === 'OW') throw new ConflictError('The Owner changes only through an ownership transfer.');
  const source = p.via === 'cognito' ? 'manual' : 'api';
  return changeMember(
    db,
    p,
    orgId,
    userId,
    { set: '#role = :role, role_source = :source', values: { ':role': role, ':source': source }, ownerDetail: 'The Owner cannot be demoted or deactivated; transfer ownership first.' },
    directory,
  );
}

/**
 * Soft-delete a member: the membership stays (history shows them as deleted), access ends at once,
 * and coming back needs a new invitation. Deleting oneself → 405 as in LSE; the Owner → 409.
 */
export async function deleteMember(db: Db, p: Principal, orgId: number, userId: number, directory: Directory): Promise<void> {
  await authorize(db, p, orgId, 'organization.roles.assign', { activeOnly: true });
  if (userId === p.userId) throw new MethodNotAllowedError('User cannot soft delete self.');
  await changeMember(db, p, orgId, userId, { set: 'deleted_at = :gone', values: { ':gone': now() }, ownerDetail: 'The Owner cannot be deleted; transfer ownership first.' }, directory);
}

/**
 * Transfer ownership (LSE needs a support ticket; Roster does not): in one transaction the caller,
 * still the Owner, becomes Administrator and the target, an active member, becomes Owner. Racing
 * transfers, demotions and deletions can never leave zero or two Owners.
 */
export async function transferOwnership(db: Db, p: Principal, orgId: number, userId: number): Promise<Membership> {
  await authorize(db, p, orgId, 'organization.transfer_ownership', { activeOnly: true });
  if (userId === p.userId) throw new ConflictError('You already own this organization.');
  const at = now();
  try {
    await transactWrite(db, [
      {
        Update: {
          TableName: db.table,
          Key: keys.membership(orgId, p.userId),
          UpdateExpression: 'SET #role = :ad, role_source = :src, updated_at = :at',
          ConditionExpression: '#role = :ow AND deleted_at = :null',
          ExpressionAttributeNames: { '#role': 'role' },
          ExpressionAttributeValues: { ':ad': 'AD', ':ow': 'OW', ':src': 'manual', ':at': at, ':null': null },
        },
      },
      {
        Update: {
          TableName: db.table,
          Key: keys.membership(orgId, userId),
          UpdateExpression: 'SET #role = :ow, role_source = :src, updated_at = :at',
          ConditionExpression: 'attribute_exists(PK) AND deleted_at = :null AND #role IN (:ad, :ma, :re, :an)',
          ExpressionAttributeNames: { '#role': 'role' },
          ExpressionAttributeValues: { ':ow': 'OW', ':ad': 'AD', ':ma': 'MA', ':re': 'RE', ':an': 'AN', ':src': 'manual', ':at': at, ':null': null },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      },
    ]);
  } catch (err) {
    const reasons = cancellationReasons(err);
    if (!reasons) throw err;
    const [caller, target] = reasons;
    if (caller?.code === 'ConditionalCheckFailed') throw new ForbiddenError('Only the Owner can transfer ownership.');
    if (target?.code === 'ConditionalCheckFailed') {
      if (!target.item || target.item.deleted_at !== null) throw new NotFoundError('Member not found.');
      throw new ConflictError('The new Owner must be an active member (not Not Activated or Deactivated).');
    }
    throw new ConflictError('A concurrent change to these members won; retry.');
  }
  return (await getMembership(db, orgId, userId))!;
}

/**
 * An identity provider sets a member's role (SCIM, SAML: the federation engine). The same
 * conditions as an administrator's change, without a caller: the membership exists, is not deleted,
 * and is not the Owner's (an IdP never demotes the Owner); the role source becomes the IdP's.
 * Returns the committed membership, or undefined when a condition refused the change.
 */
export async function setRoleFromIdp(db: Db, orgId: number, userId: number, role: Exclude<Role, 'OW'>, source: 'scim' | 'saml'): Promise<Membership | undefined> {
  try {
    const r = await db.doc.send(
      new UpdateCommand({
        TableName: db.table,
        Key: keys.membership(orgId, userId),
        UpdateExpression: 'SET #role = :role, role_source = :source, updated_at = :at',
        ConditionExpression: 'attribute_exists(PK) AND #role <> :ow AND deleted_at = :null',
        ExpressionAttributeNames: { '#role': 'role' },
        ExpressionAttributeValues: { ':role': role, ':source': source, ':at': now(), ':ow': 'OW', ':null': null },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return asMembership(r.Attributes!);
  } catch (err) {
    if (isConditionFailure(err)) return undefined;
    throw err;
  }
}
