import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, createDb, queryAll } from '../../lib/core/db.js';
import { keys } from '../../lib/core/table.js';
import { addMember } from '../support/db.js';
import { OWNER_TOKEN, client, startTestRoster } from '../support/roster.js';

let roster: Awaited<ReturnType<typeof startTestRoster>>;
let call: ReturnType<typeof client>;
let db: Db;

beforeAll(async () => {
  roster = await startTestRoster();
  call = client(roster.url);
  db = createDb(process.env.TABLE_NAME!, roster.dynamodbEndpoint);
});
afterAll(() => roster?.stop());

/** Read from the table: any caller's token may legitimately die in these races. */
const owners = async () =>
  (
    await queryAll(db, {
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :m)',
      ExpressionAttributeValues: { ':pk': keys.organization(1).PK, ':m': 'MEMBER#' },
      ConsistentRead: true,
    })
  )
    .filter((m) => m.role === 'OW' && m.deleted_at === null)
    .map((m) => m.user_id as number);

describe('invariants under concurrent requests', () => {
  it('creates exactly one user from 50 concurrent creates of one email in mixed case', async () => {
    const spellings = ['Dup@Example.com', 'dup@example.com', 'DUP@EXAMPLE.COM', 'dUp@eXample.com', 'dup@Example.COM'];
    const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => call('POST', '/api/users/', { token: OWNER_TOKEN, body: { email: spellings[i % 5] } })));
    expect(replies.filter((r) => r.status === 201)).toHaveLength(1);
    expect(replies.filter((r) => r.status === 409)).toHaveLength(49);
    const found = await call('GET', '/api/organizations/1/memberships?search=dup@example.com', { token: OWNER_TOKEN });
    expect(found.body.count).toBe(1);
    expect(await owners()).toEqual([1]);
  });

  it('never leaves zero or two Owners when transfers, demotions and deletions race', async () => {
    for (let round = 0; round < 3; round++) {
      const admins = await Promise.all(Array.from({ length: 4 }, () => addMember(db, 1, 'AD')));
      const [ownerId] = (await owners()) as [number];
      const ownerToken = ownerId === 1 ? OWNER_TOKEN : (await tokenOf(ownerId));
      const requests = [
        // The Owner hands over to two people at once: one transfer wins.
        call('POST', '/api/organizations/1/transfer-ownership', { token: ownerToken, body: { user_id: admins[0]!.userId } }),
        call('POST', '/api/organizations/1/transfer-ownership', { token: ownerToken, body: { user_id: admins[1]!.userId } }),
        // Meanwhile administrators demote and delete the would-be Owners and try to depose the Owner.
        call('PATCH', '/api/organizations/1/memberships', { token: admins[2]!.token, body: { user_id: admins[0]!.userId, role: 'AN' } }),
        call('DELETE', `/api/organizations/1/memberships/${admins[1]!.userId}/`, { token: admins[3]!.token }),
        call('PATCH', '/api/organizations/1/memberships', { token: admins[3]!.token, body: { user_id: ownerId, role: 'DI' } }),
        call('DELETE', `/api/organizations/1/memberships/${ownerId}/`, { token: admins[2]!.token }),
      ];
      const replies = await Promise.all(requests);
      for (const r of replies) expect([200, 204, 401, 403, 404, 409]).toContain(r.status);
      expect(replies.slice(0, 2).filter((r) => r.status === 200).length).toBeLessThanOrEqual(1);
      expect(await owners()).toHaveLength(1);
      tokens.set(admins[0]!.userId, admins[0]!.token);
      tokens.set(admins[1]!.userId, admins[1]!.token);
    }
  });
});

const tokens = new Map<number, string>();
const tokenOf = async (userId: number) => tokens.get(userId)!;
