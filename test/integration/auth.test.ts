import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Verifiers, authenticate } from '../../lib/identity/auth.js';
import type { Db } from '../../lib/core/db.js';
import { AuthenticationError } from '../../lib/core/errors.js';
import { keys } from '../../lib/core/table.js';
import { resetLegacyToken } from '../../lib/org/tokens.js';
import { addMember, bootstrapOrg, freshTable, otherOrg, softDelete } from '../support/db.js';

let db: Db;
const verifiers: Verifiers = { access: async () => { throw new AuthenticationError('no access tokens in this test'); } };
beforeAll(async () => {
  db = await freshTable('auth');
  await bootstrapOrg(db, 'owner-token');
});

const principal = (header: string | undefined) => authenticate(db, header, verifiers).then((a) => a.principal);
const refused = (header: string | undefined) => expect(principal(header)).rejects.toBeInstanceOf(AuthenticationError);

describe('legacy token authentication', () => {
  it('resolves "Token <key>" to the user, organization and current role', async () => {
    await expect(principal('Token owner-token')).resolves.toEqual({ userId: 1, orgId: 1, role: 'OW', via: 'token', overrides: {}, email: 'owner@example.com' });
    await expect(principal('token   owner-token ')).resolves.toMatchObject({ userId: 1 });
  });

  it('refuses a missing header, another scheme, and an unknown token', async () => {
    await refused(undefined);
    await refused('Bearer owner-token');
    await refused('Basic b3duZXI6dG9rZW4=');
    await refused('Token');
    await refused('Token not-a-token');
  });

  it('refuses a deactivated or not-activated member on the next request, and admits them again once reactivated', async () => {
    const m = await addMember(db, 1, 'AN');
    await expect(principal(`Token ${m.token}`)).resolves.toMatchObject({ role: 'AN' });
    for (const role of ['DI', 'NO']) {
      await db.doc.send(new UpdateCommand({ TableName: db.table, Key: keys.membership(1, m.userId), UpdateExpression: 'SET #r = :r', ExpressionAttributeNames: { '#r': 'role' }, ExpressionAttributeValues: { ':r': role } }));
      await expect(principal(`Token ${m.token}`)).rejects.toMatchObject({ status: 401, detail: 'User inactive or deleted.' });
    }
    await db.doc.send(new UpdateCommand({ TableName: db.table, Key: keys.membership(1, m.userId), UpdateExpression: 'SET #r = :r', ExpressionAttributeNames: { '#r': 'role' }, ExpressionAttributeValues: { ':r': 'RE' } }));
    await expect(principal(`Token ${m.token}`)).resolves.toMatchObject({ role: 'RE' });
  });

  it('refuses a soft-deleted member', async () => {
    const m = await addMember(db, 1, 'MA');
    await softDelete(db, 1, m.userId);
    await refused(`Token ${m.token}`);
  });

  it('kills the old token when it is reset', async () => {
    const m = await addMember(db, 1, 'RE');
    const fresh = await resetLegacyToken(db, 1, m.userId);
    expect(fresh).not.toBe(m.token);
    await refused(`Token ${m.token}`);
    await expect(principal(`Token ${fresh}`)).resolves.toMatchObject({ userId: m.userId });
  });

  it('binds a token to its organization', async () => {
    const other = await otherOrg(db);
    await expect(principal(`Token ${other.owner.token}`)).resolves.toMatchObject({ orgId: other.orgId, role: 'OW' });
  });

  it('refuses a forged token: another member\'s ids, another organization\'s ids, a truncated or lengthened secret', async () => {
    const a = await addMember(db, 1, 'AN');
    const b = await addMember(db, 1, 'AN');
    const other = await otherOrg(db);
    const [, , , secret] = a.token.split('_');
    expect(a.token).toMatch(/^rlt_1_\d+_[0-9a-f]{40}$/);
    await expect(principal(`Token ${a.token}`)).resolves.toMatchObject({ userId: a.userId });
    await refused(`Token rlt_1_${b.userId}_${secret}`);
    await refused(`Token rlt_${other.orgId}_${other.owner.userId}_${secret}`);
    await refused(`Token rlt_1_${a.userId}_${secret!.slice(0, 39)}`);
    await refused(`Token rlt_1_${a.userId}_${secret}0`);
    await refused(`Token ${a.token.slice(0, -1)}`);
    // The same secret under the ids of a member whose own token it is not.
    await refused(`Token rlt_${other.orgId}_${a.userId}_${secret}`);
  });

  it('reads a token Roster issued in one DynamoDB round trip, with no lookup before the membership', async () => {
    const { newRoundTrips, roundTrips } = await import('../../lib/core/db.js');
    const m = await addMember(db, 1, 'RE');
    const counter = newRoundTrips();
    await roundTrips.run(counter, () => authenticate(db, `Token ${m.token}`, verifiers));
    expect(counter).toMatchObject({ calls: 1, trips: 1 });
  });

  it('finds a token of another form (the bootstrap token) through its lookup: two round trips', async () => {
    const { newRoundTrips, roundTrips } = await import('../../lib/core/db.js');
    const counter = newRoundTrips();
    await roundTrips.run(counter, () => authenticate(db, 'Token owner-token', verifiers));
    expect(counter).toMatchObject({ calls: 2, trips: 2 });
  });

  it('reads the items a route declares in the same round trip as the caller', async () => {
    const { newRoundTrips, roundTrips } = await import('../../lib/core/db.js');
    const m = await addMember(db, 1, 'RE');
    const counter = newRoundTrips();
    const a = await roundTrips.run(counter, () => authenticate(db, `Token ${m.token}`, verifiers, { keys: (c) => [keys.user(c.userId), keys.organization(c.orgId)] }));
    expect(counter).toMatchObject({ calls: 1, trips: 1 });
    expect(a.read.items.find((i) => i.PK === keys.user(m.userId).PK)).toMatchObject({ id: m.userId });
  });
});
