import { AsyncLocalStorage } from 'node:async_hooks';
import { DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  GetCommand,
  BatchWriteCommand,
  type BatchGetCommandOutput,
  DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandInput,
  type QueryCommandOutput,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { stampMiddleware } from './stamp.js';

export interface Db {
  doc: DynamoDBDocumentClient;
  table: string;
}

/**
 * Per-request DynamoDB counts, read by the local runtime's request log and the benchmark: `calls`
 * (every request to DynamoDB) and `trips` (sequential round trips: calls that start while none of
 * the request's other calls is in flight; calls made in parallel count once).
 */
export interface RoundTrips {
  calls: number;
  trips: number;
  inflight: number;
}
export const roundTrips = new AsyncLocalStorage<RoundTrips>();
export const newRoundTrips = (): RoundTrips => ({ calls: 0, trips: 0, inflight: 0 });

type Key = Record<string, unknown>;
type Item = Record<string, unknown>;

/**
 * What this request has read so far, by key (null: read, and absent). The request's first
 * BatchGetItem (the caller's membership and the items its route declared) fills it; later reads of
 * those keys are served from it. Any write of the request empties it, so a read after a write goes to
 * the table: what it serves is exactly what a consistent read at the start of the request returned.
 */
export class RequestReads {
  readonly items = new Map<string, Item | null>();
  /** Moves on with every write: a read that was in flight across a write is not remembered. */
  generation = 0;
  written(): void {
    this.items.clear();
    this.generation++;
  }
}
export const requestReads = new AsyncLocalStorage<RequestReads>();
const keyId = (k: Key) => `${String(k.PK)}\u0000${String(k.SK)}`;
const WRITES = new Set(['PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand', 'TransactWriteItemsCommand', 'BatchWriteItemCommand']);

/** Record what a read returned for these keys (absent ones as null) in the request's reads. */
export function remember(reads: RequestReads, keyList: Key[], items: Item[], since = reads.generation): void {
  if (since !== reads.generation) return;
  for (const k of keyList) reads.items.set(keyId(k), null);
  // Copies: what a reader does to the item it got does not change what a later read is served.
  for (const i of items) reads.items.set(keyId(i), structuredClone(i));
}

export function createDb(table: string, endpoint?: string): Db {
  const client = new DynamoDBClient(endpoint ? { endpoint } : {});
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (WRITES.has(String(context.commandName))) requestReads.getStore()?.written();
      return next(args);
    },
    { step: 'initialize', name: 'rosterRequestReads' },
  );
  // Counted at serialize, past the stamp's initialize step: a delete's stamping write is a call and a round trip of its own.
  client.middlewareStack.add(
    (next) => async (args) => {
      const store = roundTrips.getStore();
      if (!store) return next(args);
      store.calls++;
      if (store.inflight++ === 0) store.trips++;
      try {
        return await next(args);
      } finally {
        store.inflight--;
      }
    },
    { step: 'serialize', name: 'rosterRoundTripCounter' },
  );
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  // Every write carries its change context (the activity log's actor, source and request).
  client.middlewareStack.add(stampMiddleware(() => doc), { step: 'initialize', name: 'rosterStamp' });
  return { doc, table };
}

let cached: Db | undefined;
/** The Lambda-wide client, configured from the environment (TABLE_NAME; AWS_ENDPOINT_URL_DYNAMODB locally). */
export function db(): Db {
  const table = process.env.TABLE_NAME;
  if (!table) throw new Error('TABLE_NAME is not set');
  if (!cached || cached.table !== table) cached = createDb(table, process.env.AWS_ENDPOINT_URL_DYNAMODB);
  return cached;
}

/**
 * Reads that run at once but fail in the order given: the first one's refusal (403/404) wins over a
 * later one's (400), whichever DynamoDB answers first.
 */
export async function inOrder(...reads: Promise<unknown>[]): Promise<void> {
  for (const r of reads) r.catch(() => undefined);
  for (const r of reads) await r;
}

/** Cancellation reason codes of a failed transaction, in item order ('None' for items that passed). */
export function cancellationReasons(err: unknown): { code: string; item?: Record<string, unknown> }[] | undefined {
  if (!(err instanceof TransactionCanceledException)) return undefined;
  return (err.CancellationReasons ?? []).map((r) => ({ code: r.Code ?? 'None', item: r.Item ? unmarshall(r.Item) : undefined }));
}

export const isConditionFailure = (err: unknown) =>
  err instanceof Error && err.name === 'ConditionalCheckFailedException';

type TransactItems = NonNullable<TransactWriteCommandInput['TransactItems']>;

