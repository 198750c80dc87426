/**
 * The SCIM 2.0 service (RFC 7644) under /scim/v2/: discovery, Users and Groups. Each route parses
 * its input, calls one service of lib/federation/scim/, and shapes the SCIM answer.
 */
import { ScimError, invalidValue, scimNotFound } from '../../lib/federation/scim/errors.js';
import { parseFilter } from '../../lib/federation/scim/filter.js';
import { createScimGroup, deleteScimGroup, displaysIn, getScimGroup, groupEtag, groupResource, listScimGroups, patchScimGroup, replaceScimGroup } from '../../lib/federation/scim/groups.js';
import { groupChanges, operationsOf } from '../../lib/federation/scim/patch.js';
import { LIST_URN, MAX_RESULTS, attributeList, cleanGroup, project, resourceTypes, schemas, serviceProviderConfig } from '../../lib/federation/scim/resources.js';
import { createScimUser, deleteScimUser, etagOf, getScimUser, listScimUsers, patchScimUser, replaceScimUser, userResource } from '../../lib/federation/scim/users.js';
import { type ApiResult, type ScimInput, noContent, routed, scim, scimJson } from '../http.js';

/** A query parameter by name, in any case (`excludedattributes` = `excludedAttributes`). */
const param = (q: URLSearchParams, name: string): string | null => {
  for (const [k, v] of q) if (k.toLowerCase() === name.toLowerCase()) return v;
  return null;
};

function integer(q: URLSearchParams, name: string, fallback: number): number {
  const v = param(q, name);
  if (v === null || v.trim() === '') return fallback;
  if (!/^-?\d{1,15}$/.test(v.trim())) throw invalidValue(`${name} must be an integer.`);
  return Number(v.trim());
}

/** RFC 7644 §3.4.2.4: startIndex < 1 is 1; count < 0 is 0; count is cut to MAX_RESULTS. */
const paging = (q: URLSearchParams) => ({
  startIndex: Math.max(1, integer(q, 'startIndex', 1)),
  count: Math.min(MAX_RESULTS, Math.max(0, integer(q, 'count', 100))),
});

const projection = (q: URLSearchParams) => ({ attributes: attributeList(param(q, 'attributes')), excluded: attributeList(param(q, 'excludedAttributes')) });

const list = (total: number, startIndex: number, resources: unknown[]) => ({ schemas: [LIST_URN], totalResults: total, startIndex, itemsPerPage: resources.length, Resources: resources });

const ifMatch = (i: ScimInput) => i.event.headers['if-match'];

/** A single resource with its version as the ETag header (200, or 201 with its Location). */
function resource(body: Record<string, unknown>, version: string, status = 200): ApiResult {
  const location = (body.meta as { location?: string } | undefined)?.location;
  return scimJson(status, body, { etag: version, ...(status === 201 && location ? { location } : {}) });
}

// ---------------------------------------------------------------------------------------------
// Discovery

export const serviceProvider = scim({}, async ({ base }) => scimJson(200, serviceProviderConfig(base)));
export const resourceTypeList = scim({}, async ({ base }) => {
  const all = resourceTypes(base);
  return scimJson(200, list(all.length, 1, all));
});
export const resourceTypeOne = scim({}, async ({ base, params }) => {
  const found = resourceTypes(base).find((r) => r.id === params.id);
  if (!found) throw scimNotFound(`Resource type ${params.id} not found.`);
  return scimJson(200, found);
});
export const schemaList = scim({}, async ({ base }) => {
  const all = schemas(base);
  return scimJson(200, list(all.length, 1, all));
});
export const schemaOne = scim({}, async ({ base, params }) => {
  const found = schemas(base).find((s) => s.id === params.id);
  if (!found) throw scimNotFound(`Schema ${params.id} not found.`);
  return scimJson(200, found);
});

// ---------------------------------------------------------------------------------------------
// Users

export const usersList = scim({}, async ({ db, caller, query, base }) => {
  const { startIndex, count } = paging(query);
  const f = param(query, 'filter');
  const { total, users } = await listScimUsers(db, caller.orgId, base, { ...(f !== null && f.trim() ? { filter: parseFilter(f) } : {}), startIndex, count });
  const { attributes, excluded } = projection(query);
  return scimJson(200, list(total, startIndex, users.map((u) => project(userResource(u, base), attributes, excluded))));
});

export const userGet = scim({}, async ({ db, caller, params, query, base }) => {
  const u = await getScimUser(db, caller.orgId, params.id!);
  const { attributes, excluded } = projection(query);
  return resource(project(userResource(u, base), attributes, excluded), etagOf(u));
});

