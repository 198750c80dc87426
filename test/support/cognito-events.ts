/**
 * Cognito trigger events in the shapes Cognito sends (AWS developer guide's trigger pages; the
 * DefinitelyTyped types), for a federated SAML user: the common fields, the attributes as Cognito
 * maps them (strings; `identities` a JSON string), and the response objects as Cognito pre-fills them.
 */
import type { InboundFederationTriggerEvent, PreSignUpTriggerEvent, PreTokenGenerationV2TriggerEvent } from 'aws-lambda';

export const POOL = 'us-east-1_TestPool1';
export const SSO_CLIENT = 'ssoclient0000000000000000a';

const common = (userName: string) => ({
  version: '1',
  region: 'us-east-1',
  userPoolId: POOL,
  userName,
  callerContext: { awsSdkVersion: 'aws-sdk-unknown-unknown', clientId: SSO_CLIENT },
});

export function inboundFederation(providerName: string, nameId: string, samlResponse: Record<string, string>): InboundFederationTriggerEvent {
  return {
    ...common(`${providerName}_${nameId}`.toLowerCase()),
    triggerSource: 'InboundFederation_ExternalProvider',
    request: { providerName, providerType: 'SAML', attributes: { samlResponse } },
    response: { userAttributesToMap: {} },
  };
}

export function preSignUp(userName: string, userAttributes: Record<string, string>, triggerSource: PreSignUpTriggerEvent['triggerSource'] = 'PreSignUp_ExternalProvider'): PreSignUpTriggerEvent {
  return {
    ...common(userName),
    triggerSource,
    request: { userAttributes, validationData: {} },
    response: { autoConfirmUser: false, autoVerifyEmail: false, autoVerifyPhone: false },
  } as PreSignUpTriggerEvent;
}

/** A pre token generation V2 event as Cognito sends it on a managed-login (federated) sign-in. */
export function preToken(userName: string, attrs: Record<string, string>, triggerSource: PreTokenGenerationV2TriggerEvent['triggerSource'] = 'TokenGeneration_HostedAuth'): PreTokenGenerationV2TriggerEvent {
  const [provider, ...rest] = userName.split('_');
  return {
    ...common(userName),
    version: '2',
    triggerSource,
    request: {
      userAttributes: {
        sub: '94e8a4a8-1071-70a4-4a93-ae8b5f6f1c11',
        'cognito:user_status': 'EXTERNAL_PROVIDER',
        email_verified: 'false',
        identities: JSON.stringify([{ dateCreated: '1733100000000', userId: rest.join('_'), providerName: provider, providerType: 'SAML', issuer: 'http://www.okta.com/exk1', primary: 'true' }]),
        ...attrs,
      },
      groupConfiguration: { groupsToOverride: [`${POOL}_${provider}`], iamRolesToOverride: [], preferredRole: undefined },
      scopes: ['openid', 'email', 'profile'],
    },
    // Cognito sends the override details as null; the function fills them in.
    response: { claimsAndScopeOverrideDetails: null as never },
  } as PreTokenGenerationV2TriggerEvent;
}
