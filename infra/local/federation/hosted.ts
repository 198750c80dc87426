import { createHash, randomBytes } from 'node:crypto';
import { mapAttributes, flatten } from './attributes.js';
import { AwsError, type Forward, type IdentityProviderApi } from './idp-api.js';
import { type Assertion, SignInError, authnRequestUrl, validateResponse } from './sp.js';
import { type AuthSession, type FederationStore, type IssuedCode, REQUEST_TTL_MS, type StoredProvider } from './store.js';
import { issueTokens } from './tokens.js';
import { type Caller, type TriggerConfig, TriggerError, invoke } from './triggers.js';

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface HostedOptions {
  store: FederationStore;
  api: IdentityProviderApi;
  /** Calls to cognito-local (the users). */
  forward: Forward;
  userPoolId: string;
  region: string;
  /** The user pool domain's base URL (this server). */
  domain: string;
  /** The pool's token issuer (cognito-local's). */
  issuer: string;
  triggers: TriggerConfig;
}

const HTML: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => HTML[c]!);
/** Cognito's error page: a 400 naming what went wrong. */
export const errorPage = (message: string, status = 400): Reply => ({
  status,
  headers: { 'content-type': 'text/html; charset=utf-8' },
  body: `<!doctype html><title>Sign-in error</title><h1>Sign-in failed</h1><p id="error">${escapeHtml(message)}</p>`,
});
const json = (status: number, body: unknown): Reply => ({ status, headers: { 'content-type': 'application/json;charset=UTF-8', 'cache-control': 'no-store' }, body: JSON.stringify(body) });

type Client = Record<string, unknown> & { ClientId: string; CallbackURLs?: string[]; AllowedOAuthFlows?: string[]; AllowedOAuthScopes?: string[]; SupportedIdentityProviders?: string[]; AllowedOAuthFlowsUserPoolClient?: boolean; ClientSecret?: string };
type Attr = { Name: string; Value?: string };

/** A sign-in's OAuth side: whom the code goes to, and what the client asked for. */
type Target = { client: Client; redirectUri: string; state?: string; scopes: string[]; provider: StoredProvider; codeChallenge?: string; nonce?: string };

/** An OAuth error sent back to the client's redirect URI (after redirect_uri itself checked out). */
class RedirectError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Cognito's federation endpoints on the user pool domain: /oauth2/authorize (to the IdP with an
 * AuthnRequest), /saml2/idpresponse (the ACS: validate, map, run the triggers, create or update the
 * user, issue tokens behind a one-time code) and /oauth2/token (the authorization-code grant).
 */
export class HostedEndpoints {
  /** Issued codes by their hash, in memory only (they stand for tokens): one use, 5 minutes. */
  private readonly codes = new Map<string, IssuedCode>();
  constructor(private readonly o: HostedOptions) {}

  private async client(clientId: string | null): Promise<Client | undefined> {
    if (!clientId) return undefined;
    try {
      return (await this.o.api.call('DescribeUserPoolClient', { UserPoolId: this.o.userPoolId, ClientId: clientId })).UserPoolClient as Client;
    } catch (err) {
      if (err instanceof AwsError) return undefined;
      throw err;
    }
  }

