import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../lib/core/db.js';
import type { Membership, Principal } from '../../lib/core/model.js';
import { assignRole, getOrganization, listMembers, listOrganizations } from '../../lib/org/organizations.js';
import type { Role } from '../../lib/core/roles.js';
import { keys } from '../../lib/core/table.js';
import { addMember, bootstrapOrg, freshTable, otherOrg, softDelete } from '../support/db.js';
import { RecordingDirectory } from '../support/directory.js';

let db: Db;
const owner: Principal = { userId: 1, orgId: 1, role: 'OW', via: 'token', overrides: {} };
const as = (userId: number, role: Role, orgId = 1): Principal => ({ userId, orgId, role, via: 'token', overrides: {} });
const dir = new RecordingDirectory();

beforeAll(async () => {
  db = await freshTable('orgs');
  await bootstrapOrg(db);
});

async function rolesOf(orgId: number): Promise<Membership[]> {
  const r = await db.doc.send(
    new QueryCommand({
      TableName: db.table,
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :m)',
      ExpressionAttributeValues: { ':pk': keys.organization(orgId).PK, ':m': 'MEMBER#' },
      ConsistentRead: true,
    }),
  );
  return r.Items as Membership[];
}

describe('assigning organization roles', () => {
  it('lets the Owner and Administrators assign, activate and deactivate', async () => {
    const ad = await addMember(db, 1, 'AD');
    const target = await addMember(db, 1, 'AN');
    expect(await assignRole(db, owner, 1, target.userId, 'RE', dir)).toMatchObject({ role: 'RE', role_source: 'api' });
    expect(await assignRole(db, as(ad.userId, 'AD'), 1, target.userId, 'DI', dir)).toMatchObject({ role: 'DI' });
    expect(await assignRole(db, as(ad.userId, 'AD'), 1, target.userId, 'MA', dir)).toMatchObject({ role: 'MA' });
  });

  it.each(['MA', 'RE', 'AN'] as const)('refuses %s with 403', async (role) => {
    const caller = await addMember(db, 1, role);
    const target = await addMember(db, 1, 'AN');
    await expect(assignRole(db, as(caller.userId, role), 1, target.userId, 'RE', dir)).rejects.toMatchObject({ status: 403 });
  });

  it('never demotes, deactivates or replaces the Owner through a role change (409)', async () => {
    const ad = await addMember(db, 1, 'AD');
    for (const role of ['AD', 'DI', 'NO', 'AN'] as const) {
      await expect(assignRole(db, as(ad.userId, 'AD'), 1, 1, role, dir)).rejects.toMatchObject({ status: 409 });
    }
    await expect(assignRole(db, owner, 1, ad.userId, 'OW', dir)).rejects.toMatchObject({ status: 409 });
    expect((await rolesOf(1)).filter((m) => m.role === 'OW').map((m) => m.user_id)).toEqual([1]);
  });

  it('refuses changing one\'s own role (403)', async () => {
    const ad = await addMember(db, 1, 'AD');
    await expect(assignRole(db, as(ad.userId, 'AD'), 1, ad.userId, 'MA', dir)).rejects.toMatchObject({ status: 403 });
  });

  it('answers 404 for an unknown or soft-deleted member', async () => {
    await expect(assignRole(db, owner, 1, 999_999, 'AN', dir)).rejects.toMatchObject({ status: 404 });
    const gone = await addMember(db, 1, 'AN');
    await softDelete(db, 1, gone.userId);
    await expect(assignRole(db, owner, 1, gone.userId, 'RE', dir)).rejects.toMatchObject({ status: 404 });
  });

  it('re-checks the caller at write time: an Administrator demoted a moment ago cannot change roles', async () => {
    const ad = await addMember(db, 1, 'AD');
    const target = await addMember(db, 1, 'AN');
    await assignRole(db, owner, 1, ad.userId, 'MA', dir);
    // The principal still says AD (resolved before the demotion); the transaction's check refuses it.
    await expect(assignRole(db, as(ad.userId, 'AD'), 1, target.userId, 'RE', dir)).rejects.toMatchObject({ status: 403 });
  });

  it('keeps exactly one Owner under 20 concurrent conflicting role changes', async () => {
    const admins = await Promise.all(Array.from({ length: 10 }, () => addMember(db, 1, 'AD')));
    const attempts = admins.flatMap((a, i) => {
      const next = admins[(i + 1) % admins.length]!;
      return [
        // Every administrator tries to demote the next one (a ring) and to depose the Owner.
        assignRole(db, as(a.userId, 'AD'), 1, next.userId, 'AN', dir),
        assignRole(db, as(a.userId, 'AD'), 1, 1, i % 2 ? 'DI' : 'AD', dir),
      ];
    });
    const results = await Promise.allSettled(attempts);
    expect(results).toHaveLength(20);
    for (const r of results) if (r.status === 'rejected') expect([403, 409]).toContain(r.reason.status);
    const members = await rolesOf(1);
    expect(members.filter((m) => m.role === 'OW').map((m) => m.user_id)).toEqual([1]);
    // In a ring of mutual demotions, a demoted admin's own demotion attempt must fail: never all ten demoted.
    const stillAdmin = members.filter((m) => admins.some((a) => a.userId === m.user_id) && m.role === 'AD');
    expect(stillAdmin.length).toBeGreaterThan(0);
    const demotions = results.filter((r, i) => i % 2 === 0 && r.status === 'fulfilled').length;
    expect(demotions).toBe(10 - stillAdmin.length);
  });
});

describe('reading organizations', () => {
  it('lists only the organizations the caller actively belongs to', async () => {
    const other = await otherOrg(db, 'Elsewhere');
    expect((await listOrganizations(db, owner)).map((o) => o.id)).toEqual([1]);
    expect((await listOrganizations(db, as(other.owner.userId, 'OW', other.orgId))).map((o) => o.title)).toEqual(['Elsewhere']);
  });

  it('hides another organization (404) and shows one the caller belongs to', async () => {
    const other = await otherOrg(db);
    await expect(getOrganization(db, owner, other.orgId)).rejects.toMatchObject({ status: 404 });
    await expect(getOrganization(db, owner, 1)).resolves.toMatchObject({ organization: { id: 1 }, standing: { role: 'OW' } });
  });

  it('lets Managers list members and refuses Reviewers and Annotators', async () => {
    const ma = await addMember(db, 1, 'MA');
    await expect(listMembers(db, as(ma.userId, 'MA'), 1, { page: 1, pageSize: 10 })).resolves.toMatchObject({ items: expect.any(Array) });
    for (const role of ['RE', 'AN'] as const) {
      const m = await addMember(db, 1, role);
      await expect(listMembers(db, as(m.userId, role), 1, { page: 1, pageSize: 10 })).rejects.toMatchObject({ status: 403 });
    }
  });

  it('never lists another organization\'s members, whatever the cursor says', async () => {
    const other = await otherOrg(db);
    const foreign = Buffer.from(JSON.stringify(keys.membership(other.orgId, other.owner.userId))).toString('base64url');
    await expect(listMembers(db, owner, 1, { page: 2, pageSize: 1, cursor: foreign })).rejects.toMatchObject({ status: 400 });
    await expect(listMembers(db, owner, other.orgId, { page: 1, pageSize: 10 })).rejects.toMatchObject({ status: 404 });
  });
});
