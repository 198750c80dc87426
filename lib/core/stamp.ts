/**
 * Stamping: every item Roster writes carries `_ctx`, the change context of the write (see
 * context.ts), added here in one client middleware so no write path can forget it.
 *
 * A delete leaves no new image, so its context must be on the old one: each delete is preceded by
 * an update that stamps the item, and the delete is conditional on that stamp still being its own
 * (`_ctx.rid`). A stamp-only change is not a state change and the stream consumer passes it over.
 * When another write stamped the item in between, stamp and delete are tried again (see withRetry). Deletes in a
 * BatchWrite (bulk jobs) cannot be conditional; they are stamped first and carry no such check.
 */
import { randomUUID } from 'node:crypto';
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { InitializeHandler, InitializeHandlerArguments, InitializeMiddleware } from '@smithy/types';
import { type Stamp, changeContext } from './context.js';

type Rec = Record<string, unknown>;
type Key = { PK: string; SK: string };
type Update = { Key: Key; UpdateExpression: string; ExpressionAttributeNames?: Record<string, string>; ExpressionAttributeValues?: Rec };
type Delete = { Key: Key; ConditionExpression?: string; ExpressionAttributeNames?: Record<string, string>; ExpressionAttributeValues?: Rec };

/** Items that are not state: the log itself, its digests, security-event counters, id counters. */
const UNSTAMPED = /^(LOG#|DIGEST#|EVT#|COUNTER)/;
const unstamped = (key: Rec | undefined) => typeof key?.PK === 'string' && UNSTAMPED.test(key.PK);

export const newStamp = (): Stamp => ({ ...changeContext(), at: new Date().toISOString(), rid: randomUUID() });

const put = <T extends { Item: Rec }>(p: T, s: Stamp): T => (unstamped(p.Item) ? p : { ...p, Item: { ...p.Item, _ctx: s } });

function update<T extends Update>(u: T, s: Stamp): T {
  if (unstamped(u.Key) || u.ExpressionAttributeNames?.['#_ctx']) return u;
  // A standalone SET keyword (placeholders such as #set are preceded by # or :, not by a space).
  const m = /(^|\s)SET\s/i.exec(u.UpdateExpression);
  const expression = m
    ? `${u.UpdateExpression.slice(0, m.index + m[1]!.length)}SET #_ctx = :_ctx, ${u.UpdateExpression.slice(m.index + m[0].length)}`
    : `SET #_ctx = :_ctx ${u.UpdateExpression}`;
  return {
    ...u,
    UpdateExpression: expression,
    ExpressionAttributeNames: { ...u.ExpressionAttributeNames, '#_ctx': '_ctx' },
    ExpressionAttributeValues: { ...u.ExpressionAttributeValues, ':_ctx': s },
  };
}

/** A delete that only happens while the item's stamp is this write's (or the item is gone anyway). */
function guard<T extends Delete>(d: T, s: Stamp): T {
  if (unstamped(d.Key)) return d;
  const own = '(attribute_not_exists(PK) OR #_ctx.#_rid = :_rid)';
  return {
    ...d,
    ConditionExpression: d.ConditionExpression ? `(${d.ConditionExpression}) AND ${own}` : own,
    ExpressionAttributeNames: { ...d.ExpressionAttributeNames, '#_ctx': '_ctx', '#_rid': 'rid' },
    ExpressionAttributeValues: { ...d.ExpressionAttributeValues, ':_rid': s.rid },
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
  };
}

async function stampBeforeDelete(doc: DynamoDBDocumentClient, table: string, keys: Key[], s: Stamp): Promise<void> {
  await Promise.all(
    keys
      .filter((k) => !unstamped(k))
      .map((Key) =>
        doc
          .send(
            new UpdateCommand({
              TableName: table,
              Key,
              UpdateExpression: 'SET #_ctx = :_ctx',
              ConditionExpression: 'attribute_exists(PK)',
              ExpressionAttributeNames: { '#_ctx': '_ctx' },
              ExpressionAttributeValues: { ':_ctx': s },
            }),
          )
          .catch((err: Error) => {
            // Gone: the delete's own condition decides. Conflicting with a transaction: the delete
            // finds a stamp not its own and the whole is tried again.
            if (err.name !== 'ConditionalCheckFailedException' && err.name !== 'TransactionConflictException') throw err;
          }),
      ),
  );
}

/** The stamp on a (marshalled) item a failed condition returned, when it is not this write's. */
const foreign = (item: unknown, s: Stamp) => {
  const rid = (item as { _ctx?: { M?: { rid?: { S?: string } } } } | undefined)?._ctx?.M?.rid?.S;
  return item !== undefined && rid !== s.rid;
};

function lostRace(err: unknown, deletes: Set<number>, s: Stamp): boolean {
  const e = err as { name?: string; Item?: unknown; CancellationReasons?: { Code?: string; Item?: unknown }[] };
  if (e.name === 'ConditionalCheckFailedException') return deletes.has(0) && foreign(e.Item, s);
  if (e.name !== 'TransactionCanceledException') return false;
  return (e.CancellationReasons ?? []).some((r, i) => deletes.has(i) && r.Code === 'ConditionalCheckFailed' && foreign(r.Item, s));
}

type Input = Rec & { TableName?: string };

/** The client middleware (initialize step: inputs are still in document form). */
export function stampMiddleware<I extends object, O extends object>(doc: () => DynamoDBDocumentClient): InitializeMiddleware<I, O> {
  return (next: InitializeHandler<I, O>, context) => async (args: InitializeHandlerArguments<I>) => {
    const input = args.input as Input;
    const s = newStamp();
    switch (context.commandName) {
      case 'PutItemCommand':
        return next({ ...args, input: <I>(<unknown>put(input as Input & { Item: Rec }, s)) });
      case 'UpdateItemCommand':
        return next({ ...args, input: <I>(<unknown>update(input as Input & Update, s)) });
      case 'DeleteItemCommand': {
        const d = input as Input & Delete;
        return withRetry(s, new Set([0]), async (st, guarded) => {
          await stampBeforeDelete(doc(), String(d.TableName), [d.Key], st);
          return next({ ...args, input: <I>(<unknown>(guarded ? guard(d, st) : d)) });
        });
      }
      case 'TransactWriteItemsCommand': {
        type Item = { Put?: Input & { Item: Rec }; Update?: Input & Update; Delete?: Input & Delete; ConditionCheck?: unknown };
        const items = (input.TransactItems ?? []) as Item[];
        const deletes = new Set(items.flatMap((it, i) => (it.Delete ? [i] : [])));
        const send = async (st: Stamp, guarded = true) => {
          if (deletes.size) await stampBeforeDelete(doc(), String(items.find((it) => it.Delete)!.Delete!.TableName), items.flatMap((it) => (it.Delete ? [it.Delete.Key] : [])), st);
          const stamped = items.map((it) =>
            it.Put ? { Put: put(it.Put, st) } : it.Update ? { Update: update(it.Update, st) } : it.Delete ? { Delete: guarded ? guard(it.Delete, st) : it.Delete } : it,
          );
          return next({ ...args, input: <I>(<unknown>{ ...input, TransactItems: stamped }) });
        };
        return deletes.size ? withRetry(s, deletes, send) : send(s);
      }
      case 'BatchWriteItemCommand': {
        type Req = { PutRequest?: { Item: Rec }; DeleteRequest?: { Key: Key } };
        const request = input.RequestItems as Record<string, Req[]>;
        for (const [table, reqs] of Object.entries(request)) {
          const keys = reqs.flatMap((r) => (r.DeleteRequest ? [r.DeleteRequest.Key] : []));
          if (keys.length) await stampBeforeDelete(doc(), table, keys, s);
        }
        const stamped = Object.fromEntries(
          Object.entries(request).map(([table, reqs]) => [table, reqs.map((r) => (r.PutRequest ? { PutRequest: put(r.PutRequest, s) } : r))]),
        );
        return next({ ...args, input: <I>(<unknown>{ ...input, RequestItems: stamped }) });
      }
      default:
        return next(args);
    }
  };
}

const GUARDED_ATTEMPTS = 4;

/**
 * Stamp and delete again (with a fresh stamp, after a short random pause) while another write keeps
 * stamping the item in between. After GUARDED_ATTEMPTS lost races (other deletes of the same item
 * racing this one) the delete goes ahead on the caller's own conditions: stamping never fails a
 * write that would succeed without it; the removal is then named for the last stamp on the item.
 */
async function withRetry<T>(first: Stamp, deletes: Set<number>, attempt: (s: Stamp, guarded: boolean) => Promise<T>): Promise<T> {
  let s = first;
  for (let i = 1; ; i++) {
    const guarded = i <= GUARDED_ATTEMPTS;
    try {
      return await attempt(s, guarded);
    } catch (err) {
      if (!guarded || !lostRace(err, deletes, s)) throw err;
      await new Promise((r) => setTimeout(r, Math.random() * 10 * i));
      s = { ...s, at: new Date().toISOString(), rid: randomUUID() };
    }
  }
}
