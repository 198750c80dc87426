/**
 * SCIM Groups over the group store (lib/federation/groups.ts: one item per member, changed by
 * deltas, each change re-evaluating the mappings of the users it touches). This module turns the
 * protocol's shapes into those calls: a PATCH's operations become renames and member deltas
 * (patch.ts `groupChanges`), never a read-modify-write of the member list, so concurrent PATCHes to
 * one group lose nothing. Members are Users of this organization by id; ids that name none are
 * ignored (one unknown member must not drop a whole push: notes §4.3). The `display` an IdP sends
 * with a member is kept beside it (`SCIMGD#<group>#<pad user>`) and answered back.
 */
import { type Db, batchWrite, queryAll } from '../../core/db.js';
import { keys } from '../../core/table.js';
import { addMembers, createGroup, deleteGroup, getGroup, groupByName, pageGroups, pageMembers, removeMembers, replaceMembers, updateGroup, type ScimGroup } from '../groups.js';
import { ScimError, scimNotFound, tooMany, uniqueness } from './errors.js';
import { type Filter, keyTerm, matches } from './filter.js';
import { type GroupChange } from './patch.js';
import { GROUP_URN } from './resources.js';

type Json = Record<string, unknown>;

/** The most groups a filter that no key serves is evaluated over. */
export const MAX_GROUPS_SCAN = 10_000;
/** Members are read in pages of this many (bounded memory per read, whatever the group's size). */
export const MEMBER_PAGE = 1000;

const ID = /^[1-9][0-9]{0,14}$/;
/** The Roster user ids among member references (others name no user of Roster and are ignored). */
const userIds = (ids: readonly string[]) => [...new Set(ids.filter((i) => ID.test(i)).map(Number))];

const displayKey = keys.scimMemberDisplay;

/** The displays sent with members, by user id. */
async function displaysOf(db: Db, orgId: number, groupId: string): Promise<Map<number, string>> {
  const p = keys.scimMemberDisplayPrefix(orgId, groupId);
  const items = await queryAll(db, { KeyConditionExpression: 'PK = :pk AND begins_with(SK, :sk)', ExpressionAttributeValues: { ':pk': p.PK, ':sk': p.SKPrefix }, ConsistentRead: true });
  return new Map(items.map((i) => [Number(i.user_id), String(i.display)]));
}

async function putDisplays(db: Db, orgId: number, groupId: string, members: { id: number; display?: string }[]): Promise<void> {
  const withDisplay = members.filter((m) => m.display);
  await batchWrite(db, withDisplay.map((m) => ({ PutRequest: { Item: { ...displayKey(orgId, groupId, m.id), type: 'scim_member_display', user_id: m.id, display: m.display!.slice(0, 256) } } })), 4);
}

async function dropDisplays(db: Db, orgId: number, groupId: string, ids: readonly number[] | 'all', keep: ReadonlySet<number> = new Set()): Promise<void> {
  let list: number[];
  if (ids === 'all') list = [...(await displaysOf(db, orgId, groupId)).keys()].filter((u) => !keep.has(u));
  else list = [...ids];
  await batchWrite(db, list.map((u) => ({ DeleteRequest: { Key: displayKey(orgId, groupId, u) } })), 4);
}

export const groupEtag = (g: ScimGroup) => `W/"${g.version}"`;

/** Every member of a group, read page by page. */
export async function allMembers(db: Db, orgId: number, groupId: string): Promise<number[]> {
  const out: number[] = [];
  let after: number | undefined;
  do {
    const page = await pageMembers(db, orgId, groupId, { after, limit: MEMBER_PAGE });
    out.push(...page.userIds);
    after = page.next;
  } while (after !== undefined);
  return out;
}

/** The Group resource; `withMembers` false when the client excluded them (Entra: excludedAttributes=members). */
export async function groupResource(db: Db, orgId: number, g: ScimGroup, base: string, withMembers: boolean): Promise<Json> {
  const [members, displays] = withMembers ? await Promise.all([allMembers(db, orgId, g.id), displaysOf(db, orgId, g.id)]) : [[], new Map<number, string>()];
  return {
    schemas: [GROUP_URN],
    id: g.id,
    displayName: g.displayName,
    ...(g.externalId ? { externalId: g.externalId } : {}),
    ...(withMembers ? { members: members.map((u) => ({ value: String(u), $ref: `${base}/Users/${u}`, type: 'User', ...(displays.has(u) ? { display: displays.get(u) } : {}) })) } : {}),
    meta: { resourceType: 'Group', created: g.created, lastModified: g.lastModified, version: groupEtag(g), location: `${base}/Groups/${g.id}` },
  };
}

export async function getScimGroup(db: Db, orgId: number, id: string): Promise<ScimGroup> {
  const g = /^[0-9a-f-]{36}$/i.test(id) ? await getGroup(db, orgId, id) : undefined;
  if (!g) throw scimNotFound(`Group ${id} not found.`);
  return g;
}

const checkIfMatch = (g: ScimGroup, ifMatch?: string) => {
  if (ifMatch !== undefined && ifMatch !== '*' && !ifMatch.split(',').map((t) => t.trim()).includes(groupEtag(g))) throw new ScimError(412, 'The group changed: its version no longer matches If-Match.');
};

const asUniqueness = (err: unknown): never => {
  if ((err as { status?: number }).status === 409) throw uniqueness((err as Error).message);
  throw err;
};

