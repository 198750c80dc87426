import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { db } from '../../lib/core/db.js';
import { digestAll } from '../../lib/audit/digest.js';

/** The job's own logger, with the job's Lambda context (never a route's). */
const logger = new Logger({ serviceName: 'roster' });

/**
 * The daily job (EventBridge schedule; locally the runtime's scheduler): digest every
 * organization's closed days. Each day's digest is logged, a copy out of the table's reach.
 */
export async function handler(_event?: unknown, context?: Context): Promise<{ organizations: number; days: number }> {
  if (context) logger.addContext(context);
  const done = await digestAll(db());
  for (const d of done) if (d.days) logger.info('activity log digested', d);
  return { organizations: done.length, days: done.reduce((a, d) => a + d.days, 0) };
}
