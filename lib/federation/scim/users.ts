/**
 * SCIM Users of one organization: one item per user (`SCIMU#<pad user>`, its id is the Roster user
 * id), userName's uniqueness item and externalId's index item, always written in one transaction
 * with it. Lifecycle (LSE's): POST provisions the person (provision.ts: a new account, or only a
 * membership for an email that has one) and applies the group mappings; `active` false/true goes
 * through the engine at once; DELETE soft-deletes the membership (history kept), drops the SCIM
 * items (404 afterwards, the userName free again) and the user's group memberships.
 *
 * A userName that is an email is the account's email. Any other userName (Microsoft's collection
 * sends `UserName123`) gets an account under a reserved, never-delivered address of the
 * organization (`<userName>.<hash>@scim-org<id>.invalid`, RFC 2606), so every SCIM user is a
 * Roster user, whatever the IdP calls them.
 */
import { createHash } from 'node:crypto';
import { QueryCommand, type QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import { type Db, batchGet, cancellationReasons, countAll, getItem, transactWrite } from '../../core/db.js';
import { keys } from '../../core/table.js';
import { now } from '../../core/util.js';
import { updateNamesFromIdp } from '../../org/users.js';
import { applyMappings } from '../engine.js';
import { groupNamesOf, groupsOf, removeMembers } from '../groups.js';
import { getScimMappings } from '../mappings.js';
import { provisionMember } from '../provision.js';
import { ScimError, mutability, scimNotFound, tooMany, uniqueness } from './errors.js';
import { type Filter, keyTerm, matches } from './filter.js';
import { type Operation, applyUserOps, normalizeUserOps } from './patch.js';
import { ENTERPRISE_URN, USER_URN, cleanUser } from './resources.js';

type Json = Record<string, unknown>;

export interface StoredUser {
  user_id: number;
  userName: string;
  externalId?: string;
  active: boolean;
  attributes: Json;
  created: string;
  lastModified: string;
  version: number;
}

/** The most SCIM users a filter that no key serves is evaluated over; beyond, 400 tooMany. */
export const MAX_SCAN = 20_000;

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** The account email behind a userName (see the module comment). */
export function emailFor(orgId: number, userName: string): string {
  const lower = userName.trim().toLowerCase();
  if (EMAIL.test(lower) && lower.length <= 254) return lower;
  const slug = lower.replace(/[^a-z0-9._-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '').slice(0, 40) || 'user';
  return `${slug}.${createHash('sha256').update(lower).digest('hex').slice(0, 10)}@scim-org${orgId}.invalid`;
}

const asStored = (i: Record<string, unknown>): StoredUser => ({
  user_id: Number(i.user_id),
  userName: String(i.userName),
  ...(typeof i.externalId === 'string' ? { externalId: i.externalId } : {}),
  active: i.active !== false,
  attributes: (i.attributes ?? {}) as Json,
  created: String(i.created),
  lastModified: String(i.lastModified),
  version: Number(i.version ?? 1),
});

export const etagOf = (u: { version: number }) => `W/"${u.version}"`;

/** The User resource as SCIM answers it (the password never: it is never kept). */
export function userResource(u: StoredUser, base: string): Json {
  const ext = u.attributes[ENTERPRISE_URN];
  return {
    schemas: ext ? [USER_URN, ENTERPRISE_URN] : [USER_URN],
    id: String(u.user_id),
    ...(u.externalId ? { externalId: u.externalId } : {}),
    ...u.attributes,
    active: u.active,
    meta: { resourceType: 'User', created: u.created, lastModified: u.lastModified, version: etagOf(u), location: `${base}/Users/${u.user_id}` },
  };
}

const ID = /^[1-9][0-9]{0,14}$/;
const userIdOf = (id: string) => (ID.test(id) ? Number(id) : undefined);

/** One SCIM user of the organization, or 404 (also when its membership was deleted meanwhile). */
export async function getScimUser(db: Db, orgId: number, id: string): Promise<StoredUser> {
  const userId = userIdOf(id);
  if (userId === undefined) throw scimNotFound(`User ${id} not found.`);
  const items = await batchGet(db, [keys.scimUser(orgId, userId), keys.membership(orgId, userId)], true);
  const item = items.find((i) => String(i.SK).startsWith('SCIMU#'));
  const m = items.find((i) => String(i.SK).startsWith('MEMBER#'));
  if (!item || !m || m.deleted_at !== null) throw scimNotFound(`User ${id} not found.`);
  return asStored(item);
}

const userItem = (orgId: number, u: StoredUser) => ({ ...keys.scimUser(orgId, u.user_id), type: 'scim_user', userNameLower: u.userName.toLowerCase(), ...u });

/** Bring the member's role and access in line with their groups (and `active`), through the engine. */
async function applyGroups(db: Db, orgId: number, userId: number, active?: boolean): Promise<void> {
  const [groups, mappings] = await Promise.all([groupNamesOf(db, orgId, userId), getScimMappings(db, orgId)]);
  await applyMappings(db, { orgId, userId, groups, source: 'scim', mappings, ...(active !== undefined ? { active } : {}) });
}

/**
 * A SCIM resource whose membership was deleted outside SCIM (an administrator, through the API) is
 * stale: SCIM answers 404 for it, so the IdP provisions the user again. Its items are released (one
 * transaction) and true returned; a live one stays and false is returned.
 */
async function releaseStale(db: Db, orgId: number, userId: number, userName: string): Promise<boolean> {
  const items = await batchGet(db, [keys.scimUser(orgId, userId), keys.membership(orgId, userId)], true);
  const item = items.find((i) => String(i.SK).startsWith('SCIMU#'));
  const m = items.find((i) => String(i.SK).startsWith('MEMBER#'));
  if (item && m && m.deleted_at === null) return false;
  const u = item ? asStored(item) : undefined;
  await transactWrite(db, [
    ...(u
      ? [
          { Delete: { TableName: db.table, Key: keys.scimUser(orgId, userId), ConditionExpression: 'version = :v', ExpressionAttributeValues: { ':v': u.version } } },
          { Delete: { TableName: db.table, Key: keys.scimUserName(orgId, u.userName) } },
          ...(u.externalId ? [{ Delete: { TableName: db.table, Key: keys.scimExternalId(orgId, u.externalId, userId) } }] : []),
        ]
      : [{ Delete: { TableName: db.table, Key: keys.scimUserName(orgId, userName) } }]),
  ]).catch((err) => {
    if (cancellationReasons(err)) throw new ScimError(409, 'The resource is being changed concurrently; retry.');
    throw err;
  });
  return true;
}

/** POST /Users: provision the person, store the resource (409 uniqueness on a userName in use here), apply the mappings. */
export async function createScimUser(db: Db, orgId: number, body: unknown): Promise<StoredUser> {
  const c = cleanUser(body);
  const claim = await getItem(db, keys.scimUserName(orgId, c.userName));
  if (claim && !(await releaseStale(db, orgId, Number(claim.user_id), c.userName))) throw uniqueness(`userName ${c.userName} is already in use in this organization.`);
  const p = await provisionMember(db, orgId, { email: emailFor(orgId, c.userName), ...nameOf(c) }, 'scim');
  const at = now();
  const u: StoredUser = { user_id: p.user.id, userName: c.userName, ...(c.externalId ? { externalId: c.externalId } : {}), active: c.active, attributes: c.attributes, created: at, lastModified: at, version: 1 };
  try {
    await transactWrite(db, [
      { Put: { TableName: db.table, Item: userItem(orgId, u), ConditionExpression: 'attribute_not_exists(PK)' } },
      { Put: { TableName: db.table, Item: { ...keys.scimUserName(orgId, u.userName), type: 'scim_username', user_id: u.user_id }, ConditionExpression: 'attribute_not_exists(PK)' } },
      ...(u.externalId ? [{ Put: { TableName: db.table, Item: { ...keys.scimExternalId(orgId, u.externalId, u.user_id), type: 'scim_externalid', user_id: u.user_id } } }] : []),
    ]);
  } catch (err) {
    const reasons = cancellationReasons(err);
    if (reasons?.[1]?.code === 'ConditionalCheckFailed') throw uniqueness(`userName ${c.userName} is already in use in this organization.`);
    if (reasons?.[0]?.code === 'ConditionalCheckFailed') throw uniqueness(`The account behind userName ${c.userName} is provisioned here already (under another userName).`);
    throw err;
  }
  await applyGroups(db, orgId, u.user_id, u.active);
  return u;
}

/**
 * Write a changed resource over the version that was read (a concurrent writer → the caller
 * re-reads and re-applies), moving the userName and externalId items with it, in one transaction.
 */
async function writeChanged(db: Db, orgId: number, before: StoredUser, after: StoredUser): Promise<'ok' | 'conflict'> {
  const moves: NonNullable<Parameters<typeof transactWrite>[1]> = [];
  if (before.userName.toLowerCase() !== after.userName.toLowerCase()) {
    moves.push(
      { Delete: { TableName: db.table, Key: keys.scimUserName(orgId, before.userName) } },
      { Put: { TableName: db.table, Item: { ...keys.scimUserName(orgId, after.userName), type: 'scim_username', user_id: after.user_id }, ConditionExpression: 'attribute_not_exists(PK)' } },
    );
  }
  if (before.externalId !== after.externalId) {
    if (before.externalId) moves.push({ Delete: { TableName: db.table, Key: keys.scimExternalId(orgId, before.externalId, before.user_id) } });
    if (after.externalId) moves.push({ Put: { TableName: db.table, Item: { ...keys.scimExternalId(orgId, after.externalId, after.user_id), type: 'scim_externalid', user_id: after.user_id } } });
  }
  try {
    await transactWrite(db, [{ Put: { TableName: db.table, Item: userItem(orgId, after), ConditionExpression: 'version = :v', ExpressionAttributeValues: { ':v': before.version } } }, ...moves]);
    return 'ok';
  } catch (err) {
    const reasons = cancellationReasons(err);
    if (!reasons) throw err;
    if (reasons[0]?.code === 'ConditionalCheckFailed') return 'conflict';
    if (reasons.some((r) => r.code === 'ConditionalCheckFailed')) throw uniqueness(`userName ${after.userName} is already in use in this organization.`);
    throw err;
  }
}

/** The account names a resource gives (name.givenName / familyName; absent ones leave the account's as they are). */
function nameOf(u: Pick<StoredUser, 'attributes'>): { first_name?: string; last_name?: string } {
  const n = (u.attributes.name ?? {}) as { givenName?: string; familyName?: string };
  return { ...(n.givenName !== undefined ? { first_name: n.givenName.slice(0, 150) } : {}), ...(n.familyName !== undefined ? { last_name: n.familyName.slice(0, 150) } : {}) };
}

/** Read, change, write with the version condition; a concurrent change → read again (up to 10 times, with jitter). */
async function change(db: Db, orgId: number, id: string, ifMatch: string | undefined, next: (u: StoredUser) => Omit<StoredUser, 'user_id' | 'created' | 'lastModified' | 'version'>): Promise<StoredUser> {
  for (let attempt = 0; ; attempt++) {
    const before = await getScimUser(db, orgId, id);
    if (ifMatch !== undefined && ifMatch !== '*' && !ifMatch.split(',').map((t) => t.trim()).includes(etagOf(before))) throw new ScimError(412, 'The resource changed: its version no longer matches If-Match.');
    const n = next(before);
    const after: StoredUser = { ...n, user_id: before.user_id, created: before.created, lastModified: now(), version: before.version + 1 };
    if ((await writeChanged(db, orgId, before, after)) === 'ok') {
      const [was, is] = [nameOf(before), nameOf(after)];
      if (is.first_name !== was.first_name || is.last_name !== was.last_name) await updateNamesFromIdp(db, after.user_id, is);
      if (after.active !== before.active) await applyGroups(db, orgId, after.user_id, after.active);
      return after;
    }
    if (attempt >= 9) throw new ScimError(409, 'The resource is being changed concurrently; retry.');
    await new Promise((r) => setTimeout(r, Math.random() * Math.min(400, 10 * 2 ** attempt)));
  }
}

/** PUT /Users/{id}: the whole resource replaced (an `id` in the body must be this one; `meta`, `groups`, `password` ignored). */
export function replaceScimUser(db: Db, orgId: number, id: string, body: unknown, ifMatch?: string): Promise<StoredUser> {
  const bodyId = (body as Json | null)?.id;
  if (bodyId !== undefined && bodyId !== null && String(bodyId) !== id) throw mutability('id is read-only: it must match the resource\'s.');
  const c = cleanUser(body);
  return change(db, orgId, id, ifMatch, () => ({ userName: c.userName, ...(c.externalId ? { externalId: c.externalId } : {}), active: c.active, attributes: c.attributes }));
}

/** PATCH /Users/{id}: the normalised operations applied to the stored resource, the result cleaned again. */
export function patchScimUser(db: Db, orgId: number, id: string, ops: Operation[], base: string, ifMatch?: string): Promise<StoredUser> {
  const normalized = normalizeUserOps(ops, id);
  return change(db, orgId, id, ifMatch, (u) => {
    const c = cleanUser(applyUserOps(userResource(u, base), normalized));
    return { userName: c.userName, ...(c.externalId ? { externalId: c.externalId } : {}), active: c.active, attributes: c.attributes };
  });
}

/** DELETE /Users/{id}: see the module comment. An Owner's membership is never touched (the IdP only lets go of the resource). */
export async function deleteScimUser(db: Db, orgId: number, id: string, ifMatch?: string): Promise<void> {
  const u = await getScimUser(db, orgId, id);
  if (ifMatch !== undefined && ifMatch !== '*' && !ifMatch.split(',').map((t) => t.trim()).includes(etagOf(u))) throw new ScimError(412, 'The resource changed: its version no longer matches If-Match.');
  const m = await getItem(db, keys.membership(orgId, u.user_id));
  const at = now();
  try {
    await transactWrite(db, [
      { Delete: { TableName: db.table, Key: keys.scimUser(orgId, u.user_id), ConditionExpression: 'version = :v', ExpressionAttributeValues: { ':v': u.version } } },
      { Delete: { TableName: db.table, Key: keys.scimUserName(orgId, u.userName) } },
      ...(u.externalId ? [{ Delete: { TableName: db.table, Key: keys.scimExternalId(orgId, u.externalId, u.user_id) } }] : []),
      ...(m && m.role !== 'OW' && m.deleted_at === null
        ? [{
            Update: {
              TableName: db.table,
              Key: keys.membership(orgId, u.user_id),
              UpdateExpression: 'SET deleted_at = :at, updated_at = :at',
              ConditionExpression: 'deleted_at = :null AND #role <> :ow',
              ExpressionAttributeNames: { '#role': 'role' },
              ExpressionAttributeValues: { ':at': at, ':null': null, ':ow': 'OW' },
            },
          }]
        : []),
    ]);
  } catch (err) {
    if (cancellationReasons(err)) throw new ScimError(409, 'The resource is being changed concurrently; retry.');
    throw err;
  }
  // Out of the groups too, so that a user provisioned again starts from what the IdP pushes then.
  for (const g of await groupsOf(db, orgId, u.user_id)) await removeMembers(db, orgId, g.id, [u.user_id]);
}

/** The organization's SCIM users by id whose membership is not deleted, read with one BatchGet (with their memberships). */
export async function scimUsersByIds(db: Db, orgId: number, userIds: readonly number[]): Promise<StoredUser[]> {
  const items = await batchGet(db, userIds.flatMap((u) => [keys.scimUser(orgId, u), keys.membership(orgId, u)]), true);
  const live = new Set(items.filter((i) => String(i.SK).startsWith('MEMBER#') && i.deleted_at === null).map((i) => Number(i.user_id)));
  return items.filter((i) => String(i.SK).startsWith('SCIMU#') && live.has(Number(i.user_id))).map(asStored).sort((a, b) => a.user_id - b.user_id);
}

export interface ListRequest {
  filter?: Filter;
  /** 1-based, as SCIM counts. */
  startIndex: number;
  count: number;
}

/** Query a prefix of the organization's partition, in key order, up to `limit` items (strongly consistent). */
async function queryPrefix(db: Db, pk: string, prefix: string, limit: number): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const r: QueryCommandOutput = await db.doc.send(
      new QueryCommand({ TableName: db.table, KeyConditionExpression: 'PK = :pk AND begins_with(SK, :sk)', ExpressionAttributeValues: { ':pk': pk, ':sk': prefix }, ConsistentRead: true, Limit: Math.min(1000, limit - out.length), ExclusiveStartKey: start }),
    );
    out.push(...(r.Items ?? []));
    start = r.LastEvaluatedKey;
  } while (start && out.length < limit);
  return out;
}

