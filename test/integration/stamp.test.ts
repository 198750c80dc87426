import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { localClient } from '../../infra/local/dynamodb.js';
import { startStreamPoller } from '../../infra/local/streams.js';
import { type ChangeContext, withChangeContext } from '../../lib/core/context.js';
import { transactWrite } from '../../lib/core/db.js';
import { endpoint, freshTable } from '../support/db.js';

/**
 * lib/core/stamp.ts against DynamoDB Local: every write through the Roster client carries its change
 * context as `_ctx`, and a delete leaves the deleting context on the old image the stream delivers.
 * What is stored is read back with a second, unstamped client.
 */

type Db = Awaited<ReturnType<typeof freshTable>>;
type Item = Record<string, unknown>;

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

const admin: ChangeContext = {
  source: 'api',
  actor_id: 7,
  actor_email: 'admin@example.com',
  organization: 1,
  request_id: 'req-admin',
  ip: '203.0.113.7',
  user_agent: 'roster-tests/1.0',
  method: 'POST',
  path: '/api/organizations/1/memberships',
  status: 201,
};
const creator: ChangeContext = { source: 'api', actor_id: 2, actor_email: 'creator@example.com', organization: 1, request_id: 'req-creator' };
const deleter: ChangeContext = { source: 'api', actor_id: 9, actor_email: 'deleter@example.com', organization: 1, request_id: 'req-deleter', method: 'DELETE' };
const updater: ChangeContext = { source: 'scim', actor_id: 5, actor_email: 'scim@example.com', organization: 1, request_id: 'req-updater' };

let db: Db;
let raw: DynamoDBDocumentClient;

beforeAll(async () => {
  db = await freshTable('stamp');
  raw = DynamoDBDocumentClient.from(localClient(endpoint()));
});
afterAll(() => {
  raw.destroy();
  db.doc.destroy();
});

const pollers: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(pollers.splice(0).map((p) => p.stop()));
});

let seq = 0;
/** A fresh tenant key: every test works on items of its own. */
const key = (prefix = 'ITEM') => ({ PK: 'ORG#0000000001', SK: `${prefix}#${String(++seq).padStart(4, '0')}` });

/** What is stored, read by the unstamped client. */
const stored = async (k: { PK: string; SK: string }, t: Db = db) =>
  (await raw.send(new GetCommand({ TableName: t.table, Key: k, ConsistentRead: true }))).Item;

const as = <T>(ctx: ChangeContext, fn: () => Promise<T>) => withChangeContext(ctx, fn);

/** The stamp `ctx` leaves: the context exactly, plus the time of the write and a write id. */
function expectStampOf(item: Item | undefined, ctx: ChangeContext) {
  expect(item).toBeDefined();
  const s = item!._ctx as Item;
  expect(s).toEqual({ ...ctx, at: expect.stringMatching(ISO), rid: expect.any(String) });
  expect(new Date(String(s.at)).toISOString()).toBe(s.at);
  expect(Math.abs(Date.parse(String(s.at)) - Date.now())).toBeLessThan(60_000);
  expect(String(s.rid).length).toBeGreaterThan(0);
}

