/**
 * The snapshot's slices run in process (as the benchmark runs them): a redelivered slice changes
 * nothing, slices are bounded, and the totals are those of the items.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../lib/core/db.js';
import type { Principal } from '../../lib/core/model.js';
import { createDefinition } from '../../lib/reviews/definitions.js';
import { startInstance } from '../../lib/reviews/instances.js';
import { reviewKeys } from '../../lib/reviews/model.js';
import { buildInstance, digestSnapshot, runReviewSlice } from '../../lib/reviews/snapshot.js';
import { getItem } from '../../lib/core/db.js';
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
