import { z } from 'zod';
import { listMembers } from '../../lib/organizations.js';
import { api, idParam, link, ok, pageQuery } from '../http.js';
import { memberShape } from '../shapes.js';

export const handler = api({ params: z.object({ id: idParam }), query: pageQuery }, async ({ principal, params, query, event, db }) => {
  const { page, page_size } = query;
  const result = await listMembers(db, principal, params.id, { page, pageSize: page_size, cursor: query.cursor });
  return ok({
    count: result.count,
    next: result.next ? link(event, { page: page + 1, page_size, cursor: result.next }) : null,
    previous: page > 1 ? link(event, { page: page - 1, page_size }) : null,
    results: result.items.map(memberShape),
  });
});