async function until(check: () => boolean, what: string, ms = 20_000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Every record of the table's stream from its start, as the consumer receives them. */
function streamOf(t: Db) {
  const records: DynamoDBRecord[] = [];
  const poller = startStreamPoller({
    endpoint: endpoint(),
    streamArn: t.streamArn,
    intervalMs: 20,
    handler: async () => async (event: DynamoDBStreamEvent) => {
      records.push(...event.Records);
    },
  });
  pollers.push(poller);
  const image = (r: DynamoDBRecord, which: 'OldImage' | 'NewImage') => {
    const i = r.dynamodb?.[which];
    return i ? unmarshall(i as Record<string, AttributeValue>) : undefined;
  };
  const of = (k: { PK: string; SK: string }) => records.filter((r) => r.dynamodb?.Keys?.PK?.S === k.PK && r.dynamodb?.Keys?.SK?.S === k.SK);
  const removals = (k: { PK: string; SK: string }) => of(k).filter((r) => r.eventName === 'REMOVE');
  return { records, of, removals, image };
}

describe('stamping writes with the change context', () => {
  it('stamps a Put', async () => {
    const k = key();
    await as(admin, () => db.doc.send(new PutCommand({ TableName: db.table, Item: { ...k, title: 'one' } })));
    const item = await stored(k);
    expect(item).toMatchObject({ ...k, title: 'one' });
    expectStampOf(item, admin);
  });

  it('stamps an Update whose expression has a SET clause, keeping that clause', async () => {
    const k = key();
    await as(creator, () => db.doc.send(new PutCommand({ TableName: db.table, Item: { ...k, title: 'one', hits: 1, gone: 'x' } })));
    await as(admin, () =>
      db.doc.send(
        new UpdateCommand({
          TableName: db.table,
          Key: k,
          UpdateExpression: 'SET title = :t, #n = :n REMOVE gone ADD hits :one',
          ExpressionAttributeNames: { '#n': 'note' },
          ExpressionAttributeValues: { ':t': 'two', ':n': 'noted', ':one': 1 },
          ConditionExpression: 'attribute_exists(PK)',
        }),
      ),
    );
    const item = await stored(k);
    expect(item).toMatchObject({ title: 'two', note: 'noted', hits: 2 });
    expect(item).not.toHaveProperty('gone');
    expectStampOf(item, admin);
  });

  it('stamps an Update whose SET clause is not the first one', async () => {
    const k = key();
    await as(creator, () => db.doc.send(new PutCommand({ TableName: db.table, Item: { ...k, hits: 1 } })));
    await as(admin, () =>
      db.doc.send(new UpdateCommand({ TableName: db.table, Key: k, UpdateExpression: 'ADD hits :one SET title = :t', ExpressionAttributeValues: { ':one': 1, ':t': 'set late' } })),
    );
    const item = await stored(k);
    expect(item).toMatchObject({ hits: 2, title: 'set late' });
    expectStampOf(item, admin);
  });

  it('stamps an Update with only an ADD clause, creating the item', async () => {
    const k = key();
    await as(admin, () => db.doc.send(new UpdateCommand({ TableName: db.table, Key: k, UpdateExpression: 'ADD hits :one', ExpressionAttributeValues: { ':one': 1 } })));
    const item = await stored(k);
    expect(item).toMatchObject({ hits: 1 });
    expectStampOf(item, admin);
  });

  it('stamps an Update with only a REMOVE clause', async () => {
    const k = key();
    await as(creator, () => db.doc.send(new PutCommand({ TableName: db.table, Item: { ...k, title: 'one', gone: 'x' } })));
    await as(admin, () => db.doc.send(new UpdateCommand({ TableName: db.table, Key: k, UpdateExpression: 'REMOVE gone' })));
    const item = await stored(k);
    expect(item).toMatchObject({ title: 'one' });
    expect(item).not.toHaveProperty('gone');
    expectStampOf(item, admin);
  });

  it('stamps the Put and the Update of a TransactWrite', async () => {
    const [a, b] = [key(), key()];
    await as(creator, () => db.doc.send(new PutCommand({ TableName: db.table, Item: { ...b, title: 'old' } })));
    await as(admin, () =>
      db.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: db.table, Item: { ...a, title: 'new' }, ConditionExpression: 'attribute_not_exists(PK)' } },
            { Update: { TableName: db.table, Key: b, UpdateExpression: 'SET title = :t', ExpressionAttributeValues: { ':t': 'changed' } } },
          ],
        }),
      ),
    );
    const [sa, sb] = [await stored(a), await stored(b)];
    expect(sa).toMatchObject({ title: 'new' });
    expect(sb).toMatchObject({ title: 'changed' });
    expectStampOf(sa, admin);
    expectStampOf(sb, admin);
  });

  it('stamps an Update-only TransactWrite with only an ADD clause', async () => {
    const k = key();
    await as(admin, () => transactWrite(db, [{ Update: { TableName: db.table, Key: k, UpdateExpression: 'ADD hits :one', ExpressionAttributeValues: { ':one': 1 } } }]));
    const item = await stored(k);
    expect(item).toMatchObject({ hits: 1 });
    expectStampOf(item, admin);
  });

  it('stamps the PutRequests of a BatchWrite', async () => {
    const ks = [key(), key(), key()];
    await as(admin, () => db.doc.send(new BatchWriteCommand({ RequestItems: { [db.table]: ks.map((k, i) => ({ PutRequest: { Item: { ...k, n: i } } })) } })));
    for (const [i, k] of ks.entries()) {
      const item = await stored(k);
      expect(item).toMatchObject({ n: i });
      expectStampOf(item, admin);
    }
  });

  it('gives every write a stamp id of its own', async () => {
    const [a, b] = [key(), key()];
    await as(admin, async () => {
      await db.doc.send(new PutCommand({ TableName: db.table, Item: { ...a } }));
      await db.doc.send(new PutCommand({ TableName: db.table, Item: { ...b } }));
    });
    const [ra, rb] = [((await stored(a))!._ctx as Item).rid, ((await stored(b))!._ctx as Item).rid];
    expect(ra).not.toBe(rb);
  });

  it('stamps writes outside any context as the system\'s', async () => {
    const [a, b] = [key(), key()];
    await db.doc.send(new PutCommand({ TableName: db.table, Item: { ...a, title: 'sys' } }));
    await db.doc.send(new UpdateCommand({ TableName: db.table, Key: b, UpdateExpression: 'SET title = :t', ExpressionAttributeValues: { ':t': 'sys' } }));
    for (const k of [a, b]) {
      const item = await stored(k);
      expect((item!._ctx as Item).source).toBe('system');
      expectStampOf(item, { source: 'system' });
    }
  });

  it('replaces a stamp the caller copied into the item with its own', async () => {
    const k = key();
    await as(admin, () => db.doc.send(new PutCommand({ TableName: db.table, Item: { ...k, _ctx: { source: 'scim', actor_id: 1, at: 'then', rid: 'old' } } })));
    expectStampOf(await stored(k), admin);
  });
});