  /** What /oauth2/authorize and an IdP-initiated RelayState both carry, checked the way Cognito checks it. */
  private async oauthRequest(q: URLSearchParams): Promise<Target | Reply> {
    const client = await this.client(q.get('client_id'));
    if (!client) return errorPage('invalid_request: client_id is missing or names no app client of this user pool.');
    const redirectUri = q.get('redirect_uri');
    if (!redirectUri || !(client.CallbackURLs ?? []).includes(redirectUri)) return errorPage('redirect_mismatch: redirect_uri is not one of the app client\'s callback URLs.');
    const state = q.get('state') ?? undefined;
    try {
      if (q.get('response_type') !== 'code') throw new RedirectError('unsupported_response_type', 'response_type must be code.');
      if (!client.AllowedOAuthFlowsUserPoolClient || !(client.AllowedOAuthFlows ?? []).includes('code')) throw new RedirectError('unauthorized_client', 'The app client does not allow the authorization-code flow.');
      const allowed = client.AllowedOAuthScopes ?? [];
      const scopes = q.get('scope') ? q.get('scope')!.split(/[ +]+/).filter(Boolean) : allowed;
      if (scopes.some((s) => !allowed.includes(s))) throw new RedirectError('invalid_scope', `Scopes allowed for this client: ${allowed.join(' ')}.`);
      const name = q.get('identity_provider');
      const identifier = q.get('idp_identifier');
      let provider: StoredProvider | undefined;
      if (name) provider = this.o.store.provider(this.o.userPoolId, name);
      else if (identifier) provider = this.o.store.providers(this.o.userPoolId).find((p) => p.IdpIdentifiers.some((i) => i.toLowerCase() === identifier.toLowerCase()));
      else throw new RedirectError('invalid_request', 'identity_provider or idp_identifier is required (the local user pool has no managed login page).');
      if (!provider || !(client.SupportedIdentityProviders ?? []).includes(provider.ProviderName)) {
        throw new RedirectError('invalid_request', `${name ? `identity_provider ${name}` : `idp_identifier ${identifier}`} is not enabled for this app client.`);
      }
      if (provider.ProviderType !== 'SAML') throw new RedirectError('invalid_request', 'The local user pool federates SAML providers only.');
      const codeChallenge = q.get('code_challenge') ?? undefined;
      if (codeChallenge && q.get('code_challenge_method') !== 'S256') throw new RedirectError('invalid_request', 'code_challenge_method must be S256.');
      return { client, redirectUri, state, scopes, provider, codeChallenge, nonce: q.get('nonce') ?? undefined };
    } catch (err) {
      if (!(err instanceof RedirectError)) throw err;
      return redirect(redirectUri, { error: err.code, error_description: err.message, ...(state ? { state } : {}) });
    }
  }

  async authorize(q: URLSearchParams): Promise<Reply> {
    const req = await this.oauthRequest(q);
    if ('status' in req) return req;
    const relay = randomBytes(24).toString('base64url');
    try {
      const { url, requestId } = await authnRequestUrl(req.provider, this.sp, this.o.store, relay);
      const session: AuthSession = { provider: req.provider.ProviderName, clientId: req.client.ClientId, redirectUri: req.redirectUri, state: req.state, scopes: req.scopes, codeChallenge: req.codeChallenge, nonce: req.nonce, requestId, expires: Date.now() + REQUEST_TTL_MS };
      this.o.store.change((d) => (d.sessions[relay] = session));
      return { status: 302, headers: { location: url } };
    } catch (err) {
      if (err instanceof SignInError) return errorPage(err.message);
      throw err;
    }
  }

  private get sp() {
    return { userPoolId: this.o.userPoolId, domain: this.o.domain };
  }

  /** The ACS: SP-initiated (RelayState names a pending sign-in) or IdP-initiated (RelayState carries the OAuth parameters). */
  async idpResponse(form: URLSearchParams): Promise<Reply> {
    const encoded = form.get('SAMLResponse');
    if (!encoded) return errorPage('invalid_request: SAMLResponse is required.');
    const relay = form.get('RelayState') ?? '';
    const pending = this.o.store.data.sessions[relay];
    const session = pending && pending.expires > Date.now() ? pending : undefined;
    let target: Target;
    if (session) {
      const client = await this.client(session.clientId);
      const provider = this.o.store.provider(this.o.userPoolId, session.provider);
      if (!client || !provider) return errorPage('invalid_request: the app client or identity provider of this sign-in is gone.');
      target = { client, provider, redirectUri: session.redirectUri, state: session.state, scopes: session.scopes, codeChallenge: session.codeChallenge, nonce: session.nonce };
    } else {
      const params = new URLSearchParams(relay);
      if (!params.get('client_id')) return errorPage('invalid_request: RelayState names no pending sign-in (they last 5 minutes) and carries no client_id for an IdP-initiated one.');
      const req = await this.oauthRequest(params);
      if ('status' in req) return req;
      target = req;
    }
    try {
      const assertion = await validateResponse(encoded, target.provider, this.sp, this.o.store, session);
      if (session) this.o.store.change((d) => delete d.sessions[relay]);
      const tokens = await this.signIn(target.provider, target.client, assertion, target.scopes, target.nonce);
      const code = randomBytes(24).toString('base64url');
      for (const [k, v] of this.codes) if (v.expires < Date.now()) this.codes.delete(k);
      this.codes.set(hash(code), { clientId: target.client.ClientId, redirectUri: target.redirectUri, codeChallenge: target.codeChallenge, tokens, expires: Date.now() + REQUEST_TTL_MS });
      return redirect(target.redirectUri, { code, ...(target.state ? { state: target.state } : {}) });
    } catch (err) {
      if (err instanceof SignInError || err instanceof TriggerError) return errorPage(err.message);
      throw err;
    }
  }

