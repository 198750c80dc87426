/**
 * The query parameters of LSE's paginated listings, one rule for every route (README, "Pages"):
 * `page` as Django REST framework takes it (anything but an existing page is 404 {"detail":
 * "Invalid page."}), `page_size` from 1 to its maximum (a 400 naming the field and the range
 * otherwise), and Roster's cursor carried in `next` links.
 */
import { z } from 'zod';
import { invalidPage, parsePage } from '../lib/core/pagination.js';

/** LSE's page number: parses to 0 when it is not a positive integer, which the listing refuses (lib/core/pagination.ts). */
export const pageNumber = z.string().optional().transform(parsePage);

/** A page size from 1 to `max`. */
export const pageSize = (max = 1000) => {
  const error = `Enter a whole number from 1 to ${max}.`;
  return z.coerce.number({ error }).int(error).min(1, error).max(max, error);
};

/** LSE page-number pagination parameters, plus Roster's cursor carried in `next` links. */
export const pageQuery = z.object({
  page: pageNumber,
  page_size: pageSize().default(100),
  cursor: z.string().max(2048).optional(),
});

/**
 * Page `n` of a listing Roster pages by cursor, for LSE clients that page by number: the pages
 * before it are walked by their cursors (never past the collection's end, one page read each), and
 * a page past the last is 404 "Invalid page.". With a cursor (a `next` link), that page is read.
 */
export async function numberedPage<T>(n: number, cursor: string | undefined, read: (cursor?: string) => Promise<{ items: T[]; next?: string }>): Promise<{ items: T[]; next?: string }> {
  if (cursor) return read(cursor);
  if (n < 1) throw invalidPage();
  let page = await read(undefined);
  for (let at = 1; at < n; at++) {
    if (!page.next) throw invalidPage();
    page = await read(page.next);
  }
  // A cursor can lead to an empty last page; past page 1 that is no page at all.
  if (n > 1 && !page.items.length) throw invalidPage();
  return page;
}

/** The query of a `next` link: the request's own, with the new cursor and without a page number. */
export const nextQuery = (query: Record<string, string | undefined> | undefined, cursor: string) => ({
  ...Object.fromEntries(Object.entries(query ?? {}).filter(([k]) => k !== 'cursor' && k !== 'page')),
  cursor,
});