describe('items that are not state get no stamp', () => {
  const unstampedKeys = () => [
    { PK: 'LOG#0000000001', SK: `2025-03-01T00:00:00.000Z#ev-${++seq}` },
    { PK: 'DIGEST#0000000001', SK: `2025-03-${String((seq % 28) + 1).padStart(2, '0')}#${++seq}` },
    { PK: `EVT#ip#198.51.100.${++seq % 250}`, SK: '2025-03-01T00:00' },
    { PK: 'COUNTER', SK: `kind-${++seq}` },
  ];

  it.each(['Put', 'Update', 'TransactWrite Put', 'TransactWrite Update', 'BatchWrite PutRequest'])('leaves LOG#, DIGEST#, EVT# and COUNTER items unstamped on a %s', async (how) => {
    const ks = unstampedKeys();
    await as(admin, async () => {
      for (const k of ks) {
        if (how === 'Put') await db.doc.send(new PutCommand({ TableName: db.table, Item: { ...k, v: 1 } }));
        if (how === 'Update') await db.doc.send(new UpdateCommand({ TableName: db.table, Key: k, UpdateExpression: 'SET v = :v ADD hits :one', ExpressionAttributeValues: { ':v': 1, ':one': 1 } }));
        if (how === 'TransactWrite Put') await transactWrite(db, [{ Put: { TableName: db.table, Item: { ...k, v: 1 } } }]);
        if (how === 'TransactWrite Update') await transactWrite(db, [{ Update: { TableName: db.table, Key: k, UpdateExpression: 'SET v = :v', ExpressionAttributeValues: { ':v': 1 } } }]);
      }
      if (how === 'BatchWrite PutRequest') await db.doc.send(new BatchWriteCommand({ RequestItems: { [db.table]: ks.map((k) => ({ PutRequest: { Item: { ...k, v: 1 } } })) } }));
    });
    for (const k of ks) {
      const item = await stored(k);
      expect(item, k.PK).toMatchObject({ v: 1 });
      expect(item, k.PK).not.toHaveProperty('_ctx');
    }
  });

  it('still stamps a tenant item whose sort key looks like one of them', async () => {
    const k = { PK: 'ORG#0000000001', SK: `LOG#${++seq}` };
    await as(admin, () => db.doc.send(new PutCommand({ TableName: db.table, Item: { ...k } })));
    expectStampOf(await stored(k), admin);
  });

  it('deletes them without stamping first', async () => {
    const ks = unstampedKeys();
    await as(admin, () => db.doc.send(new BatchWriteCommand({ RequestItems: { [db.table]: ks.map((k) => ({ PutRequest: { Item: { ...k, v: 1 } } })) } })));
    await as(deleter, async () => {
      await transactWrite(db, [{ Delete: { TableName: db.table, Key: ks[0]!, ConditionExpression: 'attribute_exists(PK)' } }]);
      await db.doc.send(new DeleteCommand({ TableName: db.table, Key: ks[1]! }));
      await db.doc.send(new BatchWriteCommand({ RequestItems: { [db.table]: ks.slice(2).map((k) => ({ DeleteRequest: { Key: k } })) } }));
    });
    for (const k of ks) expect(await stored(k), k.PK).toBeUndefined();
  });
});

