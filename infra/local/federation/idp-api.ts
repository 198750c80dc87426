import { MetadataError, fetchMetadata, parseIdpMetadata } from './metadata.js';
import { FederationStore, type StoredProvider } from './store.js';

/** An AWS JSON-protocol error, as Cognito answers it (HTTP 400, `__type` and the x-amzn-errortype header). */
export class AwsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}
const invalid = (message: string) => new AwsError('InvalidParameterException', message);

type Body = Record<string, unknown>;
/** Forward a call to cognito-local unchanged and return its JSON (AwsError on its errors). */
export type Forward = (target: string, body: Body) => Promise<Body>;

// BOTO service-2.json constraints.
const POOL_ID = /^[\w-]+_[0-9a-zA-Z]+$/;
const CREATE_NAME = /^[^_\p{Z}][\p{L}\p{M}\p{S}\p{N}\p{P}][^_\p{Z}]+$/u;
const NAME = /^[\p{L}\p{M}\p{S}\p{N}\p{P}\p{Z}]+$/u;
const IDENTIFIER = /^[\w\s+=.@-]+$/;
const PROVIDER_TYPES = ['SAML', 'Facebook', 'Google', 'LoginWithAmazon', 'SignInWithApple', 'OIDC'];
const SAML_DETAILS = ['MetadataURL', 'MetadataFile', 'IDPSignout', 'IDPInit', 'EncryptedResponses', 'RequestSigningAlgorithm'];
const MAX_PROVIDERS = 300;
const STANDARD_ATTRIBUTES = new Set([
  'address', 'birthdate', 'email', 'email_verified', 'family_name', 'gender', 'given_name', 'locale', 'middle_name', 'name',
  'nickname', 'phone_number', 'phone_number_verified', 'picture', 'preferred_username', 'profile', 'updated_at', 'website', 'zoneinfo', 'username',
]);

/** UpdateUserPoolClient's writable fields and what Cognito sets when a call omits them. */
export const CLIENT_DEFAULTS: Record<string, unknown> = {
  RefreshTokenValidity: 30,
  AccessTokenValidity: 60,
  IdTokenValidity: 60,
  TokenValidityUnits: { AccessToken: 'minutes', IdToken: 'minutes', RefreshToken: 'days' },
  ReadAttributes: undefined,
  WriteAttributes: undefined,
  ExplicitAuthFlows: ['ALLOW_REFRESH_TOKEN_AUTH', 'ALLOW_USER_SRP_AUTH', 'ALLOW_CUSTOM_AUTH'],
  SupportedIdentityProviders: undefined,
  CallbackURLs: undefined,
  LogoutURLs: undefined,
  DefaultRedirectURI: undefined,
  AllowedOAuthFlows: undefined,
  AllowedOAuthScopes: undefined,
  AllowedOAuthFlowsUserPoolClient: false,
  AnalyticsConfiguration: undefined,
  PreventUserExistenceErrors: 'LEGACY',
  EnableTokenRevocation: true,
  EnablePropagateAdditionalUserContextData: false,
  AuthSessionValidity: 3,
};
/** The OAuth fields cognito-local neither keeps nor checks: the stand-in keeps them (and validates them). */
const OAUTH_FIELDS = ['SupportedIdentityProviders', 'CallbackURLs', 'LogoutURLs', 'DefaultRedirectURI', 'AllowedOAuthFlows', 'AllowedOAuthScopes', 'AllowedOAuthFlowsUserPoolClient'];

