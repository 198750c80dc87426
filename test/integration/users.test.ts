import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { bootstrap } from '../../lib/org/bootstrap.js';
import type { Db } from '../../lib/core/db.js';
import type { Principal } from '../../lib/core/model.js';
import { createUser, currentUser } from '../../lib/org/users.js';
import { addMember, bootstrapOrg, freshTable } from '../support/db.js';
import { RecordingDirectory } from '../support/directory.js';

let db: Db;
const owner: Principal = { userId: 1, orgId: 1, role: 'OW', via: 'token', overrides: {} };
const dir = new RecordingDirectory();

beforeAll(async () => {
  db = await freshTable('users');
  await bootstrapOrg(db);
});

/** A Scan is right in a test's assertion: it checks the whole table, not a request path. */
async function usersWithEmail(email: string) {
  const all = await db.doc.send(new ScanCommand({ TableName: db.table, ConsistentRead: true }));
  return (all.Items ?? []).filter((i) => i.SK === 'USER' && String(i.email).toLowerCase() === email.toLowerCase());
}

describe('creating users', () => {
  it('creates the user (email lower-cased) and a membership with the organization default role', async () => {
    const { user, membership } = await createUser(db, owner, { email: 'New.Person@Example.com', first_name: 'New' }, dir);
    expect(user).toMatchObject({ email: 'new.person@example.com', username: 'new.person@example.com', first_name: 'New', active_organization: 1 });
    expect(membership).toMatchObject({ organization: 1, user_id: user.id, role: 'AN', role_source: 'api', deleted_at: null });
  });

  it('refuses a second user with the same email in any case (409)', async () => {
    await createUser(db, owner, { email: 'dup@example.com' }, dir);
    await expect(createUser(db, owner, { email: 'DUP@example.COM' }, dir)).rejects.toMatchObject({ status: 409 });
  });

  it('creates exactly one user from 50 concurrent creates of one email in mixed case', async () => {
    const variants = Array.from({ length: 50 }, (_, i) => (i % 3 === 0 ? 'Race@Example.com' : i % 3 === 1 ? 'race@example.com' : 'RACE@EXAMPLE.COM'));
    const results = await Promise.allSettled(variants.map((email) => createUser(db, owner, { email }, dir)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason.status).toBe(409);
    expect(await usersWithEmail('race@example.com')).toHaveLength(1);
  });

  it.each(['MA', 'RE', 'AN'] as const)('refuses %s (403)', async (role) => {
    const m = await addMember(db, 1, role);
    await expect(createUser(db, { userId: m.userId, orgId: 1, role, via: 'token', overrides: {} }, { email: `x-${role}@example.com` }, dir)).rejects.toMatchObject({ status: 403 });
  });
});

describe('current user', () => {
  it('returns the user, the active organization and every membership', async () => {
    const me = await currentUser(db, owner);
    expect(me.user).toMatchObject({ id: 1, email: 'owner@example.com', active_organization: 1 });
    expect(me.organization).toMatchObject({ id: 1 });
    expect(me.memberships.map((m) => [m.organization, m.role])).toEqual([[1, 'OW']]);
  });
});

describe('bootstrap', () => {
  it('creates organization 1 once, however many starts race', async () => {
    const fresh = await freshTable('boot');
    const results = await Promise.all(Array.from({ length: 5 }, (_, i) => bootstrap(fresh, { email: 'a@b.c', token: `t${i}` })));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect((await bootstrap(fresh, { email: 'a@b.c' })).created).toBe(false);
  });
});
