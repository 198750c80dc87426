import { z } from 'zod';
import { entryView, listEntries } from '../../lib/audit/activity-log.js';
import { verifyRange } from '../../lib/audit/digest.js';
import { getExport, startExport } from '../../lib/audit/exports.js';
import { api, idParam, ok, routed } from '../http.js';
import { ActivityLogPage, Export, Verification } from '../schemas.js';
import { pageNumber } from '../paging.js';

const MAX_PAGE = 10_000;
const int = z.coerce.number().int();
const optionalId = idParam.optional();
/** A page size: 1 to 10,000, or -1 for all (up to 10,000). */
const sizeError = `Enter -1 (all) or a whole number from 1 to ${MAX_PAGE}.`;
const size = z.coerce.number({ error: sizeError }).int(sizeError).min(-1, sizeError).max(MAX_PAGE, sizeError).refine((n) => n !== 0, sizeError);

/**
 * LSE's query: page/page_size or DataTables' start/length; page_size (or length) -1 is "all" (up to
 * 10,000). A page past the last is LSE's 404 "Invalid page."; a `start` past the end, an empty page.
 */
const logQuery = z.object({
  user: optionalId,
  project: optionalId,
  workspace: optionalId,
  method: z.enum(['DELETE', 'GET', 'PATCH', 'POST', 'PUT', 'all']).optional(),
  start_date: z.string().max(64).optional(),
  end_date: z.string().max(64).optional(),
  search: z.string().max(500).optional(),
  ordering: z.enum(['datetime', '-datetime', 'id', '-id']).default('-datetime'),
  page: pageNumber,
  page_size: size.optional(),
  start: int.min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  length: size.optional(),
});

export const list = api({ responses: { 200: ActivityLogPage }, query: logQuery }, async ({ principal, query, db }) => {
  const size = query.length ?? query.page_size ?? 100;
  const limit = size === -1 ? MAX_PAGE : size;
  const offset = query.start ?? 0;
  const { items, total, filtered } = await listEntries(db, principal, {
    ...query,
    // DataTables' start wins over a page number.
    page: query.start === undefined ? query.page : undefined,
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
