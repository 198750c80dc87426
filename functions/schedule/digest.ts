import { db } from '../../lib/core/db.js';
import { digestAll } from '../../lib/audit/digest.js';
import { logger } from '../http.js';

/**
 * The daily job (EventBridge schedule; locally the runtime's scheduler): digest every
 * organization's closed days. Each day's digest is logged, a copy out of the table's reach.
 */
export async function handler(): Promise<{ organizations: number; days: number }> {
  const done = await digestAll(db());
  for (const d of done) if (d.days) logger.info('activity log digested', d);
  return { organizations: done.length, days: done.reduce((a, d) => a + d.days, 0) };
}