describe('deletes carry the deleting context on the old image', () => {
  it('names the deleter, not the creator, on the REMOVE records of a TransactWrite Delete, a DeleteCommand and a BatchWrite DeleteRequest', async () => {
    const t = await freshTable('stamp-del');
    const stream = streamOf(t);
    const [a, b, c, d] = [key(), key(), key(), key()];
    await as(creator, () => t.doc.send(new BatchWriteCommand({ RequestItems: { [t.table]: [a, b, c, d].map((k) => ({ PutRequest: { Item: { ...k, title: 'mine' } } })) } })));
    expectStampOf(await stored(a, t), creator);
    await as(deleter, async () => {
      await transactWrite(t, [{ Delete: { TableName: t.table, Key: a } }]);
      await t.doc.send(new DeleteCommand({ TableName: t.table, Key: b }));
      await t.doc.send(new BatchWriteCommand({ RequestItems: { [t.table]: [c, d].map((k) => ({ DeleteRequest: { Key: k } })) } }));
    });
    for (const k of [a, b, c, d]) expect(await stored(k, t)).toBeUndefined();
    await until(() => [a, b, c, d].every((k) => stream.removals(k).length === 1), 'four REMOVE records');
    for (const k of [a, b, c, d]) {
      const old = stream.image(stream.removals(k)[0]!, 'OldImage')!;
      expect(old, k.SK).toMatchObject({ ...k, title: 'mine' });
      expectStampOf(old, deleter);
    }
  });

  it('fails a TransactWrite Delete whose own condition is false, and keeps the item', async () => {
    const k = key();
    await as(creator, () => db.doc.send(new PutCommand({ TableName: db.table, Item: { ...k, title: 'keep' } })));
    const attempt = as(deleter, () =>
      transactWrite(db, [{ Delete: { TableName: db.table, Key: k, ConditionExpression: 'title = :t', ExpressionAttributeValues: { ':t': 'other' } } }]),
    );
    await expect(attempt).rejects.toMatchObject({ name: 'TransactionCanceledException' });
    expect(await stored(k)).toMatchObject({ ...k, title: 'keep' });
  });

  it('fails a DeleteCommand whose own condition is false, and keeps the item', async () => {
    const k = key();
    await as(creator, () => db.doc.send(new PutCommand({ TableName: db.table, Item: { ...k, title: 'keep' } })));
    const attempt = as(deleter, () =>
      db.doc.send(new DeleteCommand({ TableName: db.table, Key: k, ConditionExpression: 'title = :t', ExpressionAttributeValues: { ':t': 'other' } })),
    );
    await expect(attempt).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
    expect(await stored(k)).toMatchObject({ ...k, title: 'keep' });
  });

  it('fails a delete of a missing item conditional on attribute_exists(PK)', async () => {
    const k = key();
    await expect(
      as(deleter, () => transactWrite(db, [{ Delete: { TableName: db.table, Key: k, ConditionExpression: 'attribute_exists(PK)' } }])),
    ).rejects.toMatchObject({ name: 'TransactionCanceledException' });
    await expect(
      as(deleter, () => db.doc.send(new DeleteCommand({ TableName: db.table, Key: k, ConditionExpression: 'attribute_exists(PK)' }))),
    ).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
    // Nothing was created by the stamp before the delete.
    expect(await stored(k)).toBeUndefined();
  });

  it('deletes a missing item without a condition quietly, creating nothing', async () => {
    const k = key();
    await as(deleter, () => transactWrite(db, [{ Delete: { TableName: db.table, Key: k } }]));
    await as(deleter, () => db.doc.send(new DeleteCommand({ TableName: db.table, Key: k })));
    expect(await stored(k)).toBeUndefined();
  });
});

