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

const refused = (header: string | undefined) => expect(authenticate(db, header, verifiers)).rejects.toBeInstanceOf(AuthenticationError);

describe('legacy token authentication', () => {
  it('resolves "Token <key>" to the user, organization and current role', async () => {
    await expect(authenticate(db, 'Token owner-token', verifiers)).resolves.toEqual({ userId: 1, orgId: 1, role: 'OW', via: 'token', overrides: {}, email: 'owner@example.com' });
    await expect(authenticate(db, 'token   owner-token ', verifiers)).resolves.toMatchObject({ userId: 1 });
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
    await expect(authenticate(db, `Token ${m.token}`, verifiers)).resolves.toMatchObject({ role: 'AN' });
    for (const role of ['DI', 'NO']) {
      await db.doc.send(new UpdateCommand({ TableName: db.table, Key: keys.membership(1, m.userId), UpdateExpression: 'SET #r = :r', ExpressionAttributeNames: { '#r': 'role' }, ExpressionAttributeValues: { ':r': role } }));
      await expect(authenticate(db, `Token ${m.token}`, verifiers)).rejects.toMatchObject({ status: 401, detail: 'User inactive or deleted.' });
    }
    await db.doc.send(new UpdateCommand({ TableName: db.table, Key: keys.membership(1, m.userId), UpdateExpression: 'SET #r = :r', ExpressionAttributeNames: { '#r': 'role' }, ExpressionAttributeValues: { ':r': 'RE' } }));
    await expect(authenticate(db, `Token ${m.token}`, verifiers)).resolves.toMatchObject({ role: 'RE' });
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
    await expect(authenticate(db, `Token ${fresh}`, verifiers)).resolves.toMatchObject({ userId: m.userId });
  });

  it('binds a token to its organization', async () => {
    const other = await otherOrg(db);
    await expect(authenticate(db, `Token ${other.owner.token}`, verifiers)).resolves.toMatchObject({ orgId: other.orgId, role: 'OW' });
  });

  it('costs two DynamoDB round trips', async () => {
    const { roundTrips } = await import('../../lib/core/db.js');
    const counter = { count: 0 };
    await roundTrips.run(counter, () => authenticate(db, 'Token owner-token', verifiers));
    expect(counter.count).toBe(2);
  });
});
