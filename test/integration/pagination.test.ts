import { beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../lib/core/db.js';
import type { Principal } from '../../lib/core/model.js';
import { listMembers } from '../../lib/org/organizations.js';
import { addMember, bootstrapOrg, freshTable } from '../support/db.js';

let db: Db;
const owner: Principal = { userId: 1, orgId: 1, role: 'OW', via: 'token', overrides: {} };
const TOTAL = 251;

beforeAll(async () => {
  db = await freshTable('pages');
  await bootstrapOrg(db);
  for (let i = 0; i < TOTAL - 1; i += 25) await Promise.all(Array.from({ length: Math.min(25, TOTAL - 1 - i) }, () => addMember(db, 1, 'AN')));
});

describe('member listing pagination', () => {
  it('returns every member exactly once when following the cursor links', async () => {
    const seen: number[] = [];
    let page = 1;
    let cursor: string | undefined;
    for (;;) {
      const r = await listMembers(db, owner, 1, { page, pageSize: 40, cursor });
      expect(r.count).toBe(TOTAL);
      seen.push(...r.items.map((m) => m.user_id));
      if (!r.next) break;
      cursor = r.next;
      page++;
    }
    expect(page).toBe(Math.ceil(TOTAL / 40));
    expect(new Set(seen).size).toBe(TOTAL);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
  });

  it('gives the same pages when jumping to a page number without a cursor', async () => {
    const byCursor = await listMembers(db, owner, 1, { page: 1, pageSize: 100 });
    const second = await listMembers(db, owner, 1, { page: 2, pageSize: 100, cursor: byCursor.next });
    const jumped = await listMembers(db, owner, 1, { page: 2, pageSize: 100 });
    expect(jumped.items.map((m) => m.user_id)).toEqual(second.items.map((m) => m.user_id));
    const last = await listMembers(db, owner, 1, { page: 3, pageSize: 100 });
    expect(last.items).toHaveLength(TOTAL - 200);
    expect(last.next).toBeUndefined();
    // Past the last page: LSE's (DRF's) 404 "Invalid page.", as are page numbers below 1.
    for (const page of [4, 9, 1e9, 0, -1]) await expect(listMembers(db, owner, 1, { page, pageSize: 100 })).rejects.toMatchObject({ status: 404, detail: 'Invalid page.' });
    expect((await listMembers(db, owner, 1, { page: TOTAL, pageSize: 1 })).items).toHaveLength(1);
    await expect(listMembers(db, owner, 1, { page: TOTAL + 1, pageSize: 1 })).rejects.toMatchObject({ status: 404 });
  });

  it('rejects a malformed cursor', async () => {
    await expect(listMembers(db, owner, 1, { page: 2, pageSize: 10, cursor: 'bm90IGpzb24' })).rejects.toMatchObject({ status: 400 });
  });
});