describe('deletes racing other writes', () => {
  /**
   * Make another context's write land exactly between a delete's stamp and the delete itself, the
   * first `times` times a stamp-before-delete of `target` completes.
   */
  function interleave(t: Db, target: { PK: string; SK: string }, times: number) {
    let done = 0;
    const name = `interleave-${++seq}`;
    t.doc.middlewareStack.add(
      (next, context) => async (args) => {
        const out = await next(args);
        const input = args.input as { Key?: Item; UpdateExpression?: string; ConditionExpression?: string };
        const isStampBeforeDelete =
          context.commandName === 'UpdateItemCommand' &&
          input.UpdateExpression === 'SET #_ctx = :_ctx' &&
          input.ConditionExpression === 'attribute_exists(PK)' &&
          input.Key?.PK === target.PK &&
          input.Key?.SK === target.SK;
        if (isStampBeforeDelete && done < times) {
          done++;
          await as(updater, () =>
            t.doc.send(
              new UpdateCommand({
                TableName: t.table,
                Key: target,
                UpdateExpression: 'SET title = :t',
                ConditionExpression: 'attribute_exists(PK)',
                ExpressionAttributeValues: { ':t': `updated ${done}` },
              }),
            ),
          );
        }
        return out;
      },
      { step: 'initialize', name },
    );
    return { count: () => done, remove: () => t.doc.middlewareStack.remove(name) };
  }

  it.each(['TransactWrite Delete', 'DeleteCommand'])('stamps and deletes again when another write stamps the item in between (%s)', async (how) => {
    const t = await freshTable('stamp-retry');
    const stream = streamOf(t);
    const k = key();
    await as(creator, () => t.doc.send(new PutCommand({ TableName: t.table, Item: { ...k, title: 'mine' } })));
    const hook = interleave(t, k, 2);
    try {
      await as(deleter, async () => {
        if (how === 'DeleteCommand') await t.doc.send(new DeleteCommand({ TableName: t.table, Key: k }));
        else await transactWrite(t, [{ Delete: { TableName: t.table, Key: k } }]);
      });
    } finally {
      hook.remove();
    }
    expect(hook.count()).toBe(2);
    expect(await stored(k, t)).toBeUndefined();
    await until(() => stream.removals(k).length === 1, 'the REMOVE record');
    // The other context's writes did land in between…
    const titles = stream.of(k).map((r) => stream.image(r, 'NewImage')?.title);
    expect(titles).toContain('updated 1');
    expect(titles).toContain('updated 2');
    // …and the delete still names its own context.
    expectStampOf(stream.image(stream.removals(k)[0]!, 'OldImage'), deleter);
  });

  it('never fails a delete for its stamp: after four lost races the delete goes ahead on the caller\'s own conditions', async () => {
    const t = await freshTable('stamp-lose');
    const k = key();
    await as(creator, () => t.doc.send(new PutCommand({ TableName: t.table, Item: { ...k, title: 'mine' } })));
    const hook = interleave(t, k, 1_000);
    try {
      await as(deleter, () => transactWrite(t, [{ Delete: { TableName: t.table, Key: k, ConditionExpression: 'attribute_exists(PK)' } }]));
    } finally {
      hook.remove();
    }
    // Four guarded attempts each lost to an interleaved write, then the unguarded one went through.
    expect(hook.count()).toBeGreaterThanOrEqual(4);
    expect(await stored(k, t)).toBeUndefined();
  });

  it('deletes 20 items under concurrent updates from another context, each REMOVE naming the deleter', async () => {
    const t = await freshTable('stamp-race');
    const stream = streamOf(t);
    const ks = Array.from({ length: 20 }, () => key('RACE'));
    await as(creator, () => t.doc.send(new BatchWriteCommand({ RequestItems: { [t.table]: ks.map((k) => ({ PutRequest: { Item: { ...k, title: 'mine', hits: 0 } } })) } })));

    let updated = 0;
    let refused = 0;
    const update = (k: { PK: string; SK: string }, n: number) =>
      as(updater, async () => {
        // Spread the updates around the delete's stamp-then-delete.
        await new Promise((r) => setTimeout(r, Math.random() * 20 * n));
        try {
          await t.doc.send(
            new UpdateCommand({
              TableName: t.table,
              Key: k,
              UpdateExpression: 'SET title = :t ADD hits :one',
              ConditionExpression: 'attribute_exists(PK)',
              ExpressionAttributeValues: { ':t': `update ${n}`, ':one': 1 },
            }),
          );
          updated++;
        } catch (err) {
          if ((err as Error).name !== 'ConditionalCheckFailedException') throw err;
          refused++;
        }
      });
    const remove = (k: { PK: string; SK: string }) =>
      as(deleter, async () => {
        await new Promise((r) => setTimeout(r, Math.random() * 10));
        await transactWrite(t, [{ Delete: { TableName: t.table, Key: k } }]);
      });

    const results = await Promise.allSettled(ks.flatMap((k) => [update(k, 1), remove(k), update(k, 2), update(k, 3)]));
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(updated + refused).toBe(60);

    for (const k of ks) expect(await stored(k, t), k.SK).toBeUndefined();
    await until(() => ks.every((k) => stream.removals(k).length === 1), '20 REMOVE records');
    // Let any straggling record arrive before counting.
    await new Promise((r) => setTimeout(r, 300));
    for (const k of ks) {
      const records = stream.of(k);
      // Created once, removed once: no update brought an item back.
      expect(records.filter((r) => r.eventName === 'INSERT'), k.SK).toHaveLength(1);
      expect(records.filter((r) => r.eventName === 'REMOVE'), k.SK).toHaveLength(1);
      expect(records.at(-1)!.eventName, k.SK).toBe('REMOVE');
      const old = stream.image(records.at(-1)!, 'OldImage');
      expect((old!._ctx as Item).actor_id, k.SK).toBe(deleter.actor_id);
      expectStampOf(old, deleter);
    }
  });
});
