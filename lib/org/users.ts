import { type Db, getItem, batchGet, cancellationReasons, queryAll, transactWrite } from '../core/db.js';
import type { Directory } from '../identity/directory.js';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../core/errors.js';
import { nextId } from '../core/ids.js';
import { type NewUser, asMembership, asOrganization, asUser, membershipItem, newUserItem, searchText, userPuts } from '../core/items.js';
import { type Membership, type Organization, type Principal, type User, isActiveMembership, memberUserOf } from '../core/model.js';
import { authorize, membershipsOf } from './organizations.js';
import type { Role, RoleSource } from '../core/roles.js';
import { keys } from '../core/table.js';
import type { Caller } from '../identity/auth.js';
import { now } from '../core/util.js';

const emailTaken = () =>
  new ConflictError('A user with this email already exists.', { validation_errors: { email: ['user with this email address already exists.'] } });

/**
 * Create a user and their membership in an organization (with `role`, or the organization's default
 * role), and their sign-in account when a password is given. Round trips: organization read ‖ id
 * allocation, then one transaction (email claim, user, membership); the email claim's condition
 * makes concurrent creates of one address yield one user; `extra` writes (consuming an invitation)
 * commit or fail with it. The sign-in account is created after the
 * commit; if that fails the user exists without a password and the error is reported.
 */
export async function insertUser(
  db: Db,
  orgId: number,
  input: NewUser & { password?: string },
  opts: { role?: Role; source: RoleSource; directory: Directory; extra?: (userId: number) => Record<string, unknown>[] },
): Promise<{ user: User; membership: Membership }> {
  // The organization is read before the id is taken (the caller's own, already read with them).
  const [org, id] = await Promise.all([getItem(db, keys.organization(orgId)), nextId(db, 'user')]);
  if (!org) throw new NotFoundError('Organization not found.');
  const at = now();
  const user = newUserItem(id, input, orgId, at);
  const member = membershipItem(orgId, user, opts.role ?? org.default_role, opts.source, at);
  try {
    await transactWrite(db, [
      ...userPuts(db.table, user),
      { Put: { TableName: db.table, Item: member, ConditionExpression: 'attribute_not_exists(PK)' } },
      ...((opts.extra?.(id) ?? []) as never[]),
    ]);
  } catch (err) {
    const reasons = cancellationReasons(err);
    if (reasons?.[0]?.code === 'ConditionalCheckFailed') throw emailTaken();
    if (reasons?.slice(3).some((r) => r.code === 'ConditionalCheckFailed')) throw new NotFoundError('This invitation is invalid, expired or revoked.');
    throw err;
  }
  if (input.password !== undefined) await opts.directory.createUser(user.email, input.password);
  return { user, membership: asMembership(member) };
}

/** POST /api/users/: Owners and Administrators add people to their active organization. */
export async function createUser(db: Db, p: Principal, input: NewUser & { password?: string }, directory: Directory) {
  await authorize(db, p, p.orgId, 'organization.invite');
  return insertUser(db, p.orgId, input, { source: p.via === 'cognito' ? 'manual' : 'api', directory });
}

async function getUserItem(db: Db, userId: number): Promise<User | undefined> {
  const r = await getItem(db, keys.user(userId));
  return r ? asUser(r) : undefined;
}

/**
 * A user as the caller may see them: themselves always; others only when they are members (deleted
 * or not) of the caller's active organization and the caller may list members. Anyone else is 404.
 * Returns the memberships the caller may see (theirs: all; others': this organization's).
 */
export async function getUser(db: Db, p: Principal, userId: number): Promise<{ user: User; memberships: Membership[] }> {
  if (userId === p.userId) {
    const [user, memberships] = await Promise.all([getUserItem(db, userId), membershipsOf(db, userId)]);
    if (!user) throw new NotFoundError();
    return { user, memberships };
  }
  await authorize(db, p, p.orgId, 'organization.members.list');
  const items = await batchGet(db, [keys.user(userId), keys.membership(p.orgId, userId)], true);
  const u = items.find((i) => i.SK === 'USER');
  const m = items.find((i) => i.SK !== 'USER');
  if (!u || !m) throw new NotFoundError();
  return { user: asUser(u), memberships: [asMembership(m)] };
}

/**
 * GET /api/users/ (LSE answers a plain array): the members of the caller's active organization that
 * are not deleted, with their user records: the partition's Query pages, then one BatchGet per 100.
 */
export async function listUsers(db: Db, p: Principal): Promise<{ user: User; membership: Membership }[]> {
  await authorize(db, p, p.orgId, 'organization.members.list');
  const { PK, SKPrefix } = keys.membershipPrefix(p.orgId);
  const members = (
    await queryAll(db, {
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :sk)',
      FilterExpression: 'deleted_at = :null',
      ExpressionAttributeValues: { ':pk': PK, ':sk': SKPrefix, ':null': null },
    })
  ).map(asMembership);
  const users = new Map((await batchGet(db, members.map((m) => keys.user(m.user_id)))).map((i) => [i.id as number, asUser(i)]));
  return members.flatMap((membership) => {
    const user = users.get(membership.user_id);
    return user ? [{ user, membership }] : [];
  });
}

export interface UserPatch {
  username?: string;
  first_name?: string;
  last_name?: string;
  phone?: string;
  allow_newsletters?: boolean | null;
  password?: string;
  active_organization?: number | null;
}

