import { z } from 'zod';
import { MEMBER_ORDERINGS, listMembers } from '../../lib/org/organizations.js';
import { api, csvRoles, idParam, link, ok } from '../http.js';
import { pageQuery } from '../paging.js';
import { memberShape } from '../shapes.js';
import { MemberPage } from '../schemas.js';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

const query = pageQuery.extend({
  role: csvRoles.optional(),
  search: z.string().trim().max(256).optional(),
  is_deleted: bool.optional(),
  ordering: z.enum(MEMBER_ORDERINGS).optional(),
  user__last_activity__gte: z.iso.datetime({ offset: true }).optional(),
  user__last_activity__lte: z.iso.datetime({ offset: true }).optional(),
});

export const handler = api({ responses: { 200: MemberPage }, params: z.object({ id: idParam }), query }, async ({ principal, params, query, event, db }) => {
  const { page, page_size, cursor, role, search, is_deleted, ordering } = query;
  const filters = { role, search, is_deleted, ordering, lastActivityGte: query.user__last_activity__gte, lastActivityLte: query.user__last_activity__lte };
  const result = await listMembers(db, principal, params.id, { page, pageSize: page_size, cursor }, filters);
  const rest = Object.fromEntries(Object.entries(event.queryStringParameters ?? {}).filter(([k]) => !['page', 'cursor'].includes(k)));
  return ok({
    count: result.count,
    next: result.next ? link(event, { page: page + 1, ...rest, page_size, cursor: result.next }) : null,
    previous: page > 1 ? link(event, { page: page - 1, ...rest, page_size }) : null,
    results: result.items.map(memberShape),
  });
});