/**
 * GET /Users: in user-id order. A filter on id, userName or externalId (alone, or as a term of a
 * top-level `and`) is served by its key; any other filter is evaluated over the organization's
 * SCIM users (at most MAX_SCAN). Without a filter, the page is read up to its end and the total counted.
 */
export async function listScimUsers(db: Db, orgId: number, base: string, q: ListRequest): Promise<{ total: number; users: StoredUser[] }> {
  const prefix = keys.scimUserPrefix(orgId);
  if (!q.filter) {
    const [total, items] = await Promise.all([
      countAll(db, { KeyConditionExpression: 'PK = :pk AND begins_with(SK, :sk)', ExpressionAttributeValues: { ':pk': prefix.PK, ':sk': prefix.SKPrefix }, ConsistentRead: true }),
      q.count === 0 ? Promise.resolve([]) : queryPrefix(db, prefix.PK, prefix.SKPrefix, q.startIndex - 1 + q.count),
    ]);
    return { total, users: items.slice(q.startIndex - 1).map(asStored) };
  }
  const f = q.filter;
  const term = keyTerm(f, ['id', 'userName', 'externalId']);
  let candidates: StoredUser[];
  if (term?.attr === 'id') {
    const userId = userIdOf(term.value);
    candidates = userId === undefined ? [] : await scimUsersByIds(db, orgId, [userId]);
  } else if (term?.attr === 'userName') {
    const claim = await getItem(db, keys.scimUserName(orgId, term.value));
    candidates = claim ? await scimUsersByIds(db, orgId, [Number(claim.user_id)]) : [];
  } else if (term?.attr === 'externalId') {
    const x = keys.scimExternalIdPrefix(orgId, term.value);
    const ids = (await queryPrefix(db, x.PK, x.SKPrefix, MAX_SCAN)).map((i) => Number(i.user_id));
    candidates = ids.length ? await scimUsersByIds(db, orgId, ids) : [];
  } else {
    const items = await queryPrefix(db, prefix.PK, prefix.SKPrefix, MAX_SCAN + 1);
    if (items.length > MAX_SCAN) throw tooMany(`This filter would be evaluated over more than ${MAX_SCAN} users; filter on userName, externalId or id.`);
    candidates = items.map(asStored);
  }
  const matched = candidates.filter((u) => matches(f, userResource(u, base)));
  return { total: matched.length, users: matched.slice(q.startIndex - 1, q.startIndex - 1 + q.count) };
}
