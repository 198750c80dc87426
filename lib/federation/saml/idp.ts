/**
 * The organization's SAML IdP in the Cognito user pool: created or updated when its settings are
 * saved (metadata by URL or file, attribute mapping, the domains as identifiers), enabled on the
 * SSO app client, and removed when the settings are reset. Only through the Cognito API as AWS
 * documents it (locally, COGNITO_ENDPOINT points the SDK at the local stand-in).
 */
import {
  CognitoIdentityProviderClient,
  CreateIdentityProviderCommand,
  DeleteIdentityProviderCommand,
  DescribeIdentityProviderCommand,
  DescribeUserPoolClientCommand,
  UpdateIdentityProviderCommand,
  UpdateUserPoolClientCommand,
  type UpdateUserPoolClientCommandInput,
  type UserPoolClientType,
} from '@aws-sdk/client-cognito-identity-provider';
import { ConflictError, ServiceUnavailableError, ValidationError } from '../../core/errors.js';
import { providerName } from './provider.js';

export interface IdpConfig {
  orgId: number;
  metadata: { url: string } | { xml: string };
  attributes: { email: string; first_name?: string; last_name?: string; groups?: string };
  domains: string[];
}

/** What the settings service needs of the pool: the IdP kept in line with the settings, or gone. */
export interface SamlIdentityProviders {
  /** Create or update the org's IdP and enable it on the SSO app client. */
  upsert(cfg: IdpConfig): Promise<void>;
  /** Disable it on the SSO app client and delete it (nothing to do when it does not exist). */
  remove(orgId: number): Promise<void>;
  /** Make sure the SSO app client lists these organizations' IdPs (one Describe, at most one Update); returns how many were missing. */
  reconcile(orgIds: number[]): Promise<number>;
}

/** The Cognito attribute mapping: user pool attribute → the IdP's SAML attribute name. */
export function attributeMapping(a: IdpConfig['attributes']): Record<string, string> {
  return {
    email: a.email,
    ...(a.first_name ? { given_name: a.first_name } : {}),
    ...(a.last_name ? { family_name: a.last_name } : {}),
    ...(a.groups ? { 'custom:groups': a.groups } : {}),
  };
}

export function providerDetails(m: IdpConfig['metadata']): Record<string, string> {
  // IdP-initiated sign-in allowed (Cognito then checks RelayState's client and redirect); no SAML single logout (SPEC §7).
  return { ...('url' in m ? { MetadataURL: m.url } : { MetadataFile: m.xml }), IDPInit: 'true', IDPSignout: 'false' };
}

/**
 * The fields UpdateUserPoolClient takes, copied from DescribeUserPoolClient: UpdateUserPoolClient
 * resets every field it is not given to its default, so the whole configuration is written back.
 */
export function writableClientConfig(c: UserPoolClientType): UpdateUserPoolClientCommandInput {
  return {
    UserPoolId: c.UserPoolId,
    ClientId: c.ClientId,
    ClientName: c.ClientName,
    RefreshTokenValidity: c.RefreshTokenValidity,
    AccessTokenValidity: c.AccessTokenValidity,
    IdTokenValidity: c.IdTokenValidity,
    TokenValidityUnits: c.TokenValidityUnits,
    ReadAttributes: c.ReadAttributes,
    WriteAttributes: c.WriteAttributes,
    ExplicitAuthFlows: c.ExplicitAuthFlows,
    SupportedIdentityProviders: c.SupportedIdentityProviders,
    CallbackURLs: c.CallbackURLs,
    LogoutURLs: c.LogoutURLs,
    DefaultRedirectURI: c.DefaultRedirectURI,
    AllowedOAuthFlows: c.AllowedOAuthFlows,
    AllowedOAuthScopes: c.AllowedOAuthScopes,
    AllowedOAuthFlowsUserPoolClient: c.AllowedOAuthFlowsUserPoolClient,
    AnalyticsConfiguration: c.AnalyticsConfiguration,
    PreventUserExistenceErrors: c.PreventUserExistenceErrors,
    EnableTokenRevocation: c.EnableTokenRevocation,
    EnablePropagateAdditionalUserContextData: c.EnablePropagateAdditionalUserContextData,
    AuthSessionValidity: c.AuthSessionValidity,
    RefreshTokenRotation: c.RefreshTokenRotation,
  };
}

const name = (err: unknown) => (err as { name?: string })?.name ?? '';

export class CognitoSamlIdentityProviders implements SamlIdentityProviders {
  constructor(
    private readonly client: CognitoIdentityProviderClient,
    private readonly pool: string,
    private readonly ssoClientId: string,
  ) {}

  async upsert(cfg: IdpConfig): Promise<void> {
    const ProviderName = providerName(cfg.orgId);
    const fields = { UserPoolId: this.pool, ProviderName, ProviderDetails: providerDetails(cfg.metadata), AttributeMapping: attributeMapping(cfg.attributes), IdpIdentifiers: cfg.domains };
    try {
      if (await this.exists(ProviderName)) await this.client.send(new UpdateIdentityProviderCommand(fields));
      else await this.client.send(new CreateIdentityProviderCommand({ ...fields, ProviderType: 'SAML' }));
    } catch (err) {
      throw translate(err);
    }
    await this.setEnabled(ProviderName, true);
  }

