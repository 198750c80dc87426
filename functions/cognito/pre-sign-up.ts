import type { PreSignUpTriggerEvent } from 'aws-lambda';
import { db } from '../../lib/core/db.js';
import { admitSignUp } from '../../lib/federation/saml/signin.js';

/**
 * Cognito PreSignUp trigger. A federated user's first sign-in (PreSignUp_ExternalProvider) is
 * admitted only when their IdP is an organization's with SSO on and the email is in that
 * organization's domains; a refusal (thrown) stops Cognito before the user exists. Roster's own
 * account creation (PreSignUp_AdminCreateUser) passes unchanged.
 */
export async function handler(event: PreSignUpTriggerEvent): Promise<PreSignUpTriggerEvent> {
  if (event.triggerSource === 'PreSignUp_ExternalProvider') await admitSignUp(db(), event.userName, event.request.userAttributes.email);
  return event;
}
