import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { db } from '../../lib/core/db.js';
import { checkAllCertificates } from '../../lib/federation/saml/certificates.js';

const logger = new Logger({ serviceName: 'roster' });

/**
 * The daily job (EventBridge schedule; locally the runtime's scheduler): an activity entry for each
 * IdP signing certificate 30 days or less from expiry, once per certificate.
 */
export async function handler(_event?: unknown, context?: Context): Promise<{ organizations: number; warnings: number }> {
  if (context) logger.addContext(context);
  const done = await checkAllCertificates(db());
  if (done.warnings) logger.info('IdP certificates expiring', done);
  return done;
}
