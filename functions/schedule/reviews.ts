import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { db } from '../../lib/core/db.js';
import { startDue } from '../../lib/reviews/scheduler.js';
import { closeDue } from '../../lib/reviews/close.js';

/** The job's own logger, with the job's Lambda context (never a route's). */
const logger = new Logger({ serviceName: 'roster' });

/**
 * The access-review sweep (EventBridge Scheduler, every 15 minutes; locally the runtime's
 * scheduler, every minute): start an instance of every review definition whose next run is due,
 * and close every open instance past its due date.
 */
export async function handler(_event?: unknown, context?: Context): Promise<{ started: number; skipped: number; closed: number }> {
  if (context) logger.addContext(context);
  const r = await startDue(db());
  for (const s of r.started) logger.info('access review started', s);
  // And every open review past its due date is closed (its undecided items take the end action).
  const c = await closeDue(db());
  for (const s of c.closed) logger.info('access review closed at its due date', s);
  return { started: r.started.length, skipped: r.skipped, closed: c.closed.length };
}
