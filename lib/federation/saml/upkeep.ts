/**
 * SAML upkeep, an hourly job over every organization with SSO on:
 * - the SSO app client lists each of their IdPs (a CloudFormation update of the client resets its
 *   SupportedIdentityProviders to what the template says; this puts them back within the hour);
 * - IdP signing certificates about to expire (Cognito sends no warning; an expired one stops every
 *   sign-in of the organization): the certificates of a metadata URL are refreshed (the IdP may
 *   have rotated them; Cognito re-reads the URL about every 6 hours), and one activity entry is
 *   recorded per certificate once it is 30 days or less from expiry: a warning item per
 *   certificate, written only if new, which the stream consumer turns into `saml_certificate.expiring`.
 */
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type Db, batchGet, getItem, isConditionFailure } from '../../core/db.js';
import { withChangeContext } from '../../core/context.js';
import { keys } from '../../core/table.js';
import { type Certificate, type FetchPolicy, fetchMetadata, fetchPolicyFromEnv, parseMetadata } from './metadata.js';
import { type SamlIdentityProviders, samlIdentityProviders } from './idp.js';
import { type SamlSettings, settingsOf } from './settings.js';

export const WARN_DAYS = 30;
const DAY = 86_400_000;

/** The certificates of these settings expiring within `WARN_DAYS` of `at` (expired ones included). */
export function expiringSoon(certificates: readonly Certificate[], at = new Date()): Certificate[] {
  return certificates.filter((c) => Date.parse(c.not_after) - at.getTime() <= WARN_DAYS * DAY);
}

/** One organization: refresh a metadata URL's certificates, then warn of each expiring one once. Returns the warnings written. */
export async function checkCertificates(db: Db, s: SamlSettings, at = new Date(), policy: FetchPolicy = fetchPolicyFromEnv()): Promise<number> {
  if (!s.enabled) return 0;
  let certificates = s.certificates;
  if (s.metadata_url) {
    try {
      certificates = parseMetadata(await fetchMetadata(s.metadata_url, policy), 'metadata_url').certificates;
      if (JSON.stringify(certificates) !== JSON.stringify(s.certificates)) {
        await db.doc.send(
          new UpdateCommand({
            TableName: db.table,
            Key: keys.samlSettings(s.org_id),
            UpdateExpression: 'SET certificates = :c',
            ConditionExpression: 'version = :v',
            ExpressionAttributeValues: { ':c': certificates, ':v': s.version },
          }),
        ).catch((err) => {
          if (!isConditionFailure(err)) throw err;
        });
      }
    } catch {
      // Unreachable today: judge by what was read last.
    }
  }
  let written = 0;
  for (const c of expiringSoon(certificates, at)) {
    const days = Math.ceil((Date.parse(c.not_after) - at.getTime()) / DAY);
    try {
      await withChangeContext({ source: 'system', organization: s.org_id }, () =>
        db.doc.send(
          new PutCommand({
            TableName: db.table,
            Item: { ...keys.samlCertificateWarning(s.org_id, c.fingerprint), type: 'saml_certificate_warning', subject: c.subject, not_after: c.not_after, fingerprint: c.fingerprint, days_left: days, warned_at: at.toISOString() },
            ConditionExpression: 'attribute_not_exists(PK)',
          }),
        ),
      );
      written++;
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
  }
  return written;
}

/**
 * Every organization with SSO on (organization ids from the id counter, 100 settings items a
 * BatchGet): their IdPs back on the SSO client, then their certificates.
 */
export async function samlUpkeep(db: Db, deps: { idp?: SamlIdentityProviders; at?: Date; policy?: FetchPolicy } = {}): Promise<{ organizations: number; reenabled: number; warnings: number }> {
  const at = deps.at ?? new Date();
  const counter = await getItem(db, keys.counter('organization'));
  const max = Number(counter?.value ?? 1);
  const enabled: SamlSettings[] = [];
  for (let first = 1; first <= max; first += 100) {
    const ids = Array.from({ length: Math.min(100, max - first + 1) }, (_, i) => first + i);
    const items = await batchGet(db, ids.map((id) => keys.samlSettings(id)));
    for (const item of items) {
      const s = settingsOf(Number(String(item.PK).slice(4)), item);
      if (s.enabled) enabled.push(s);
    }
  }
  const reenabled = enabled.length ? await (deps.idp ?? samlIdentityProviders()).reconcile(enabled.map((s) => s.org_id)) : 0;
  let warnings = 0;
  for (const s of enabled) warnings += await checkCertificates(db, s, at, deps.policy);
  return { organizations: enabled.length, reenabled, warnings };
}
