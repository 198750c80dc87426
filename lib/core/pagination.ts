import { QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { type Db, countAll } from './db.js';
import { ValidationError } from './errors.js';

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
 * jumping to page N without one skips the (N-1)·size matching items first, reading keys only. The
 * count is a Select=COUNT Query with the same filter, run in parallel with the page.
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
  const readPage = async () => {
    let start = req.cursor ? decodeCursor(req.cursor, pk, skPrefix) : undefined;
    let skip = req.cursor ? 0 : (req.page - 1) * req.pageSize;
    while (skip > 0) {
      // Limit bounds the items evaluated, so a filtered Query never returns more than `skip`.
      const r = await db.doc.send(new QueryCommand({ ...base, ProjectionExpression: 'PK, SK', Limit: skip, ExclusiveStartKey: start }));
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
  const [count, page] = await Promise.all([countAll(db, base), readPage()]);
  const more = req.page * req.pageSize < count;
  return { items: page.items, count, next: more ? page.next : undefined };
}
