/**
 * SSO email domains: which ones an organization may claim. A domain routes sign-ins (Cognito's
 * IdP identifiers) and decides who an organization's IdP may sign in, so a free-mail domain is
 * never one, and each domain belongs to one organization at most (a claim item per domain).
 */
import freeMail from 'email-providers/all.json' with { type: 'json' };
import { type Db, getItem } from '../../core/db.js';
import { ConflictError, ValidationError } from '../../core/errors.js';
import { keys } from '../../core/table.js';

/** email-providers' all.json: 8,760 free and disposable mail domains, maintained upstream. */
const FREE_MAIL: ReadonlySet<string> = new Set(freeMail as string[]);

/** Cognito's limits on IdP identifiers: 1–40 characters each, at most 50 per IdP. */
export const MAX_DOMAIN_LENGTH = 40;
export const MAX_DOMAINS = 50;

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** Why a domain cannot be an SSO domain (format, length, free mail), or undefined when it can. */
export function domainProblem(domain: string): string | undefined {
  if (!domain) return 'A domain must not be empty.';
  if (domain.length > MAX_DOMAIN_LENGTH) return `${domain}: at most ${MAX_DOMAIN_LENGTH} characters (Cognito's limit for an IdP identifier).`;
  const labels = domain.split('.');
  if (labels.length < 2 || !labels.every((l) => LABEL.test(l)) || !/^[a-z]{2,63}$/.test(labels.at(-1)!)) {
    return `${domain}: not a domain name (expected e.g. example.com: letters, digits and hyphens, dot-separated).`;
  }
  if (FREE_MAIL.has(domain)) return `${domain}: a public email domain cannot be an SSO domain; use your organization's own domain.`;
  return undefined;
}

/**
 * LSE's `domain` field (a comma-separated list, no spaces) into unique lower-case domains, or a
 * 400 naming each bad one. An empty string is no domains.
 */
export function parseDomains(field: string): string[] {
  const domains = [...new Set(field.split(',').map((d) => d.trim().toLowerCase()).filter(Boolean))];
  const problems = domains.map(domainProblem).filter((p): p is string => !!p);
  if (domains.length > MAX_DOMAINS) problems.push(`At most ${MAX_DOMAINS} domains (Cognito's limit of IdP identifiers per IdP).`);
  if (problems.length) throw new ValidationError('Validation error', { domain: problems });
  return domains;
}

/** The organization that claims a domain for SSO, if any (one read). */
export async function orgOfDomain(db: Db, domain: string): Promise<number | undefined> {
  const item = await getItem(db, keys.ssoDomain(domain));
  return typeof item?.orgId === 'number' ? item.orgId : undefined;
}

export const claimedElsewhere = (domain: string) =>
  new ConflictError(`${domain}: this domain is claimed for SSO by another organization.`, { validation_errors: { domain: [`${domain} is claimed by another organization.`] } });

/**
 * POST /api/saml/settings/validate-domain: one domain, checked without saving (format, free mail,
 * claimed by another organization: 409).
 */
export async function validateDomain(db: Db, orgId: number, raw: string): Promise<{ valid: true; domain: string }> {
  const domain = raw.trim().toLowerCase();
  if (domain.includes(',')) throw new ValidationError('Validation error', { domain: ['One domain at a time.'] });
  const problem = domainProblem(domain);
  if (problem) throw new ValidationError('Validation error', { domain: [problem] });
  const owner = await orgOfDomain(db, domain);
  if (owner !== undefined && owner !== orgId) throw claimedElsewhere(domain);
  return { valid: true, domain };
}
