import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { db } from '../../lib/core/db.js';
import { samlUpkeep } from '../../lib/federation/saml/upkeep.js';

const logger = new Logger({ serviceName: 'roster' });

/**
 * The hourly SAML upkeep (EventBridge schedule; locally the runtime's scheduler): organizations'
 * IdPs back on the SSO client after a stack update reset it, and an activity entry for each IdP
 * signing certificate 30 days or less from expiry, once per certificate.
 */
export async function handler(_event?: unknown, context?: Context): Promise<{ organizations: number; reenabled: number; warnings: number }> {
  if (context) logger.addContext(context);
  const done = await samlUpkeep(db());
  if (done.warnings || done.reenabled) logger.info('SAML upkeep', done);
  return done;
}
