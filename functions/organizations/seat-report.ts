import { z } from 'zod';
import { ROLE_SOURCES } from '../../lib/core/roles.js';
import { SEAT_ORDERINGS, seatReport } from '../../lib/reviews/seat-report.js';
import { api, idParam, link, ok } from '../http.js';
import { pageQuery } from '../paging.js';
import { SeatReportPage, seatRowShape } from '../reviews/seat-schemas.js';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const roleSources = z.string().transform((s) => s.split(',').filter(Boolean)).pipe(z.array(z.enum(ROLE_SOURCES)).max(ROLE_SOURCES.length));

const query = pageQuery.extend({
  counts_toward_seat_limit: bool.optional(),
  email: z.string().trim().max(254).optional(),
  has_stale_role_assignments: bool.optional(),
  include_seat_usage: bool.optional(),
  role_source: roleSources.optional(),
  search: z.string().trim().max(256).optional(),
  ordering: z.enum(SEAT_ORDERINGS).optional(),
});

export const handler = api(
  { responses: { 200: SeatReportPage }, params: z.object({ id: idParam }), query, summary: "Seat report: each member's seat, role, role source and the IdP assignments behind them (Owner, Administrators)" },
  async ({ principal, params, query, event, db }) => {
    const { page, page_size, cursor, ...filters } = query;
    const r = await seatReport(db, principal, params.id, { page, pageSize: page_size, cursor }, filters);
    const rest = Object.fromEntries(Object.entries(event.queryStringParameters ?? {}).filter(([k]) => !['page', 'cursor'].includes(k)));
    return ok({
      count: r.count,
      next: page * page_size < r.count ? link(event, { page: page + 1, ...rest, page_size, cursor: r.next }) : null,
      previous: page > 1 ? link(event, { page: page - 1, ...rest, page_size }) : null,
      results: r.items.map(seatRowShape),
      ...(r.seat_usage ? { seat_usage: r.seat_usage } : {}),
    });
  },
);
