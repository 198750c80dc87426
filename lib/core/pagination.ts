import { QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { type Db, countAll } from './db.js';
import { NotFoundError, ValidationError } from './errors.js';

/**
 * LSE's (Django REST framework's) answer to a page number that is not a positive integer, or past
 * the last page: 404 {"detail": "Invalid page."}. Page 1 of an empty collection is an empty page.
 */
export const invalidPage = () => new NotFoundError('Invalid page.');

/**
 * A page number as the client sent it: a positive integer (at most 15 digits, a safe integer), or 0
 * for anything else (`abc`, `0`, `-1`, `1.5`, `1e3`), which `checkPage` answers as an invalid page.
 * Absent: page 1.
 */
export function parsePage(value: string | undefined): number {
  if (value === undefined || value === '') return 1;
  return /^0*[1-9][0-9]{0,14}$/.test(value) ? Number(value) : 0;
}

/** The page must exist: a positive integer, and page 1 or one that starts inside the collection. */
export function checkPage(page: number, pageSize: number, count: number): void {
  if (!Number.isSafeInteger(page) || page < 1 || (page > 1 && (page - 1) * pageSize >= count)) throw invalidPage();
}

/** The most items one skipping Query asks DynamoDB for (it reads keys only, up to 1 MB per call anyway). */
export const SKIP_LIMIT = 10_000;

export interface PageRequest {
  page: number;
  pageSize: number;
  /** Opaque cursor from a previous page's `next` link: starts the page without skipping. */
  cursor?: string;
}

export interface Page<T> {
  items: T[];
  count: number;
  /** Cursor for the page after this one, when there is one. */
  next?: string;
}

/** A DynamoDB filter on the items of the partition (evaluated by DynamoDB, after the key condition). */
export interface Filter {
  expression: string;
  names?: Record<string, string>;
  values?: Record<string, unknown>;
}

export const encodeCursor = (key: Record<string, unknown>) => Buffer.from(JSON.stringify(key)).toString('base64url');

function decodeCursor(cursor: string, pk: string, skPrefix: string): Record<string, unknown> {
  try {
    const key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    // A cursor may only point inside the partition being listed: never into another tenant's items.
    if (key?.PK === pk && typeof key.SK === 'string' && key.SK.startsWith(skPrefix) && Object.keys(key).length === 2) return key;
  } catch {
    /* fall through */
  }
  throw new ValidationError('Invalid cursor.', { cursor: ['Invalid cursor.'] });
}

/**
 * One page of a key-prefix Query, LSE page-number style, optionally filtered and in either order.
 * Following `next` uses the cursor (one Query per page, more only when a filter drops items);
 * jumping to page N without one counts first (a Select=COUNT Query with the same filter) and, when
 * the page exists, skips the (N-1)·size matching items, reading keys only: a page past the last is
 * LSE's 404 "Invalid page." without reading further. Page 1 and pages reached by a cursor read the
 * count in parallel with the page.
 */
export async function queryPrefixPage<T>(
  db: Db,
  pk: string,
  skPrefix: string,
  req: PageRequest,
  opts: { filter?: Filter; forward?: boolean } = {},
): Promise<Page<T>> {
  const f = opts.filter;
  const base: QueryCommandInput = {
    TableName: db.table,
    KeyConditionExpression: 'PK = :pk AND begins_with(SK, :sk)',
    ExpressionAttributeValues: { ':pk': pk, ':sk': skPrefix, ...f?.values },
    ...(f?.names && Object.keys(f.names).length ? { ExpressionAttributeNames: f.names } : {}),
    ...(f ? { FilterExpression: f.expression } : {}),
    ScanIndexForward: opts.forward ?? true,
  };
  if (!Number.isSafeInteger(req.page) || req.page < 1) throw invalidPage();
  if (!Number.isSafeInteger(req.pageSize) || req.pageSize < 1) throw new ValidationError('Validation error', { page_size: ['Must be a positive integer.'] });
  const cursor = req.cursor ? decodeCursor(req.cursor, pk, skPrefix) : undefined;
  const readPage = async () => {
    let start = cursor;
    let skip = cursor ? 0 : (req.page - 1) * req.pageSize;
    while (skip > 0) {
      // Limit bounds the items evaluated, so a filtered Query never returns more than `skip`.
      const r = await db.doc.send(new QueryCommand({ ...base, ProjectionExpression: 'PK, SK', Limit: Math.min(skip, SKIP_LIMIT), ExclusiveStartKey: start }));
      skip -= r.Count ?? 0;
      start = r.LastEvaluatedKey;
      if (!start) return { items: [] as T[], next: undefined };
    }
    const items: T[] = [];
    let last: Record<string, unknown> | undefined;
    do {
      const r = await db.doc.send(
        new QueryCommand({ ...base, Limit: req.pageSize - items.length, ExclusiveStartKey: start, ConsistentRead: true }),
      );
      items.push(...((r.Items ?? []) as T[]));
      start = last = r.LastEvaluatedKey;
    } while (start && items.length < req.pageSize);
    return { items, next: last ? encodeCursor(last) : undefined };
  };
  const skipping = !cursor && req.page > 1;
  const counted = countAll(db, base);
  // A page jumped to is checked against the count before anything is skipped.
  if (skipping) checkPage(req.page, req.pageSize, await counted);
  const [count, page] = await Promise.all([counted, readPage()]);
  checkPage(req.page, req.pageSize, count);
  const more = req.page * req.pageSize < count;
  return { items: page.items, count, next: more ? page.next : undefined };
}
