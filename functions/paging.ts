/**
 * The query parameters of LSE's paginated listings, one rule for every route (README, "Pages"):
 * `page` as Django REST framework takes it (anything but an existing page is 404 {"detail":
 * "Invalid page."}), `page_size` from 1 to its maximum (a 400 naming the field and the range
 * otherwise), and Roster's cursor carried in `next` links.
 */
import { z } from 'zod';
import { parsePage } from '../lib/core/pagination.js';

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
