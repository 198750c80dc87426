import type { PreTokenGenerationV2TriggerEvent } from 'aws-lambda';
import { db } from '../../lib/core/db.js';
import { directory } from '../../lib/identity/directory.js';
import { federatedRefresh, federatedSignIn } from '../../lib/federation/saml/signin.js';

/**
 * Cognito pre token generation trigger (V2_0). A sign-in through an organization's IdP
 * (TokenGeneration_HostedAuth, the trigger that runs on every federated sign-in, first or later)
 * provisions the person just in time and applies the group mappings; a refresh re-checks that SSO
 * is still on. Both put the person's email in the access token, which is how Roster finds them
 * (the federated username names the IdP, not the person), and the organization (`roster_org`) the
 * session is bound to. Other users' tokens are left as they are.
 */
export async function handler(event: PreTokenGenerationV2TriggerEvent): Promise<PreTokenGenerationV2TriggerEvent> {
  const attrs = event.request.userAttributes;
  const who =
    event.triggerSource === 'TokenGeneration_HostedAuth' ? await federatedSignIn(db(), event.userName, attrs, directory())
    : event.triggerSource === 'TokenGeneration_RefreshTokens' ? await federatedRefresh(db(), event.userName, attrs.email)
    : undefined;
  if (who) {
    const claims = { email: who.email, roster_org: String(who.orgId) };
    event.response.claimsAndScopeOverrideDetails = {
      ...event.response.claimsAndScopeOverrideDetails,
      idTokenGeneration: { claimsToAddOrOverride: claims },
      accessTokenGeneration: { claimsToAddOrOverride: claims },
    };
  }
  return event;
}
