import { z } from 'zod';
import { createDefinition, deleteDefinition, getDefinition, listDefinitions, updateDefinition } from '../../lib/reviews/definitions.js';
import { getInstance as readInstance, listInstances as pageInstances, listItems as pageItems, startInstance } from '../../lib/reviews/instances.js';
import { DECISIONS, FLAGS, GRANT_KINDS, INSTANCE_STATUSES } from '../../lib/reviews/model.js';
import { type ApiEvent, api, idParam, link, noContent, ok, routed } from '../http.js';
import { pageQuery } from '../paging.js';
import {
  DefinitionCreate,
  DefinitionPage,
  DefinitionPatch,
  InstancePage,
  ItemPage,
  ReviewDefinitionSchema,
  ReviewInstanceSchema,
  definitionShape,
  instanceShape,
  itemShape,
} from './schemas.js';

const params = z.object({ id: idParam });

/** LSE's page envelope around one page of a listing. */
function envelope<T>(event: ApiEvent, q: { page: number; page_size: number }, r: { count: number; next?: string; items: T[] }, shape: (t: T) => unknown) {
  const rest = Object.fromEntries(Object.entries(event.queryStringParameters ?? {}).filter(([k]) => !['page', 'cursor'].includes(k)));
  return ok({
    count: r.count,
    next: r.next ? link(event, { page: q.page + 1, ...rest, page_size: q.page_size, cursor: r.next }) : null,
    previous: q.page > 1 ? link(event, { page: q.page - 1, ...rest, page_size: q.page_size }) : null,
    results: r.items.map(shape),
  });
}

export const listDefinitionsRoute = api({ responses: { 200: DefinitionPage }, query: pageQuery, summary: 'Access review definitions of the organization (Owner, Administrators)' }, async ({ principal, query, event, db }) =>
  envelope(event, query, await listDefinitions(db, principal, { page: query.page, pageSize: query.page_size, cursor: query.cursor }), definitionShape),
);
export const createDefinitionRoute = api({ responses: { 201: ReviewDefinitionSchema }, body: DefinitionCreate, summary: 'Define an access review (scope, reviewers, schedule, due date, inactivity threshold, end action)' }, async ({ principal, body, db }) =>
  ok(definitionShape(await createDefinition(db, principal, body)), 201),
);
export const getDefinitionRoute = api({ responses: { 200: ReviewDefinitionSchema }, params }, async ({ principal, params, db }) => ok(definitionShape(await getDefinition(db, principal, params.id))));
export const updateDefinitionRoute = api({ responses: { 200: ReviewDefinitionSchema }, params, body: DefinitionPatch }, async ({ principal, params, body, db }) =>
  ok(definitionShape(await updateDefinition(db, principal, params.id, body))),
);
export const deleteDefinitionRoute = api({ responses: { 204: null }, params }, async ({ principal, params, db }) => {
  await deleteDefinition(db, principal, params.id);
  return noContent();
});
export const start = api({ responses: { 201: ReviewInstanceSchema }, params, summary: 'Start an instance of a review now: its snapshot is taken in slices; it opens when complete' }, async ({ principal, params, db }) =>
  ok(instanceShape(await startInstance(db, principal, principal.orgId, params.id)), 201),
);

const instanceQuery = pageQuery.extend({ definition: idParam.optional(), status: z.enum(INSTANCE_STATUSES).optional() });
export const listInstances = api({ responses: { 200: InstancePage }, query: instanceQuery, summary: 'Review instances, newest first (Owner, Administrators)' }, async ({ principal, query, event, db }) =>
  envelope(event, query, await pageInstances(db, principal, { page: query.page, pageSize: query.page_size, cursor: query.cursor }, { definition: query.definition, status: query.status }), instanceShape),
);
export const getInstance = api({ responses: { 200: ReviewInstanceSchema }, params }, async ({ principal, params, db }) => ok(instanceShape(await readInstance(db, principal, params.id))));

const itemQuery = pageQuery.extend({
  flag: z.string().transform((s) => s.split(',').filter(Boolean)).pipe(z.array(z.enum(FLAGS)).max(FLAGS.length)).optional(),
  decision: z.enum(DECISIONS).optional(),
  reviewer: idParam.optional(),
  kind: z.enum(GRANT_KINDS).optional(),
  user: idParam.optional(),
});
export const listItems = api(
  { responses: { 200: ItemPage }, params, query: itemQuery, summary: "An instance's items (person × grant), by flag, decision, reviewer, kind or person; a reviewer sees only their own" },
  async ({ principal, params, query, event, db }) => {
    const { page, page_size, cursor, ...filters } = query;
    return envelope(event, query, await pageItems(db, principal, params.id, { page, pageSize: page_size, cursor }, filters), itemShape);
  },
);

export const handler = routed('reviews/index', {
  listDefinitionsRoute,
  createDefinitionRoute,
  getDefinitionRoute,
  updateDefinitionRoute,
  deleteDefinitionRoute,
  start,
  listInstances,
  getInstance,
  listItems,
});
