/**
 * Review 9: the request's reads (RequestReads), the round-trip counter, and what authenticate()
 * does before a credential is verified (found in review; fixed).
 */
import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Db, RequestReads, batchGet, getItem, newRoundTrips, requestReads, roundTrips, transactWrite } from '../../lib/core/db.js';
import { AuthenticationError } from '../../lib/core/errors.js';
import { MAX_PREFETCH, type Verifiers, authenticate } from '../../lib/identity/auth.js';
import { addMember, bootstrapOrg, freshTable } from '../support/db.js';

let db: Db;
const verifiers: Verifiers = { access: async () => { throw new AuthenticationError('no access tokens in this test'); } };
let seq = 0;
const key = () => ({ PK: 'ORG#0000000001', SK: `R9#${String(++seq).padStart(4, '0')}` });
const put = (k: { PK: string; SK: string }, v: number) => db.doc.send(new PutCommand({ TableName: db.table, Item: { ...k, v } }));

beforeAll(async () => {
  db = await freshTable('r9');
  await bootstrapOrg(db, 'owner-token');
});

describe('the request\'s reads', () => {
  it('serve a key read before, and go to the table after a write of any kind', async () => {
    for (const write of [
      (k: { PK: string; SK: string }) => put(k, 2),
      (k: { PK: string; SK: string }) => db.doc.send(new UpdateCommand({ TableName: db.table, Key: k, UpdateExpression: 'SET v = :v', ExpressionAttributeValues: { ':v': 2 } })),
      (k: { PK: string; SK: string }) => transactWrite(db, [{ Update: { TableName: db.table, Key: k, UpdateExpression: 'SET v = :v', ExpressionAttributeValues: { ':v': 2 } } }]),
    ]) {
      const k = key();
      await put(k, 1);
      const reads = new RequestReads();
      await requestReads.run(reads, async () => {
        expect((await getItem(db, k))?.v).toBe(1);
        await put({ ...k, SK: `${k.SK}-other` }, 0).then(() => undefined);
        // a write to another key empties the reads too (conservative)
        expect(reads.items.size).toBe(0);
        expect((await getItem(db, k))?.v).toBe(1);
        await write(k);
        expect((await getItem(db, k))?.v).toBe(2);
        expect((await batchGet(db, [k], true))[0]?.v).toBe(2);
      });
    }
  });

  it('do not remember a read that was in flight across a write', async () => {
    const k = key();
    await put(k, 1);
    const reads = new RequestReads();
    await requestReads.run(reads, async () => {
      const read = getItem(db, k);
      await put(k, 2);
      await read;
      expect((await getItem(db, k))?.v).toBe(2);
    });
  });

  it('are not shared between concurrent requests', async () => {
    const k = key();
    await put(k, 1);
    const a = new RequestReads();
    const b = new RequestReads();
    await requestReads.run(a, () => getItem(db, k));
    await put(k, 2);
    const [va, vb] = await Promise.all([requestReads.run(a, () => getItem(db, k)), requestReads.run(b, () => getItem(db, k))]);
    expect(va?.v).toBe(1); // a's consistent snapshot of the start of its request
    expect(vb?.v).toBe(2);
  });

  // Latent hazard: the reads hand out the very object they keep, so a caller that edits an item it
  // read changes what every later read of that key in the request is served.
  it('an item edited by its reader is not what a later read of the key serves', async () => {
    const k = key();
    await put(k, 1);
    await requestReads.run(new RequestReads(), async () => {
      const first = await getItem(db, k);
      first!.v = 99;
      expect((await getItem(db, k))?.v).toBe(1);
    });
  });
});

describe('the round-trip counter', () => {
  it('counts a GetItem and a parallel pair as one trip each', async () => {
    const k = key();
    await put(k, 1);
    const c = newRoundTrips();
    await roundTrips.run(c, async () => {
      await getItem(db, k);
      await Promise.all([getItem(db, k), batchGet(db, [k, key()])]);
    });
    expect(c).toMatchObject({ calls: 3, trips: 2, inflight: 0 });
  });

  // A delete is stamped first (an UpdateItem the stamp middleware sends and awaits before the delete
  // itself is sent): two sequential round trips, and the counter says so.
  it('counts a DeleteItem (stamp update, then delete) as two sequential round trips', async () => {
    const k = key();
    await put(k, 1);
    const c = newRoundTrips();
    await roundTrips.run(c, () => db.doc.send(new DeleteCommand({ TableName: db.table, Key: k })));
    expect({ calls: c.calls, trips: c.trips }).toEqual({ calls: 2, trips: 2 });
  });
});

describe('authenticate() before the credential is verified', () => {
  // A forged self-locating token names ids it does not own: what a route has read beside the caller
  // is bounded (MAX_PREFETCH keys), so a forged request costs at most that many reads more.
  it('reads at most MAX_PREFETCH of a route\'s keys beside a caller whose token is not yet verified', async () => {
    const m = await addMember(db, 1, 'AN');
    const forged = `rlt_1_${m.userId}_${'0'.repeat(40)}`;
    const sizes: number[] = [];
    const spy = { ...db, doc: { send: (cmd: { input: { RequestItems?: Record<string, { Keys: unknown[] }> } }) => {
      for (const r of Object.values(cmd.input.RequestItems ?? {})) sizes.push(r.Keys.length);
      return db.doc.send(cmd as never);
    } } } as unknown as Db;
    const ask = (n: number) => authenticate(spy, `Token ${forged}`, verifiers, { keys: (caller) => Array.from({ length: n }, (_, i) => ({ PK: `ORG#${String(caller.orgId).padStart(10, '0')}`, SK: `X#${i}` })) });
    await expect(ask(98)).rejects.toMatchObject({ status: 401, detail: 'Invalid token.' });
    await expect(ask(MAX_PREFETCH)).rejects.toMatchObject({ status: 401, detail: 'Invalid token.' });
    expect(sizes).toEqual([2, 2 + MAX_PREFETCH]);
  });

  it('refuses the forged token without naming the member, and accepts the real one', async () => {
    const m = await addMember(db, 1, 'AN');
    const err = await authenticate(db, `Token rlt_1_${m.userId}_${'f'.repeat(40)}`, verifiers).catch((e) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(err.who).toBeUndefined();
    await expect(authenticate(db, `Token ${m.token}`, verifiers)).resolves.toMatchObject({ principal: { userId: m.userId, orgId: 1 } });
  });
});