/**
 * Update a user: themselves, or a member of the caller's active organization by its Owner or an
 * Administrator (never the Owner by an Administrator). One transaction writes the user item, the
 * email claim (which carries the active organization for Cognito sign-ins) and the copy of the
 * user on every membership, so listings and search stay exact. A new password goes to the
 * directory after the commit.
 */
export async function updateUser(db: Db, p: Principal, userId: number, patch: UserPatch, directory: Directory): Promise<{ user: User; memberships: Membership[] }> {
  const self = userId === p.userId;
  if (!self) {
    await authorize(db, p, p.orgId, 'organization.roles.assign');
    if (patch.active_organization !== undefined) throw new ForbiddenError('Only users switch their own active organization.');
    // A sign-in account spans organizations: only its owner sets its password.
    if (patch.password !== undefined) throw new ForbiddenError('Only users set their own password.');
  }
  const [user, memberships] = await Promise.all([getUserItem(db, userId), membershipsOf(db, userId)]);
  if (!user) throw new NotFoundError();
  if (!self) {
    const here = memberships.find((m) => m.organization === p.orgId);
    if (!here || here.deleted_at !== null) throw new NotFoundError();
    if (here.role === 'OW' && p.role !== 'OW') throw new ForbiddenError('Only the Owner updates the Owner.');
  }
  if (patch.active_organization !== undefined && patch.active_organization !== null) {
    const target = memberships.find((m) => m.organization === patch.active_organization);
    if (!target || !isActiveMembership(target)) {
      throw new ValidationError('Validation error', { active_organization: ['You are not an active member of this organization.'] });
    }
  }
  const { password, ...fields } = patch;
  const next: User = { ...user, ...Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) };
  const copy = await saveUser(db, user, next, memberships);
  if (password !== undefined) await directory.setPassword(next.email, password);
  return { user: next, memberships: memberships.map((m) => ({ ...m, user: copy })) };
}

/**
 * Write a user and the copy of them on every membership, with the email claim's active
 * organization, in one transaction (what updateUser and the IdPs' profile updates share).
 */
async function saveUser(db: Db, user: User, next: User, memberships: Membership[]) {
  if (memberships.length > 95) throw new ConflictError('This user belongs to too many organizations to update in one step.');
  const copy = { ...memberUserOf(next) };
  try {
    await transactWrite(db, [
      {
        Put: { TableName: db.table, Item: { ...keys.user(user.id), type: 'user', ...next }, ConditionExpression: 'attribute_exists(PK)' },
      },
      {
        Update: {
          TableName: db.table,
          Key: keys.email(user.email),
          UpdateExpression: 'SET active_organization = :o',
          ConditionExpression: 'userId = :u',
          ExpressionAttributeValues: { ':o': next.active_organization, ':u': user.id },
        },
      },
      ...memberships.map((m) => ({
        Update: {
          TableName: db.table,
          Key: keys.membership(m.organization, user.id),
          UpdateExpression: 'SET #user = :copy, #search = :search',
          ConditionExpression: 'attribute_exists(PK)',
          ExpressionAttributeNames: { '#user': 'user', '#search': 'search' },
          ExpressionAttributeValues: { ':copy': copy, ':search': searchText(next) },
        },
      })),
    ]);
  } catch (err) {
    if (cancellationReasons(err)) throw new ConflictError('The user changed while updating; retry.');
    throw err;
  }
  return copy;
}

/**
 * An identity provider updates a person's names (a SAML sign-in, a SCIM profile update): written
 * only when they differ, with the copies on every membership. Returns the user as stored.
 */
export async function updateNamesFromIdp(db: Db, userId: number, names: { first_name?: string; last_name?: string }): Promise<User | undefined> {
  const [user, memberships] = await Promise.all([getUserItem(db, userId), membershipsOf(db, userId)]);
  if (!user) return undefined;
  const next: User = { ...user, ...Object.fromEntries(Object.entries(names).filter(([, v]) => typeof v === 'string')) };
  if (next.first_name === user.first_name && next.last_name === user.last_name) return user;
  await saveUser(db, user, next, memberships);
  return next;
}

/** What currentUser reads by key: the caller's user record (a route prefetches it with the caller). */
export const currentUserKeys = (c: Caller) => [keys.user(c.userId)];

/**
 * The caller's user record, the organization this request acts in and all of their memberships:
 * one BatchGet and one index Query, in parallel (`memberships`: the Query, when already started).
 */
export async function currentUser(db: Db, p: Principal, memberships?: Promise<Membership[]>): Promise<{ user: User; memberships: Membership[]; organization?: Organization }> {
  const userKey = keys.user(p.userId);
  const [items, all] = await Promise.all([batchGet(db, [userKey, keys.organization(p.orgId)], true), memberships ?? membershipsOf(db, p.userId)]);
  const userItem = items.find((i) => i.PK === userKey.PK);
  const orgItem = items.find((i) => i.PK !== userKey.PK);
  if (!userItem) throw new NotFoundError('User not found.');
  return {
    // The organization a request acts in is the principal's (a legacy token's own organization).
    user: { ...asUser(userItem), active_organization: p.orgId },
    memberships: all,
    organization: orgItem ? asOrganization(orgItem) : undefined,
  };
}
