import type { InboundFederationTriggerEvent } from 'aws-lambda';
import { db } from '../../lib/core/db.js';
import { recordAssertion } from '../../lib/federation/saml/signin.js';

/**
 * Cognito InboundFederation trigger (V1_0), every federated sign-in, before the profile is created
 * or updated: refuses an email outside the organization's domains and records whether the
 * assertion carried the groups attribute. Attributes pass unchanged (`{}` keeps them all).
 */
export async function handler(event: InboundFederationTriggerEvent): Promise<InboundFederationTriggerEvent> {
  const { providerName, providerType, attributes } = event.request;
  if (providerType === 'SAML') await recordAssertion(db(), { providerName, userName: event.userName, attributes: attributes.samlResponse ?? {} });
  event.response = { userAttributesToMap: {} };
  return event;
}
