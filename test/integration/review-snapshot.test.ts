/**
 * The snapshot's slices run in process (as the benchmark runs them): a redelivered slice changes
 * nothing, slices are bounded, and the totals are those of the items.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../lib/core/db.js';
import type { Principal } from '../../lib/core/model.js';
import { createDefinition } from '../../lib/reviews/definitions.js';
import { startInstance } from '../../lib/reviews/instances.js';
import { type ReviewInstance, reviewKeys } from '../../lib/reviews/model.js';
import { buildInstance, digestSnapshot, runReviewSlice } from '../../lib/reviews/snapshot.js';
import { batchWrite, getItem } from '../../lib/core/db.js';
import { membershipItem, newUserItem, workspaceMemberItem } from '../../lib/core/items.js';
import { addMember, bootstrapOrg, freshTable } from '../support/db.js';

let db: Db;
const owner: Principal = { userId: 1, orgId: 1, role: 'OW', via: 'token', overrides: {} };

beforeAll(async () => {
  db = await freshTable('snap');
  await bootstrapOrg(db);
  await Promise.all(Array.from({ length: 30 }, (_, i) => addMember(db, 1, i % 5 === 0 ? 'AD' : 'AN')));
}, 60_000);

describe('review snapshot slices', () => {
  it('build an instance to open, a replayed slice changing nothing', async () => {
    const def = await createDefinition(db, owner, { title: 'T' });
    const inst = await startInstance(db, owner, 1, def.id);
    // The first slice twice, from the same image (a redelivered stream record).
    await runReviewSlice(db, inst);
    await runReviewSlice(db, inst);
    const built = await buildInstance(db, 1, inst.id);
    expect(built.status).toBe('open');
    expect(built.snapshot.people).toBe(31);
    expect(built.snapshot.items).toBe(31);
    expect(built.admin_ids.length).toBe(7);
    const d = await digestSnapshot(db, 1, inst.id);
    expect(d.sha256).toBe(built.snapshot.sha256);
    expect((await getItem(db, reviewKeys.instance(1, inst.id)))!.status).toBe('open');
  });
});

describe('review snapshot slices at size', () => {
  it('take an organization of 1,500 members and 750 workspace memberships in several slices, each grant once, the totals those of the items', async () => {
    const big = await freshTable('snapbig');
    await bootstrapOrg(big);
    const at = new Date().toISOString();
    const people = Array.from({ length: 1500 }, (_, i) => 1000 + i);
    const puts = people.flatMap((id, i) => {
      const user = { ...newUserItem(id, { email: `p${id}@example.com` }, 1, at) };
      return [
        { PutRequest: { Item: membershipItem(1, user, i % 100 === 0 ? 'AD' : 'AN', 'manual', at) } },
        ...(i % 2 === 0 ? [{ PutRequest: { Item: workspaceMemberItem(1, 7, id, 1, at) } }] : []),
      ];
    });
    await batchWrite(big, puts, 8);
    const def = await createDefinition(big, owner, { title: 'Big', scope: { grants: ['organization_role', 'workspace_membership'] } });
    const inst = await startInstance(big, owner, 1, def.id);
    let slices = 0;
    for (;;) {
      const cur = (await getItem(big, reviewKeys.instance(1, inst.id))) as ReviewInstance;
      if (cur.status !== 'building') break;
      await runReviewSlice(big, cur);
      slices++;
    }
    const built = (await getItem(big, reviewKeys.instance(1, inst.id))) as ReviewInstance;
    expect(built.status).toBe('open');
    expect(built.snapshot.people).toBe(1501);
    expect(built.snapshot.items).toBe(1501 + 750);
    // The Owner and 15 Administrators, each Administrator also in the workspace.
    expect(built.snapshot.flags.privileged).toBe(16 + 15);
    // reviewers (1) + members (4 of 500) + workspace memberships (2 of 500) + hash (1) + done (1).
    expect(slices).toBe(1 + 4 + 2 + 1 + 1);
    const d = await digestSnapshot(big, 1, inst.id);
    expect(d).toMatchObject({ items: built.snapshot.items, sha256: built.snapshot.sha256 });
  }, 600_000);
});