  async remove(orgId: number): Promise<void> {
    const ProviderName = providerName(orgId);
    await this.setEnabled(ProviderName, false);
    try {
      await this.client.send(new DeleteIdentityProviderCommand({ UserPoolId: this.pool, ProviderName }));
    } catch (err) {
      if (name(err) !== 'ResourceNotFoundException') throw translate(err);
    }
  }

  async reconcile(orgIds: number[]): Promise<number> {
    const current = await this.describeClient();
    const list = current.SupportedIdentityProviders ?? [];
    const missing = orgIds.map(providerName).filter((p) => !list.includes(p));
    if (!missing.length) return 0;
    try {
      await this.client.send(new UpdateUserPoolClientCommand({ ...writableClientConfig(current), SupportedIdentityProviders: [...list, ...missing] }));
    } catch (err) {
      throw translate(err);
    }
    return missing.length;
  }

  private async exists(ProviderName: string): Promise<boolean> {
    try {
      await this.client.send(new DescribeIdentityProviderCommand({ UserPoolId: this.pool, ProviderName }));
      return true;
    } catch (err) {
      if (name(err) === 'ResourceNotFoundException') return false;
      throw err;
    }
  }

  /**
   * Add or remove the provider in the SSO client's SupportedIdentityProviders: Describe, then Update
   * with the whole configuration. Cognito has no conditional update, so two organizations saving at
   * once could each write back a list without the other's provider: the list is read back after
   * the write and the change redone until it holds (a few attempts).
   */
  private async setEnabled(provider: string, enabled: boolean, attempts = 5): Promise<void> {
    for (let i = 0; i < attempts; i++) {
      const current = await this.describeClient();
      const list = current.SupportedIdentityProviders ?? [];
      // As wanted (already, or read back after this call's write): done.
      if (list.includes(provider) === enabled) return;
      const next = enabled ? [...list, provider] : list.filter((p) => p !== provider);
      try {
        await this.client.send(new UpdateUserPoolClientCommand({ ...writableClientConfig(current), SupportedIdentityProviders: next }));
      } catch (err) {
        if (name(err) === 'ConcurrentModificationException') continue;
        throw translate(err);
      }
      await new Promise((r) => setTimeout(r, 50 * (i + 1)));
    }
    const last = await this.describeClient();
    if ((last.SupportedIdentityProviders ?? []).includes(provider) !== enabled) throw new ServiceUnavailableError('The SSO app client kept changing meanwhile; save the settings again.');
  }

  private async describeClient(): Promise<UserPoolClientType> {
    const out = await this.client.send(new DescribeUserPoolClientCommand({ UserPoolId: this.pool, ClientId: this.ssoClientId }));
    if (!out.UserPoolClient) throw new ServiceUnavailableError('The SSO app client was not found.');
    return out.UserPoolClient;
  }
}

/** Cognito's refusals as Roster's errors, naming the field behind them. */
function translate(err: unknown): Error {
  const n = name(err);
  const msg = (err as Error)?.message ?? String(err);
  if (n === 'DuplicateProviderException') return new ConflictError('An IdP identifier (domain) is already used by another provider in the user pool.', { validation_errors: { domain: [msg] } });
  if (n === 'InvalidParameterException') {
    const field = /metadata/i.test(msg) ? 'metadata' : /identifier/i.test(msg) ? 'domain' : /attribute/i.test(msg) ? 'mapping' : 'non_field_errors';
    return new ValidationError('Validation error', { [field]: [`Cognito refused the IdP: ${msg}`] });
  }
  if (n === 'LimitExceededException') return new ServiceUnavailableError('The user pool has reached its quota of identity providers (300; up to 1,000 on request).');
  if (n === 'TooManyRequestsException') return new ServiceUnavailableError('Cognito is throttling IdP changes; retry in a few seconds.');
  return err as Error;
}

/** No SSO app client configured (COGNITO_SSO_CLIENT_ID unset): SAML cannot be switched on. */
export class NoSamlIdentityProviders implements SamlIdentityProviders {
  async upsert(): Promise<void> {
    throw new ServiceUnavailableError('SAML SSO is not configured on this server (no SSO app client in the user pool).');
  }
  async remove(): Promise<void> {}
  async reconcile(): Promise<number> {
    return 0;
  }
}

let cached: SamlIdentityProviders | undefined;
/** From the environment: COGNITO_USER_POOL_ID, COGNITO_SSO_CLIENT_ID (and COGNITO_ENDPOINT locally). */
export function samlIdentityProviders(env = process.env): SamlIdentityProviders {
  if (cached) return cached;
  const pool = env.COGNITO_USER_POOL_ID;
  const client = env.COGNITO_SSO_CLIENT_ID;
  const endpoint = env.COGNITO_ENDPOINT;
  cached = pool && client ? new CognitoSamlIdentityProviders(new CognitoIdentityProviderClient(endpoint ? { endpoint } : {}), pool, client) : new NoSamlIdentityProviders();
  return cached;
}