/** POST /Groups: the group, then its members (unknown ids ignored). */
export async function createScimGroup(db: Db, orgId: number, input: { displayName: string; externalId?: string; members: string[]; displays: Map<string, string> }): Promise<ScimGroup> {
  const g = await createGroup(db, orgId, { displayName: input.displayName, ...(input.externalId ? { externalId: input.externalId } : {}) }).catch(asUniqueness);
  const ids = userIds(input.members);
  if (ids.length) {
    const { added } = await addMembers(db, orgId, g.id, ids);
    await putDisplays(db, orgId, g.id, added.map((id) => ({ id, display: input.displays.get(String(id)) })));
  }
  return (await getGroup(db, orgId, g.id)) ?? g;
}

/** PUT /Groups/{id}: name and externalId replaced, members made exactly those given. */
export async function replaceScimGroup(db: Db, orgId: number, id: string, input: { displayName: string; externalId?: string; members: string[]; displays: Map<string, string> }, ifMatch?: string): Promise<ScimGroup> {
  const g = await getScimGroup(db, orgId, id);
  checkIfMatch(g, ifMatch);
  if (g.displayName !== input.displayName || g.externalId !== input.externalId) await updateGroup(db, orgId, id, { displayName: input.displayName, externalId: input.externalId ?? null }).catch(asUniqueness);
  const ids = userIds(input.members);
  await replaceMembers(db, orgId, id, ids);
  await dropDisplays(db, orgId, id, 'all', new Set(ids));
  await putDisplays(db, orgId, id, ids.map((u) => ({ id: u, display: input.displays.get(String(u)) })));
  return getScimGroup(db, orgId, id);
}

/** PATCH /Groups/{id}: the changes in order, each a delta on the store. */
export async function patchScimGroup(db: Db, orgId: number, id: string, changes: GroupChange[], displays: Map<string, string>, ifMatch?: string): Promise<void> {
  let g = await getScimGroup(db, orgId, id);
  checkIfMatch(g, ifMatch);
  for (const c of changes) {
    switch (c.kind) {
      case 'rename':
        if (c.displayName !== g.displayName) g = await updateGroup(db, orgId, id, { displayName: c.displayName, externalId: g.externalId ?? null }).catch(asUniqueness);
        break;
      case 'externalId':
        if ((c.externalId ?? undefined) !== g.externalId) g = await updateGroup(db, orgId, id, { displayName: g.displayName, externalId: c.externalId }).catch(asUniqueness);
        break;
      case 'add': {
        const ids = userIds(c.ids);
        if (!ids.length) break;
        const { added } = await addMembers(db, orgId, id, ids);
        await putDisplays(db, orgId, id, added.map((u) => ({ id: u, display: displays.get(String(u)) })));
        break;
      }
      case 'remove': {
        const ids = userIds(c.ids);
        if (!ids.length) break;
        await removeMembers(db, orgId, id, ids);
        await dropDisplays(db, orgId, id, ids);
        break;
      }
      case 'removeAll':
        await replaceMembers(db, orgId, id, []);
        await dropDisplays(db, orgId, id, 'all');
        break;
      case 'replace': {
        const ids = userIds(c.ids);
        await replaceMembers(db, orgId, id, ids);
        await dropDisplays(db, orgId, id, 'all', new Set(ids));
        await putDisplays(db, orgId, id, ids.map((u) => ({ id: u, display: displays.get(String(u)) })));
        break;
      }
    }
  }
}

export async function deleteScimGroup(db: Db, orgId: number, id: string, ifMatch?: string): Promise<void> {
  const g = await getScimGroup(db, orgId, id);
  checkIfMatch(g, ifMatch);
  await deleteGroup(db, orgId, id);
  await dropDisplays(db, orgId, id, 'all');
}

/** GET /Groups: displayName and id filters by key; anything else over the organization's groups (bounded). */
export async function listScimGroups(db: Db, orgId: number, base: string, q: { filter?: Filter; startIndex: number; count: number }): Promise<{ total: number; groups: ScimGroup[] }> {
  const term = q.filter ? keyTerm(q.filter, ['id', 'displayName']) : undefined;
  let candidates: ScimGroup[];
  if (term?.attr === 'displayName') {
    const g = await groupByName(db, orgId, term.value);
    candidates = g ? [g] : [];
  } else if (term?.attr === 'id') {
    candidates = /^[0-9a-f-]{36}$/i.test(term.value) ? [await getGroup(db, orgId, term.value)].filter((g): g is ScimGroup => !!g) : [];
  } else {
    candidates = [];
    let after: string | undefined;
    do {
      const page = await pageGroups(db, orgId, { after, limit: 1000 });
      candidates.push(...page.groups);
      if (candidates.length > MAX_GROUPS_SCAN) throw tooMany(`More than ${MAX_GROUPS_SCAN} groups; filter on displayName or id.`);
      after = page.next;
    } while (after !== undefined);
  }
  // Filters are evaluated on the group without its members (a filter on members is not supported).
  const f = q.filter;
  const matched = f ? candidates.filter((g) => matches(f, { schemas: [GROUP_URN], id: g.id, displayName: g.displayName, externalId: g.externalId, meta: { created: g.created, lastModified: g.lastModified } })) : candidates;
  return { total: matched.length, groups: matched.slice(q.startIndex - 1, q.startIndex - 1 + q.count) };
}

/** The `display` of each member reference in a body (`[{value, display}]`). */
export function displaysIn(v: unknown): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of Array.isArray(v) ? v : [v]) {
    if (typeof m !== 'object' || m === null) continue;
    const o = m as Json;
    const value = o[Object.keys(o).find((k) => k.toLowerCase() === 'value') ?? ''];
    const display = o[Object.keys(o).find((k) => k.toLowerCase() === 'display' || k.toLowerCase() === 'displayname') ?? ''];
    if ((typeof value === 'string' || typeof value === 'number') && typeof display === 'string') out.set(String(value), display);
  }
  return out;
}