export const userCreate = scim({ status: 201 }, async ({ db, caller, body, base }) => {
  const u = await createScimUser(db, caller.orgId, body);
  return resource(userResource(u, base), etagOf(u), 201);
});

export const userReplace = scim({}, async (i) => {
  const u = await replaceScimUser(i.db, i.caller.orgId, i.params.id!, i.body, ifMatch(i));
  return resource(userResource(u, i.base), etagOf(u));
});

/** PATCH answers 204 (what Entra expects), or 200 with the resource when `attributes` asks for some. */
export const userPatch = scim({ status: [204, 200] }, async (i) => {
  const u = await patchScimUser(i.db, i.caller.orgId, i.params.id!, operationsOf(i.body), i.base, ifMatch(i));
  const { attributes, excluded } = projection(i.query);
  if (!attributes && !excluded) return { statusCode: 204, headers: { etag: etagOf(u) } };
  return resource(project(userResource(u, i.base), attributes, excluded), etagOf(u));
});

export const userDelete = scim({}, async (i) => {
  await deleteScimUser(i.db, i.caller.orgId, i.params.id!, ifMatch(i));
  return noContent();
});

// ---------------------------------------------------------------------------------------------
// Groups

/** Whether the projection leaves members out (so they are not read at all). */
const wantsMembers = (p: { attributes?: string[][]; excluded?: string[][] }) =>
  p.attributes ? p.attributes.some((a) => a[0]!.toLowerCase() === 'members') : !p.excluded?.some((a) => a.length === 1 && a[0]!.toLowerCase() === 'members');

export const groupsList = scim({}, async ({ db, caller, query, base }) => {
  const { startIndex, count } = paging(query);
  const f = param(query, 'filter');
  const { total, groups } = await listScimGroups(db, caller.orgId, base, { ...(f !== null && f.trim() ? { filter: parseFilter(f) } : {}), startIndex, count });
  const p = projection(query);
  const members = wantsMembers(p);
  const resources = await Promise.all(groups.map(async (g) => project(await groupResource(db, caller.orgId, g, base, members), p.attributes, p.excluded)));
  return scimJson(200, list(total, startIndex, resources));
});

export const groupGet = scim({}, async ({ db, caller, params, query, base }) => {
  const g = await getScimGroup(db, caller.orgId, params.id!);
  const p = projection(query);
  return resource(project(await groupResource(db, caller.orgId, g, base, wantsMembers(p)), p.attributes, p.excluded), groupEtag(g));
});

/** A body's `members` (in any case), for the displays sent with them. */
function membersOf(body: unknown): unknown {
  if (typeof body !== 'object' || body === null) return undefined;
  const key = Object.keys(body).find((k) => k.toLowerCase() === 'members');
  return key ? (body as Record<string, unknown>)[key] : undefined;
}

export const groupCreate = scim({ status: 201 }, async ({ db, caller, body, base }) => {
  const input = cleanGroup(body);
  const g = await createScimGroup(db, caller.orgId, { ...input, displays: displaysIn(membersOf(body)) });
  return resource(await groupResource(db, caller.orgId, g, base, true), groupEtag(g), 201);
});

export const groupReplace = scim({}, async (i) => {
  const bodyId = (i.body as Record<string, unknown> | null)?.id;
  if (bodyId !== undefined && bodyId !== null && String(bodyId) !== i.params.id) throw new ScimError(400, 'id is read-only: it must match the resource\'s.', 'mutability');
  const input = cleanGroup(i.body);
  const g = await replaceScimGroup(i.db, i.caller.orgId, i.params.id!, { ...input, displays: displaysIn(membersOf(i.body)) }, ifMatch(i));
  return resource(await groupResource(i.db, i.caller.orgId, g, i.base, true), groupEtag(g));
});

/** PATCH answers 204, as Entra wants for groups (a 10,000-member list is not sent back). */
export const groupPatch = scim({ status: 204 }, async (i) => {
  const ops = operationsOf(i.body);
  const displays = new Map(ops.flatMap((o) => [...displaysIn(o.value)]));
  await patchScimGroup(i.db, i.caller.orgId, i.params.id!, groupChanges(ops, i.params.id!), displays, ifMatch(i));
  return noContent();
});

export const groupDelete = scim({}, async (i) => {
  await deleteScimGroup(i.db, i.caller.orgId, i.params.id!, ifMatch(i));
  return noContent();
});

/** The Lambda handler of this module's routes (see functions/routes.ts). */
export const handler = routed('scim/index', {
  serviceProvider, resourceTypeList, resourceTypeOne, schemaList, schemaOne,
  usersList, userGet, userCreate, userReplace, userPatch, userDelete,
  groupsList, groupGet, groupCreate, groupReplace, groupPatch, groupDelete,
});