/**
 * One all-or-nothing write. A cancellation caused only by a concurrent transaction on the same
 * items (TransactionConflict) is retried with jitter; every other cancellation is the caller's to map.
 */
export async function transactWrite(db: Db, items: TransactItems, attempts = 6): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await db.doc.send(new TransactWriteCommand({ TransactItems: items }));
      return;
    } catch (err) {
      const reasons = cancellationReasons(err);
      const conflictOnly = reasons?.some((r) => r.code === 'TransactionConflict') && reasons.every((r) => r.code === 'TransactionConflict' || r.code === 'None');
      if (!conflictOnly || attempt >= attempts) throw err;
      await new Promise((r) => setTimeout(r, Math.random() * 20 * 2 ** attempt));
    }
  }
}

/**
 * BatchGet of up to any number of keys (duplicates read once), following UnprocessedKeys until every
 * key is answered. Keys this request has read already are served from its reads (see requestReads).
 */
export async function batchGet(db: Db, keyList: Key[], consistent = false): Promise<Item[]> {
  const reads = requestReads.getStore();
  const out: Item[] = [];
  const missing: Key[] = [];
  const seen = new Set<string>();
  for (const k of keyList) {
    const id = keyId(k);
    if (seen.has(id)) continue;
    seen.add(id);
    const known = reads?.items.get(id);
    if (known === undefined) missing.push(k);
    else if (known) out.push(structuredClone(known));
  }
  const fetched: Item[] = [];
  const since = reads?.generation;
  for (let i = 0; i < missing.length; i += 100) {
    let pending: Key[] | undefined = missing.slice(i, i + 100);
    while (pending?.length) {
      const r: BatchGetCommandOutput = await db.doc.send(new BatchGetCommand({ RequestItems: { [db.table]: { Keys: pending, ConsistentRead: consistent } } }));
      fetched.push(...(r.Responses?.[db.table] ?? []));
      pending = r.UnprocessedKeys?.[db.table]?.Keys;
    }
  }
  if (reads && consistent) remember(reads, missing, fetched, since);
  return [...out, ...fetched];
}

/** One item by key, strongly consistent (served from the request's reads when it has read it). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- items are as untyped as GetCommand's
export async function getItem(db: Db, key: Key): Promise<Record<string, any> | undefined> {
  const reads = requestReads.getStore();
  const known = reads?.items.get(keyId(key));
  if (known !== undefined) return known ? structuredClone(known) : undefined;
  const since = reads?.generation;
  const r = await db.doc.send(new GetCommand({ TableName: db.table, Key: key, ConsistentRead: true }));
  if (reads) remember(reads, [key], r.Item ? [r.Item] : [], since);
  return r.Item;
}

type WriteRequest = { PutRequest: { Item: Record<string, unknown> } } | { DeleteRequest: { Key: Record<string, unknown> } };

/**
 * BatchWriteItem of any number of puts and deletes, 25 a call (`parallel` calls at once), following
 * UnprocessedItems until every request is done. Not atomic, and no conditions: for idempotent writes.
 */
export async function batchWrite(db: Db, requests: WriteRequest[], parallel = 1): Promise<void> {
  const chunks: WriteRequest[][] = [];
  for (let i = 0; i < requests.length; i += 25) chunks.push(requests.slice(i, i + 25));
  const worker = async () => {
    for (let chunk = chunks.shift(); chunk; chunk = chunks.shift()) {
      let pending = chunk;
      while (pending.length) {
        const r = await db.doc.send(new BatchWriteCommand({ RequestItems: { [db.table]: pending } }));
        pending = (r.UnprocessedItems?.[db.table] ?? []) as WriteRequest[];
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, parallel) }, worker));
}

/** Every item a Query matches, following LastEvaluatedKey (for bounded collections: one user's memberships, …). */
export async function queryAll(db: Db, input: Omit<QueryCommandInput, 'TableName' | 'ExclusiveStartKey'>): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const r: QueryCommandOutput = await db.doc.send(new QueryCommand({ ...input, TableName: db.table, ExclusiveStartKey: start }));
    out.push(...(r.Items ?? []));
    start = r.LastEvaluatedKey;
  } while (start);
  return out;
}

/** How many items a Query matches (Select=COUNT, following LastEvaluatedKey). */
export async function countAll(db: Db, input: Omit<QueryCommandInput, 'TableName' | 'ExclusiveStartKey' | 'Select'>): Promise<number> {
  let count = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const r: QueryCommandOutput = await db.doc.send(new QueryCommand({ ...input, TableName: db.table, Select: 'COUNT', ExclusiveStartKey: start }));
    count += r.Count ?? 0;
    start = r.LastEvaluatedKey;
  } while (start);
  return count;
}