const str = (v: unknown, field: string, opts: { min?: number; max?: number; re?: RegExp; optional?: boolean } = {}): string | undefined => {
  if (v === undefined && opts.optional) return undefined;
  if (typeof v !== 'string') throw invalid(`1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must not be null`);
  if ((opts.min !== undefined && v.length < opts.min) || (opts.max !== undefined && v.length > opts.max)) {
    throw invalid(`1 validation error detected: Value '${v}' at '${field}' failed to satisfy constraint: Member must have length between ${opts.min ?? 0} and ${opts.max}`);
  }
  if (opts.re && !opts.re.test(v)) throw invalid(`1 validation error detected: Value '${v}' at '${field}' failed to satisfy constraint: Member must satisfy regular expression pattern: ${opts.re.source}`);
  return v;
};
const stringMap = (v: unknown, field: string): Record<string, string> | undefined => {
  if (v === undefined) return undefined;
  if (!v || typeof v !== 'object' || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string')) throw invalid(`${field} must be a map of strings.`);
  return v as Record<string, string>;
};

/**
 * The identity-provider half of Cognito's API that cognito-local lacks, with Cognito's validation
 * and error names, and the OAuth fields of Describe/UpdateUserPoolClient. Data lives in the store.
 */
export class IdentityProviderApi {
  constructor(
    private readonly store: FederationStore,
    private readonly forward: Forward,
  ) {}

  /** The operations answered here; anything else goes to cognito-local. */
  handles(op: string): boolean {
    return op in this.ops;
  }

  async call(op: string, body: Body): Promise<Body> {
    return this.ops[op]!(body);
  }

  private readonly ops: Record<string, (b: Body) => Promise<Body>> = {
    CreateIdentityProvider: (b) => this.create(b),
    UpdateIdentityProvider: (b) => this.update(b),
    DescribeIdentityProvider: async (b) => ({ IdentityProvider: this.view(await this.existing(b)) }),
    DeleteIdentityProvider: (b) => this.remove(b),
    ListIdentityProviders: (b) => this.list(b),
    GetIdentityProviderByIdentifier: (b) => this.byIdentifier(b),
    DescribeUserPoolClient: (b) => this.describeClient(b),
    UpdateUserPoolClient: (b) => this.updateClient(b),
    CreateUserPoolClient: (b) => this.createClient(b),
  };

  private async pool(b: Body): Promise<{ id: string; customAttributes: Set<string> }> {
    const id = str(b.UserPoolId, 'userPoolId', { min: 1, max: 55, re: POOL_ID })!;
    let described: Body;
    try {
      described = await this.forward('DescribeUserPool', { UserPoolId: id });
    } catch (err) {
      if (err instanceof AwsError && err.type === 'ResourceNotFoundException') throw new AwsError('ResourceNotFoundException', `User pool ${id} does not exist.`);
      throw err;
    }
    const schema = ((described.UserPool as Body | undefined)?.SchemaAttributes ?? []) as { Name?: string }[];
    return { id, customAttributes: new Set(schema.map((s) => s.Name ?? '').filter((n) => n.startsWith('custom:'))) };
  }

  private async existing(b: Body): Promise<StoredProvider> {
    const { id } = await this.pool(b);
    const name = str(b.ProviderName, 'providerName', { min: 1, max: 32, re: NAME })!;
    const p = this.store.provider(id, name);
    if (!p) throw new AwsError('ResourceNotFoundException', `Identity provider ${name} does not exist.`);
    return p;
  }

  /** What Describe answers: the stored fields plus Cognito's read-only details. */
  private view(p: StoredProvider): Body {
    const { metadata, ...rest } = p;
    const details = { ...p.ProviderDetails };
    if (metadata?.ssoRedirect) details.SSORedirectBindingURI = metadata.ssoRedirect;
    if (metadata?.ssoPost) details.SSOPostBindingURI = metadata.ssoPost;
    if (metadata?.sloRedirect) details.SLORedirectBindingURI = metadata.sloRedirect;
    return { ...rest, ProviderDetails: details };
  }

  private async checkDetails(type: string, details: Record<string, string>): Promise<StoredProvider['metadata']> {
    if (type !== 'SAML') return undefined;
    for (const k of Object.keys(details)) if (!SAML_DETAILS.includes(k)) throw invalid(`Unsupported SAML provider detail: ${k}.`);
    const { MetadataURL: url, MetadataFile: file } = details;
    if (!url === !file) throw invalid('Exactly one of MetadataURL and MetadataFile is required for a SAML provider.');
    for (const flag of ['IDPSignout', 'IDPInit', 'EncryptedResponses']) {
      if (details[flag] !== undefined && !['true', 'false'].includes(details[flag]!)) throw invalid(`${flag} must be "true" or "false".`);
    }
    if (details.EncryptedResponses === 'true') throw invalid('EncryptedResponses is not supported by the local stand-in.');
    if (url && !/^https?:\/\//.test(url)) throw invalid('MetadataURL must be an http(s) URL.');
    try {
      return await parseIdpMetadata(file ?? (await fetchMetadata(url!)));
    } catch (err) {
      if (err instanceof MetadataError) throw invalid(err.message);
      throw err;
    }
  }

  private checkMapping(mapping: Record<string, string> | undefined, custom: Set<string>) {
    for (const [attr, claim] of Object.entries(mapping ?? {})) {
      str(attr, 'attributeMapping.key', { min: 1, max: 32 });
      str(claim, 'attributeMapping.value', { min: 0, max: 131_072 });
      if (attr.startsWith('custom:') ? !custom.has(attr) : !STANDARD_ATTRIBUTES.has(attr)) {
        throw invalid(`Attribute ${attr} is not a user pool attribute.`);
      }
    }
  }

  private checkIdentifiers(pool: string, name: string, ids: unknown): string[] | undefined {
    if (ids === undefined) return undefined;
    if (!Array.isArray(ids) || ids.length > 50) throw invalid("1 validation error detected: Value at 'idpIdentifiers' failed to satisfy constraint: Member must have length less than or equal to 50");
    for (const id of ids) str(id, 'idpIdentifiers.member', { min: 1, max: 40, re: IDENTIFIER });
    if (new Set(ids.map((i: string) => i.toLowerCase())).size !== ids.length) throw invalid('Duplicate identifiers in IdpIdentifiers.');
    for (const other of this.store.providers(pool)) {
      if (other.ProviderName === name) continue;
      const clash = other.IdpIdentifiers.find((i) => ids.some((x: string) => x.toLowerCase() === i.toLowerCase()));
      if (clash) throw invalid(`Identifier ${clash} is already used by identity provider ${other.ProviderName}.`);
    }
    return ids as string[];
  }

  private async create(b: Body): Promise<Body> {
    const pool = await this.pool(b);
    const name = str(b.ProviderName, 'providerName', { min: 1, max: 32, re: CREATE_NAME })!;
    const type = str(b.ProviderType, 'providerType')!;
    if (!PROVIDER_TYPES.includes(type)) throw invalid(`1 validation error detected: Value '${type}' at 'providerType' failed to satisfy constraint: Member must satisfy enum value set: [${PROVIDER_TYPES.join(', ')}]`);
    if (this.store.provider(pool.id, name)) throw new AwsError('DuplicateProviderException', `A provider with the name ${name} already exists in this user pool.`);
    if (this.store.providers(pool.id).length >= MAX_PROVIDERS) throw new AwsError('LimitExceededException', `The user pool has the most identity providers allowed (${MAX_PROVIDERS}).`);
    const details = stringMap(b.ProviderDetails, 'ProviderDetails');
    if (!details) throw invalid("1 validation error detected: Value at 'providerDetails' failed to satisfy constraint: Member must not be null");
    const mapping = stringMap(b.AttributeMapping, 'AttributeMapping');
    this.checkMapping(mapping, pool.customAttributes);
    const identifiers = this.checkIdentifiers(pool.id, name, b.IdpIdentifiers) ?? [];
    const metadata = await this.checkDetails(type, details);
    const now = Date.now() / 1000;
    const p: StoredProvider = { UserPoolId: pool.id, ProviderName: name, ProviderType: type, ProviderDetails: details, AttributeMapping: mapping ?? {}, IdpIdentifiers: identifiers, CreationDate: now, LastModifiedDate: now, metadata };
    this.store.change((d) => (d.providers[FederationStore.providerKey(pool.id, name)] = p));
    return { IdentityProvider: this.view(p) };
  }

  private async update(b: Body): Promise<Body> {
    const current = await this.existing(b);
    const pool = await this.pool(b);
    const details = stringMap(b.ProviderDetails, 'ProviderDetails');
    const mapping = stringMap(b.AttributeMapping, 'AttributeMapping');
    this.checkMapping(mapping, pool.customAttributes);
    const identifiers = this.checkIdentifiers(pool.id, current.ProviderName, b.IdpIdentifiers);
    const metadata = details ? await this.checkDetails(current.ProviderType, details) : current.metadata;
    const p: StoredProvider = {
      ...current,
      ...(details ? { ProviderDetails: details } : {}),
      ...(mapping ? { AttributeMapping: mapping } : {}),
      ...(identifiers ? { IdpIdentifiers: identifiers } : {}),
      metadata,
      LastModifiedDate: Date.now() / 1000,
    };
    this.store.change((d) => (d.providers[FederationStore.providerKey(pool.id, current.ProviderName)] = p));
    return { IdentityProvider: this.view(p) };
  }

  private async remove(b: Body): Promise<Body> {
    const p = await this.existing(b);
    this.store.change((d) => delete d.providers[FederationStore.providerKey(p.UserPoolId, p.ProviderName)]);
    return {};
  }

  private async list(b: Body): Promise<Body> {
    const pool = await this.pool(b);
    const max = b.MaxResults === undefined ? 60 : Number(b.MaxResults);
    if (!Number.isInteger(max) || max < 0 || max > 60) throw invalid("1 validation error detected: Value at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 60");
    const all = this.store.providers(pool.id).sort((x, y) => x.CreationDate - y.CreationDate || x.ProviderName.localeCompare(y.ProviderName));
    const start = b.NextToken === undefined ? 0 : Number(Buffer.from(String(b.NextToken), 'base64url').toString());
    if (!Number.isInteger(start) || start < 0) throw invalid('Invalid NextToken.');
    const page = all.slice(start, start + max);
    const next = start + max < all.length ? Buffer.from(String(start + max)).toString('base64url') : undefined;
    return { Providers: page.map((p) => ({ ProviderName: p.ProviderName, ProviderType: p.ProviderType, CreationDate: p.CreationDate, LastModifiedDate: p.LastModifiedDate })), ...(next ? { NextToken: next } : {}) };
  }

  private async byIdentifier(b: Body): Promise<Body> {
    const pool = await this.pool(b);
    const id = str(b.IdpIdentifier, 'idpIdentifier', { min: 1, max: 40, re: IDENTIFIER })!.toLowerCase();
    const p = this.store.providers(pool.id).find((x) => x.IdpIdentifiers.some((i) => i.toLowerCase() === id));
    if (!p) throw new AwsError('ResourceNotFoundException', `No identity provider has the identifier ${id}.`);
    return { IdentityProvider: this.view(p) };
  }

  /** cognito-local's view of the client with the fields it does not keep laid over it. */
  private async describeClient(b: Body): Promise<Body> {
    const out = await this.forward('DescribeUserPoolClient', b);
    const client = out.UserPoolClient as Body;
    const kept = this.store.data.clients[String(client.ClientId)];
    // Absent fields are kept as null (JSON has no undefined): Describe omits them, as Cognito does.
    const merged: Body = { ...client, ...kept };
    for (const [k, v] of Object.entries(merged)) if (v === null) delete merged[k];
    return { UserPoolClient: merged };
  }

  /** The OAuth checks Cognito makes on a client's configuration. */
  private async checkOAuth(pool: string, fields: Body) {
    const list = (k: string) => {
      const v = fields[k];
      if (v === undefined || v === null) return [];
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw invalid(`${k} must be a list of strings.`);
      return v as string[];
    };
    for (const p of list('SupportedIdentityProviders')) {
      if (p !== 'COGNITO' && !this.store.provider(pool, p)) throw invalid(`The provider ${p} does not exist for User Pool ${pool}`);
    }
    for (const url of [...list('CallbackURLs'), ...list('LogoutURLs')]) {
      let u: URL;
      try {
        u = new URL(url);
      } catch {
        throw invalid(`${url} is not a valid URL.`);
      }
      if (u.hash) throw invalid(`${url}: a callback URL cannot have a fragment.`);
      // Cognito allows http only for localhost; the local runtime listens on 127.0.0.1 too.
      if (u.protocol !== 'https:' && !(u.protocol === 'http:' && ['localhost', '127.0.0.1'].includes(u.hostname))) throw invalid(`${url}: callback URLs must use HTTPS (http is allowed for localhost only).`);
    }
    if (list('CallbackURLs').length > 100) throw invalid('CallbackURLs has more than 100 URLs.');
    for (const f of list('AllowedOAuthFlows')) if (!['code', 'implicit', 'client_credentials'].includes(f)) throw invalid(`Unknown OAuth flow ${f}.`);
    if (fields.AllowedOAuthFlowsUserPoolClient === true) {
      if (!list('AllowedOAuthFlows').length) throw invalid('AllowedOAuthFlows are required when AllowedOAuthFlowsUserPoolClient is true.');
      if (!list('AllowedOAuthScopes').length) throw invalid('AllowedOAuthScopes are required when AllowedOAuthFlowsUserPoolClient is true.');
      if (list('AllowedOAuthFlows').some((f) => f !== 'client_credentials') && !list('CallbackURLs').length) throw invalid('CallbackURLs are required for the code and implicit flows.');
    }
    const dflt = fields.DefaultRedirectURI;
    if (dflt !== undefined && dflt !== null && !list('CallbackURLs').includes(String(dflt))) throw invalid('DefaultRedirectURI must be one of the CallbackURLs.');
  }

  /** Cognito sets every writable field the call omits to its default (cognito-local merges instead). */
  private async updateClient(b: Body): Promise<Body> {
    await this.forward('DescribeUserPoolClient', { UserPoolId: b.UserPoolId, ClientId: b.ClientId });
    const full: Body = {};
    for (const [k, v] of Object.entries(CLIENT_DEFAULTS)) full[k] = b[k] ?? v ?? null;
    await this.checkOAuth(String(b.UserPoolId), full);
    const forwarded = Object.fromEntries(Object.entries(full).filter(([k, v]) => !OAUTH_FIELDS.includes(k) && v !== null));
    await this.forward('UpdateUserPoolClient', { UserPoolId: b.UserPoolId, ClientId: b.ClientId, ...(b.ClientName !== undefined ? { ClientName: b.ClientName } : {}), ...forwarded });
    this.store.change((d) => (d.clients[String(b.ClientId)] = full));
    return this.describeClient({ UserPoolId: b.UserPoolId, ClientId: b.ClientId });
  }

  private async createClient(b: Body): Promise<Body> {
    const oauth = Object.fromEntries(OAUTH_FIELDS.filter((k) => b[k] !== undefined).map((k) => [k, b[k]]));
    await this.checkOAuth(String(b.UserPoolId), oauth);
    const out = await this.forward('CreateUserPoolClient', Object.fromEntries(Object.entries(b).filter(([k]) => !OAUTH_FIELDS.includes(k))));
    const id = String((out.UserPoolClient as Body).ClientId);
    this.store.change((d) => (d.clients[id] = { ...Object.fromEntries(OAUTH_FIELDS.map((k) => [k, CLIENT_DEFAULTS[k] ?? null])), ...oauth }));
    return this.describeClient({ UserPoolId: b.UserPoolId, ClientId: id });
  }
}
