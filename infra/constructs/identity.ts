import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import {
  AccountRecovery,
  CfnManagedLoginBranding,
  ClientAttributes,
  FeaturePlan,
  ManagedLoginVersion,
  Mfa,
  OAuthScope,
  StringAttribute,
  UserPool,
  type UserPoolClient,
  UserPoolClientIdentityProvider,
  type UserPoolDomain,
} from 'aws-cdk-lib/aws-cognito';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

export interface RosterIdentityProps {
  /** Where the SSO client may send people back with their authorization code (≤ 100; http://localhost allowed). */
  ssoCallbackUrls?: string[];
  /** The user pool domain's prefix (`<prefix>.auth.<region>.amazoncognito.com`), unique in the Region. */
  domainPrefix?: string;
}

/**
 * Sign-in: the Cognito user pool people sign in with (usernames are lower-case emails; Roster
 * creates accounts, nobody signs up on their own), its app client (USER_PASSWORD_AUTH for API
 * clients), the secret that signs Roster's own short-lived access tokens, and SAML SSO: the pool's
 * domain with managed login, the mutable `custom:groups` attribute IdPs' groups are mapped to, and
 * the SSO app client (authorization code flow) organizations' IdPs are enabled on at run time.
 */
export class RosterIdentity extends Construct {
  readonly userPool: UserPool;
  readonly client: UserPoolClient;
  readonly ssoClient: UserPoolClient;
  readonly domain: UserPoolDomain;
  readonly ssoCallbackUrls: string[];
  readonly signingSecret: Secret;

  constructor(scope: Construct, id: string, props: RosterIdentityProps = {}) {
    super(scope, id);
    this.userPool = new UserPool(this, 'Users', {
      selfSignUpEnabled: false,
      signInAliases: { username: true },
      signInCaseSensitive: false,
      // given_name and family_name, mapped from IdPs, are standard attributes: optional and mutable by default.
      standardAttributes: { email: { required: true, mutable: true } },
      // An IdP's groups, as Cognito flattens a multi-valued SAML attribute ("[a, b]", ≤ 2,048 characters).
      customAttributes: { groups: new StringAttribute({ mutable: true, minLen: 0, maxLen: 2048 }) },
      passwordPolicy: { minLength: 12, requireLowercase: true, requireUppercase: true, requireDigits: true, requireSymbols: true, tempPasswordValidity: Duration.days(7) },
      mfa: Mfa.OPTIONAL,
      mfaSecondFactor: { sms: false, otp: true },
      accountRecovery: AccountRecovery.EMAIL_ONLY,
      featurePlan: FeaturePlan.ESSENTIALS,
      userInvitation: {
        emailSubject: 'You are invited to Roster',
        emailBody: 'You are invited to Roster. Your sign-in name is {username} and your temporary password is {####}.',
      },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.client = this.userPool.addClient('Api', {
      authFlows: { userPassword: true, userSrp: true },
      generateSecret: false,
      preventUserExistenceErrors: true,
      accessTokenValidity: Duration.hours(1),
      idTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.days(30),
      enableTokenRevocation: true,
    });
    // SAML SSO: the pool's domain (managed login serves /oauth2/authorize, /saml2/idpresponse, /oauth2/token).
    this.domain = this.userPool.addDomain('Domain', {
      cognitoDomain: { domainPrefix: props.domainPrefix ?? `roster-${Stack.of(this).account}` },
      managedLoginVersion: ManagedLoginVersion.NEWER_MANAGED_LOGIN,
    });
    this.ssoCallbackUrls = props.ssoCallbackUrls ?? ['http://localhost:8080/sso/callback'];
    // The SSO client: organizations' IdPs are added to its SupportedIdentityProviders at run time
    // (lib/federation/saml/idp.ts); a stack update that rewrites this client resets that list, and the
    // hourly SAML upkeep job puts it back (see README).
    this.ssoClient = this.userPool.addClient('Sso', {
      generateSecret: false,
      authFlows: {},
      oAuth: {
        flows: { authorizationCodeGrant: true },
        scopes: [OAuthScope.OPENID, OAuthScope.EMAIL, OAuthScope.PROFILE],
        callbackUrls: this.ssoCallbackUrls,
      },
      supportedIdentityProviders: [UserPoolClientIdentityProvider.COGNITO],
      readAttributes: new ClientAttributes().withStandardAttributes({ email: true, givenName: true, familyName: true }).withCustomAttributes('groups'),
      // Cognito writes mapped attributes through the client: each must be writable, custom:groups included.
      writeAttributes: new ClientAttributes().withStandardAttributes({ email: true, givenName: true, familyName: true }).withCustomAttributes('groups'),
      preventUserExistenceErrors: true,
      accessTokenValidity: Duration.hours(1),
      idTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.days(1),
      enableTokenRevocation: true,
    });
    // A client has no managed login pages until a branding style is assigned to it.
    new CfnManagedLoginBranding(this, 'SsoBranding', { userPoolId: this.userPool.userPoolId, clientId: this.ssoClient.userPoolClientId, useCognitoProvidedValues: true });
    this.signingSecret = new Secret(this, 'AccessTokenKey', {
      description: 'Roster: key (base64) signing the 5-minute access tokens issued for personal access tokens',
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
    });
  }
}
