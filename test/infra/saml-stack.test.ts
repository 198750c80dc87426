import { App, type CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { SSO_ACTIONS } from '../../infra/constructs/roster-function.js';
import { RosterStack } from '../../infra/stack.js';

let template: Template;
let stack: RosterStack;
const json = () => template.toJSON().Resources as Record<string, { Type: string; Properties: any }>;
const logical = (c: { node: { defaultChild?: unknown } }) => stack.getLogicalId(c.node.defaultChild as CfnElement);
const policyOf = (role: { node: { findChild(id: string): { node: { defaultChild?: unknown } } } }) =>
  json()[stack.getLogicalId(role.node.findChild('DefaultPolicy').node.defaultChild as CfnElement)]!.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[];

beforeAll(() => {
  stack = new RosterStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Roster');
  template = Template.fromStack(stack);
});

describe('SAML SSO in the stack', () => {
  it('has a user pool domain with managed login and a branding style on the SSO client', () => {
    template.hasResourceProperties('AWS::Cognito::UserPoolDomain', { ManagedLoginVersion: 2, Domain: Match.anyValue() });
    template.hasResourceProperties('AWS::Cognito::ManagedLoginBranding', { UseCognitoProvidedValues: true, ClientId: { Ref: logical(stack.identity.ssoClient) } });
  });

  it('has a mutable custom:groups attribute of up to 2,048 characters', () => {
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      Schema: Match.arrayWith([Match.objectLike({ Name: 'groups', AttributeDataType: 'String', Mutable: true, StringAttributeConstraints: { MinLength: '0', MaxLength: '2048' } })]),
    });
  });

  it('has an SSO client with the authorization code flow, callback URLs, no secret, and custom:groups writable (Cognito writes mapped attributes through it)', () => {
    const sso = json()[logical(stack.identity.ssoClient)]!.Properties;
    expect(sso).toMatchObject({
      AllowedOAuthFlows: ['code'],
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthScopes: expect.arrayContaining(['openid', 'email', 'profile']),
      CallbackURLs: stack.identity.ssoCallbackUrls,
      GenerateSecret: false,
      SupportedIdentityProviders: ['COGNITO'],
    });
    expect(sso.WriteAttributes).toEqual(expect.arrayContaining(['custom:groups', 'email', 'given_name', 'family_name']));
  });

  it('wires the triggers: pre sign-up, pre token generation V2_0, inbound federation V1_0, the invitation message', () => {
    const pool = json()[logical(stack.identity.userPool)]!.Properties;
    const arn = (fn: { fn: { node: { defaultChild?: unknown } } }) => ({ 'Fn::GetAtt': [logical(fn.fn), 'Arn'] });
    expect(pool.LambdaConfig.PreSignUp).toEqual(arn(stack.triggers.preSignUp));
    expect(pool.LambdaConfig.PreTokenGenerationConfig).toEqual({ LambdaArn: arn(stack.triggers.preTokenGeneration), LambdaVersion: 'V2_0' });
    expect(pool.LambdaConfig.InboundFederation).toEqual({ LambdaArn: arn(stack.triggers.inboundFederation), LambdaVersion: 'V1_0' });
    expect(pool.LambdaConfig.CustomMessage).toBeDefined();
    // Cognito may invoke each of them, from this pool only.
    for (const t of Object.values(stack.triggers)) {
      template.hasResourceProperties('AWS::Lambda::Permission', { FunctionName: arn(t), Principal: 'cognito-idp.amazonaws.com', SourceArn: { 'Fn::GetAtt': [logical(stack.identity.userPool), 'Arn'] } });
    }
  });

  it('gives the triggers the table and nothing of Cognito', () => {
    for (const t of Object.values(stack.triggers)) {
      const actions = policyOf(t.role).flatMap((s) => [s.Action].flat());
      expect(actions.some((a) => a.startsWith('dynamodb:GetItem'))).toBe(true);
      expect(actions.some((a) => a.startsWith('cognito-idp:'))).toBe(false);
    }
  });

  it('grants the IdP and SSO-client calls, on this pool only, to the settings function and the upkeep job and to nothing else', () => {
    const settings = stack.api.functions['POST /api/saml/settings']!;
    const holders = Object.entries(json()).filter(([, r]) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties).includes('cognito-idp:CreateIdentityProvider')).map(([id]) => id).sort();
    const idOf = (role: { node: { findChild(id: string): { node: { defaultChild?: unknown } } } }) => stack.getLogicalId(role.node.findChild('DefaultPolicy').node.defaultChild as CfnElement);
    expect(holders).toEqual([idOf(settings.role), idOf(stack.samlUpkeep.role)].sort());
    for (const role of [settings.role, stack.samlUpkeep.role]) {
      const st = policyOf(role).find((s) => [s.Action].flat().includes('cognito-idp:UpdateUserPoolClient'))!;
      expect([st.Action].flat().sort()).toEqual([...SSO_ACTIONS].sort());
      expect(st.Resource).toEqual({ 'Fn::GetAtt': [logical(stack.identity.userPool), 'Arn'] });
    }
    const env = json()[logical(settings.fn)]!.Properties.Environment.Variables;
    expect(Object.keys(env)).toEqual(expect.arrayContaining(['COGNITO_USER_POOL_ID', 'COGNITO_SSO_CLIENT_ID', 'COGNITO_DOMAIN_URL', 'ROSTER_SSO_CALLBACK_URL']));
  });

  it('lets every API function accept tokens of the SSO client (COGNITO_SSO_CLIENT_ID beside COGNITO_CLIENT_ID)', () => {
    for (const fn of new Set(Object.values(stack.api.functions))) {
      const env = json()[logical(fn.fn)]!.Properties.Environment.Variables;
      if ('COGNITO_CLIENT_ID' in env) expect(env.COGNITO_SSO_CLIENT_ID).toEqual({ Ref: logical(stack.identity.ssoClient) });
    }
  });

  it('runs the SAML upkeep hourly', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 hour)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [logical(stack.samlUpkeep.fn), 'Arn'] } })],
    });
  });
});
