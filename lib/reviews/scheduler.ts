/**
 * The review scheduler: definitions with a schedule are in the index GSI2 under `REVSCHED`, sorted
 * by their next run, so the periodic sweep (EventBridge Scheduler → functions/schedule/reviews.ts;
 * locally the runtime's scheduler) finds the due ones with one index Query. Each due definition
 * starts an instance (source `system`), which moves its next run on in the same transaction; one
 * whose previous instance is still building is left for the next sweep.
 */
import { QueryCommand, type QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import { type Db, getItem } from '../core/db.js';
import { ConflictError } from '../core/errors.js';
import { startInstance } from './instances.js';
import type { ReviewDefinition } from './model.js';
import { reviewKeys } from './model.js';

/** Due definitions started per sweep at most (the rest wait for the next). */
export const SWEEP_LIMIT = 200;

export async function startDue(db: Db, at = new Date()): Promise<{ started: { organization: number; definition: number; instance: number }[]; skipped: number }> {
  const due: { PK: string; SK: string }[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const r: QueryCommandOutput = await db.doc.send(
      new QueryCommand({
        TableName: db.table,
        IndexName: 'GSI2',
        KeyConditionExpression: 'GSI2PK = :k AND GSI2SK <= :at',
        ExpressionAttributeValues: { ':k': reviewKeys.scheduleIndex(0, '').GSI2PK, ':at': `${at.toISOString()}~` },
        ProjectionExpression: 'PK, SK',
        Limit: SWEEP_LIMIT - due.length,
        ExclusiveStartKey: start,
      }),
    );
    due.push(...((r.Items ?? []) as { PK: string; SK: string }[]));
    start = r.LastEvaluatedKey;
  } while (start && due.length < SWEEP_LIMIT);
  const started: { organization: number; definition: number; instance: number }[] = [];
  let skipped = 0;
  for (const key of due) {
    // The index is eventually consistent: the definition itself says whether it is still due.
    const def = (await getItem(db, key)) as ReviewDefinition | undefined;
    if (!def?.schedule?.next_run_at || def.schedule.next_run_at > at.toISOString()) continue;
    try {
      const inst = await startInstance(db, null, def.organization, def.id, 'schedule');
      started.push({ organization: def.organization, definition: def.id, instance: inst.id });
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      skipped++;
    }
  }
  return { started, skipped };
}
