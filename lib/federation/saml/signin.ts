/**
 * What Roster decides when someone signs in through an organization's IdP (the Cognito triggers
 * call these; see functions/cognito/). An IdP is trusted only for its own organization's domains:
 * org A's IdP never signs anyone into org B, nor anyone whose address is outside A's domains.
 *
 * - Inbound federation (before Cognito creates or updates the profile, every sign-in): refuse a
 *   foreign email, and record whether this assertion carried the groups attribute.
 * - Pre sign-up (first sign-in, before the user is persisted): the same admission check.
 * - Pre token generation (every sign-in): the check again (attributes change on each sign-in),
 *   then just-in-time provisioning, names, active organization and the group mappings.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { type Db, getItem } from '../../core/db.js';
import { withChangeContext } from '../../core/context.js';
import { DomainError } from '../../core/errors.js';
import { keys } from '../../core/table.js';
import { now } from '../../core/util.js';
import { updateUser } from '../../org/users.js';
import { type ApplyResult, applyMappings } from '../engine.js';
import { provisionMember } from '../provision.js';
import { type SamlSettings, getSamlSettings } from './settings.js';
import { emailDomain, orgOfFederatedUsername, orgOfProvider, parseGroups } from './provider.js';
import type { Directory } from '../../identity/directory.js';

/** A sign-in Roster refuses: the trigger throws it, and Cognito fails the sign-in with its message. */
export class SignInRefused extends DomainError {
  constructor(detail: string) {
    super(403, detail);
  }
}

/** How long the inbound-federation record of an assertion is kept for the token trigger (Cognito's auth sessions last 5 minutes). */
export const ASSERTION_RECORD_TTL_S = 15 * 60;

/** Whether the organization's IdP may sign in this email: SSO on, and the email's domain one of the organization's. */
export function admissible(settings: SamlSettings, email: string | undefined): void {
  if (!settings.enabled) throw new SignInRefused('SAML sign-in is not enabled for this organization.');
  const domain = emailDomain(email);
  if (!domain) throw new SignInRefused('The IdP sent no email address.');
  if (!settings.domains.includes(domain)) throw new SignInRefused(`${domain} is not one of this organization's SSO domains.`);
}

/** PreSignUp_ExternalProvider: admit a federated user of one of Roster's IdPs, or refuse (nothing is persisted). */
export async function admitSignUp(db: Db, userName: string, email: string | undefined): Promise<void> {
  const orgId = orgOfFederatedUsername(userName);
  if (orgId === undefined) throw new SignInRefused('Unknown identity provider.');
  admissible(await getSamlSettings(db, orgId), email);
}

/**
 * InboundFederation_ExternalProvider (SAML): check the asserted email against the organization's
 * domains, and record whether the groups attribute was in this assertion. Cognito keeps an
 * attribute's old value when a later assertion leaves it out; the record lets the token trigger
 * treat a missing groups attribute as no groups. Returns false for providers that are not Roster's.
 */
export async function recordAssertion(db: Db, input: { providerName: string; userName: string; attributes: Record<string, string> }): Promise<boolean> {
  const orgId = orgOfProvider(input.providerName);
  if (orgId === undefined) return false;
  const settings = await getSamlSettings(db, orgId);
  admissible(settings, input.attributes[settings.mapping_email]);
  const groupsPresent = !!settings.mapping_groups && Object.prototype.hasOwnProperty.call(input.attributes, settings.mapping_groups);
  await db.doc.send(
    new PutCommand({
      TableName: db.table,
      Item: { ...keys.samlSignIn(input.userName), type: 'saml_signin', org_id: orgId, groups_present: groupsPresent, at: now(), expiresAt: Math.floor(Date.now() / 1000) + ASSERTION_RECORD_TTL_S },
    }),
  );
  return true;
}

export interface FederatedAttributes {
  email?: string;
  given_name?: string;
  family_name?: string;
  'custom:groups'?: string;
}

export interface SignInOutcome {
  orgId: number;
  email: string;
  userId: number;
  created: 'user' | 'membership' | 'revived' | 'existing';
  groups: string[];
  applied: ApplyResult;
}

/**
 * TokenGeneration_HostedAuth for a federated user: admit (again), provision just in time (a new
 * user and membership with the default role, or a membership for the existing user with that
 * email, or the membership revived), update the names, and apply the group mappings. All writes
 * are stamped as SAML's, in the organization, by the person signing in. The token the trigger
 * then shapes names the person (email) and this organization: the session reaches this membership
 * in two reads (email claim → membership) and no other organization's.
 * Returns undefined for users who are not federated through one of Roster's IdPs.
 */
export async function federatedSignIn(db: Db, userName: string, attrs: FederatedAttributes, directory: Directory): Promise<SignInOutcome | undefined> {
  const orgId = orgOfFederatedUsername(userName);
  if (orgId === undefined) return undefined;
  const [settings, record] = await Promise.all([getSamlSettings(db, orgId), getItem(db, keys.samlSignIn(userName))]);
  admissible(settings, attrs.email);
  const email = attrs.email!.trim().toLowerCase();
  // The groups of this assertion: the attribute as Cognito flattened it, none when the assertion
  // left it out (recorded by the inbound-federation trigger just before), none when no record says.
  const fresh = record && record.org_id === orgId && Date.parse(String(record.at)) > Date.now() - ASSERTION_RECORD_TTL_S * 1000;
  const groups = fresh && record.groups_present ? parseGroups(attrs['custom:groups']) : [];
  const names = { first_name: (attrs.given_name ?? '').trim().slice(0, 150), last_name: (attrs.family_name ?? '').trim().slice(0, 150) };

  return withChangeContext({ source: 'saml', actor_email: email, organization: orgId }, async () => {
    const { user, membership, created } = await provisionMember(db, orgId, { email, ...names }, 'saml');
    return withChangeContext({ source: 'saml', actor_id: user.id, actor_email: email, organization: orgId }, async () => {
      const applied = await applyMappings(db, { orgId, userId: user.id, groups, source: 'saml', mappings: settings.mappings });
      const role = applied.role?.to ?? membership.role;
      const patch = {
        ...(attrs.given_name !== undefined && names.first_name !== user.first_name ? { first_name: names.first_name } : {}),
        ...(attrs.family_name !== undefined && names.last_name !== user.last_name ? { last_name: names.last_name } : {}),
      };
      if (Object.keys(patch).length) {
        await updateUser(db, { userId: user.id, orgId, role, via: 'cognito', overrides: {}, email }, user.id, patch, directory);
      }
      return { orgId, email, userId: user.id, created, groups, applied };
    });
  });
}

/** TokenGeneration_RefreshTokens for a federated user: no new assertion, so no provisioning; SSO must still be on. */
export async function federatedRefresh(db: Db, userName: string, email: string | undefined): Promise<{ orgId: number; email: string } | undefined> {
  const orgId = orgOfFederatedUsername(userName);
  if (orgId === undefined) return undefined;
  admissible(await getSamlSettings(db, orgId), email);
  return { orgId, email: email!.trim().toLowerCase() };
}
