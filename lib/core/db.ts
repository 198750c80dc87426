import { AsyncLocalStorage } from 'node:async_hooks';
import { DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
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

/** Per-request DynamoDB round-trip count, read by the local runtime's request log and the benchmark. */
export const roundTrips = new AsyncLocalStorage<{ count: number }>();

export function createDb(table: string, endpoint?: string): Db {
  const client = new DynamoDBClient(endpoint ? { endpoint } : {});
  client.middlewareStack.add(
    (next) => async (args) => {
      const store = roundTrips.getStore();
      if (store) store.count++;
      return next(args);
    },
    { step: 'initialize', name: 'rosterRoundTripCounter' },
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

/** BatchGet of up to any number of keys, following UnprocessedKeys until every key is answered. */
export async function batchGet(db: Db, keyList: Record<string, unknown>[], consistent = false): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < keyList.length; i += 100) {
    let pending: Record<string, unknown>[] | undefined = keyList.slice(i, i + 100);
    while (pending?.length) {
      const r: BatchGetCommandOutput = await db.doc.send(new BatchGetCommand({ RequestItems: { [db.table]: { Keys: pending, ConsistentRead: consistent } } }));
      out.push(...(r.Responses?.[db.table] ?? []));
      pending = r.UnprocessedKeys?.[db.table]?.Keys;
    }
  }
  return out;
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