  private async user(username: string): Promise<{ attributes: Record<string, string>; enabled: boolean } | undefined> {
    try {
      const u = await this.o.forward('AdminGetUser', { UserPoolId: this.o.userPoolId, Username: username });
      return { attributes: Object.fromEntries(((u.UserAttributes ?? []) as Attr[]).map((a) => [a.Name, a.Value ?? ''])), enabled: u.Enabled !== false };
    } catch (err) {
      if (err instanceof AwsError && err.type === 'UserNotFoundException') return undefined;
      throw err;
    }
  }

  /**
   * Cognito's federated sign-in after the response validated: InboundFederation, the attribute
   * mapping, then PreSignUp_ExternalProvider → create → PostConfirmation on the first sign-in, or
   * update the mapped attributes the assertion carries → PreAuthentication → PostAuthentication,
   * and TokenGeneration_HostedAuth. A refusal before the user exists writes nothing.
   */
  private async signIn(p: StoredProvider, client: Client, a: Assertion, scopes: string[], nonce?: string): Promise<ReturnType<typeof issueTokens>> {
    // Roster's pool is case-insensitive: Cognito keeps the username lower-cased.
    const username = `${p.ProviderName}_${a.nameId}`.toLowerCase();
    const caller: Caller = { region: this.o.region, userPoolId: this.o.userPoolId, clientId: client.ClientId, userName: username };
    const cfg = this.o.triggers;
    let saml = a.attributes;
    const inbound = await invoke<{ request: object; response: { userAttributesToMap?: Record<string, string> } }>(cfg, 'InboundFederation', 'InboundFederation_ExternalProvider', caller, {
      request: { providerName: p.ProviderName, providerType: 'SAML', attributes: { samlResponse: Object.fromEntries(Object.entries(saml).map(([k, v]) => [k, flatten(v)])) } },
      response: { userAttributesToMap: {} },
    });
    const replaced = inbound?.response.userAttributesToMap;
    if (replaced && Object.keys(replaced).length) saml = Object.fromEntries(Object.entries(replaced).map(([k, v]) => [k, [v]]));
    const mapped = mapAttributes(p.AttributeMapping, saml);

    const existing = await this.user(username);
    const status = { 'cognito:user_status': 'EXTERNAL_PROVIDER' };
    if (!existing) {
      const pre = await invoke<{ request: object; response: { autoConfirmUser?: boolean; autoVerifyEmail?: boolean; autoVerifyPhone?: boolean } }>(cfg, 'PreSignUp', 'PreSignUp_ExternalProvider', caller, {
        request: { userAttributes: { ...mapped }, validationData: {}, clientMetadata: {} },
        response: { autoConfirmUser: false, autoVerifyEmail: false, autoVerifyPhone: false },
      });
      const identities = JSON.stringify([{ userId: a.nameId, providerName: p.ProviderName, providerType: 'SAML', issuer: null, primary: true, dateCreated: Date.now() }]);
      const attrs: Record<string, string> = { ...mapped, identities };
      if (mapped.email) attrs.email_verified = pre?.response.autoVerifyEmail ? 'true' : 'false';
      try {
        await this.o.forward('AdminCreateUser', { UserPoolId: this.o.userPoolId, Username: username, MessageAction: 'SUPPRESS', UserAttributes: Object.entries(attrs).map(([Name, Value]) => ({ Name, Value })) });
      } catch (err) {
        // A concurrent first sign-in of the same person made the user a moment ago: this one is a later sign-in.
        if (err instanceof AwsError && err.type === 'UsernameExistsException') return this.signIn(p, client, a, scopes, nonce);
        throw err;
      }
      await this.addToProviderGroup(username, p.ProviderName);
      const created = (await this.user(username))!;
      await invoke(cfg, 'PostConfirmation', 'PostConfirmation_ConfirmSignUp', caller, { request: { userAttributes: { ...created.attributes, ...status }, clientMetadata: {} }, response: {} });
    } else {
      if (!existing.enabled) throw new SignInError('User is disabled.');
      const changed = Object.entries(mapped).filter(([k, v]) => existing.attributes[k] !== v);
      if (changed.length) {
        await this.o.forward('AdminUpdateUserAttributes', { UserPoolId: this.o.userPoolId, Username: username, UserAttributes: changed.map(([Name, Value]) => ({ Name, Value })) });
      }
      const now = (await this.user(username))!;
      await invoke(cfg, 'PreAuthentication', 'PreAuthentication_Authentication', caller, { request: { userAttributes: { ...now.attributes, ...status }, validationData: {}, userNotFound: false }, response: {} });
      await invoke(cfg, 'PostAuthentication', 'PostAuthentication_Authentication', caller, { request: { userAttributes: { ...now.attributes, ...status }, newDeviceUsed: false, clientMetadata: {} }, response: {} });
    }

    const user = (await this.user(username))!;
    const groups = (((await this.o.forward('AdminListGroupsForUser', { UserPoolId: this.o.userPoolId, Username: username })).Groups ?? []) as { GroupName: string }[]).map((g) => g.GroupName);
    const v2 = cfg.preTokenVersion === 'V2_0';
    const pre = await invoke<{ request: object; response: Record<string, any> }>(
      cfg,
      'PreTokenGeneration',
      'TokenGeneration_HostedAuth',
      caller,
      {
        request: { userAttributes: { ...user.attributes, ...status }, groupConfiguration: { groupsToOverride: groups, iamRolesToOverride: [], preferredRole: null }, clientMetadata: {}, ...(v2 ? { scopes } : {}) },
        response: v2 ? { claimsAndScopeOverrideDetails: null } : { claimsOverrideDetails: null },
      },
      v2 ? '2' : '1',
    );
    const details = v2 ? pre?.response.claimsAndScopeOverrideDetails : pre?.response.claimsOverrideDetails;
    const unit = (k: string, dflt: string) => ({ seconds: 1, minutes: 60, hours: 3600, days: 86400 })[((client.TokenValidityUnits as Record<string, string> | undefined)?.[k] ?? dflt) as 'seconds'] ?? 60;
    return issueTokens({
      issuer: this.o.issuer,
      clientId: client.ClientId,
      username,
      attributes: user.attributes,
      groups,
      scopes,
      accessTtl: Number(client.AccessTokenValidity ?? 60) * unit('AccessToken', 'minutes'),
      idTtl: Number(client.IdTokenValidity ?? 60) * unit('IdToken', 'minutes'),
      idOverrides: v2 ? details?.idTokenGeneration : details,
      accessOverrides: v2 ? details?.accessTokenGeneration : undefined,
      groupsOverride: details?.groupOverrideDetails?.groupsToOverride,
      nonce,
    });
  }

