import { z } from 'zod';
import { entryView, listEntries } from '../../lib/audit/activity-log.js';
import { verifyRange } from '../../lib/audit/digest.js';
import { getExport, startExport } from '../../lib/audit/exports.js';
import { api, idParam, ok, routed } from '../http.js';
import { ActivityLogPage, Export, Verification } from '../schemas.js';

const MAX_PAGE = 10_000;
const int = z.coerce.number().int();
const optionalId = idParam.optional();

/** LSE's query: page/page_size or DataTables' start/length; page_size (or length) -1 is "all" (up to 10,000). */
const logQuery = z.object({
  user: optionalId,
  project: optionalId,
  workspace: optionalId,
  method: z.enum(['DELETE', 'GET', 'PATCH', 'POST', 'PUT', 'all']).optional(),
  start_date: z.string().max(64).optional(),
  end_date: z.string().max(64).optional(),
  search: z.string().max(500).optional(),
  ordering: z.enum(['datetime', '-datetime', 'id', '-id']).default('-datetime'),
  page: int.min(1).optional(),
  page_size: int.min(-1).max(MAX_PAGE).refine((n) => n !== 0).optional(),
  start: int.min(0).optional(),
  length: int.min(-1).max(MAX_PAGE).refine((n) => n !== 0).optional(),
});

export const list = api({ responses: { 200: ActivityLogPage }, query: logQuery }, async ({ principal, query, db }) => {
  const size = query.length ?? query.page_size ?? 100;
  const limit = size === -1 ? MAX_PAGE : size;
  const offset = query.start ?? ((query.page ?? 1) - 1) * limit;
  const { items, total, filtered } = await listEntries(db, principal, {
    ...query,
    method: query.method === 'all' ? undefined : query.method,
    // Ids grow with time: ordering by id is ordering by time.
    ordering: query.ordering.endsWith('datetime') ? (query.ordering as 'datetime' | '-datetime') : query.ordering === 'id' ? 'datetime' : '-datetime',
    offset,
    limit,
  });
  return ok({ data: items.map(entryView), recordsTotal: total, recordsFiltered: filtered });
});

// Strict: every field has a default, so a body of other fields is a mistake, not an export of everything.
const exportBody = z
  .object({
    format: z.enum(['ndjson', 'csv']).default('ndjson'),
    start_date: z.string().max(64).optional(),
    end_date: z.string().max(64).optional(),
  })
  .strict();

export const exportStart = api({ status: 202, responses: { 202: Export }, body: exportBody }, async ({ principal, body, db }) => ok(await startExport(db, principal, body), 202));

export const exportGet = api({ responses: { 200: Export }, params: z.object({ id: z.uuid() }) }, async ({ principal, params, db }) => ok(await getExport(db, principal, params.id)));

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'Use YYYY-MM-DD.');

export const verify = api({ responses: { 200: Verification }, query: z.object({ start_date: day, end_date: day }) }, async ({ principal, query, db }) =>
  ok({ start_date: query.start_date, end_date: query.end_date, ...(await verifyRange(db, principal, query.start_date, query.end_date)) }),
);

export const handler = routed('activity/index', { list, exportStart, exportGet, verify });
