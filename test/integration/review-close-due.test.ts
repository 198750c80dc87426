import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { getItem } from '../../lib/core/db.js';
import { closeDue, runReviewRun } from '../../lib/reviews/close.js';
import { reviewKeys } from '../../lib/reviews/model.js';
import { runKey, runView } from '../../lib/reviews/runs.js';
import { addMember, bootstrapOrg, freshTable } from '../support/db.js';
import { seedInstance } from '../support/review-instance.js';

let db: Awaited<ReturnType<typeof freshTable>>;
beforeAll(async () => {
  process.env.ROSTER_REVIEWS_DIR = mkdtempSync(join(tmpdir(), 'roster-reviews-'));
  db = await freshTable('due');
  await bootstrapOrg(db);
});

describe('closing reviews at their due date', () => {
  it('closes every open review past its due date (and only those), found in the due-date index; undecided items take the end action', async () => {
    const m = await addMember(db, 1, 'AN', 'due@example.com');
    const grant = { user_id: m.userId, email: m.email, kind: 'organization_role' as const, organization_role: 'AN' as const, reviewer_ids: [1] };
    const past = await seedInstance(db, 1, [grant], { due_at: new Date(Date.now() - 60_000).toISOString(), end_action: 'keep' });
    const future = await seedInstance(db, 1, [grant]);
    const r = await closeDue(db);
    expect(r.closed).toEqual([{ organization: 1, instance: past.id }]);
    const closed = await getItem(db, reviewKeys.instance(1, past.id));
    expect(closed).toMatchObject({ status: 'closed', closed_by: null });
    expect(closed!.GSI2PK).toBeUndefined();
    expect((await getItem(db, reviewKeys.instance(1, future.id)))!.status).toBe('open');
    // Its run acts with the authority of whoever started the review.
    for (;;) {
      const run = runView((await getItem(db, runKey(1, past.id, 'close')))!);
      expect(run.actor).toBe(1);
      if (run.status === 'done') break;
      await runReviewRun(db, run);
    }
    expect((await getItem(db, reviewKeys.item(1, past.id, m.userId, 'R')))!).toMatchObject({ decision: 'keep', decided_via: 'end_action' });
    // A second sweep finds nothing more to close.
    expect((await closeDue(db)).closed).toEqual([]);
  });
});