  /** Cognito puts every federated user in the group `<userPoolId>_<ProviderName>`. */
  private async addToProviderGroup(username: string, provider: string) {
    const group = `${this.o.userPoolId}_${provider}`;
    try {
      await this.o.forward('CreateGroup', { UserPoolId: this.o.userPoolId, GroupName: group });
    } catch (err) {
      if (!(err instanceof AwsError && err.type === 'GroupExistsException')) throw err;
    }
    await this.o.forward('AdminAddUserToGroup', { UserPoolId: this.o.userPoolId, Username: username, GroupName: group });
  }

  /** /oauth2/token, authorization_code grant: a code is redeemed once, by the client it was issued to, with the same redirect_uri. */
  async token(form: URLSearchParams, authorization: string | undefined): Promise<Reply> {
    if (form.get('grant_type') !== 'authorization_code') return json(400, { error: 'unsupported_grant_type' });
    let clientId = form.get('client_id');
    let secret: string | undefined;
    const basic = /^Basic\s+(\S+)$/i.exec(authorization ?? '');
    if (basic) {
      const [id, s] = Buffer.from(basic[1]!, 'base64').toString().split(':');
      clientId = id ?? null;
      secret = s;
    }
    const client = await this.client(clientId);
    if (!client) return json(400, { error: 'invalid_client' });
    if (client.ClientSecret && client.ClientSecret !== secret) return json(400, { error: 'invalid_client' });
    const code = form.get('code') ?? '';
    const issued = this.codes.get(hash(code));
    if (!issued || issued.expires < Date.now() || issued.clientId !== client.ClientId) return json(400, { error: 'invalid_grant' });
    if (form.get('redirect_uri') !== issued.redirectUri) return json(400, { error: 'invalid_grant' });
    if (issued.codeChallenge) {
      const verifier = form.get('code_verifier') ?? '';
      if (createHash('sha256').update(verifier).digest('base64url') !== issued.codeChallenge) return json(400, { error: 'invalid_grant' });
    }
    this.codes.delete(hash(code));
    return json(200, { ...issued.tokens, token_type: 'Bearer' });
  }
}

const hash = (code: string) => createHash('sha256').update(code).digest('hex');

function redirect(uri: string, params: Record<string, string>): Reply {
  const u = new URL(uri);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return { status: 302, headers: { location: u.toString() } };
}
