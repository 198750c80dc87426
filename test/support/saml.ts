/**
 * SAML test material: self-signed certificates made by the system's openssl (real X.509, chosen
 * validity) and IdP metadata documents around them.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AdminGetUserCommand,
  CognitoIdentityProviderClient,
  CreateIdentityProviderCommand,
  DescribeUserPoolClientCommand,
  ListUsersCommand,
  UpdateUserPoolClientCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { localCognitoClient } from '../../infra/local/cognito.js';
import { type ResponseSpec, buildResponse, signResponse } from '../../infra/local/federation/idp-response.js';
import { type KeyPair, certBody, selfSigned } from '../../infra/local/federation/x509.js';
import type { Roster } from '../../infra/local/runtime.js';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { Db } from '../../lib/core/db.js';

export interface TestCert {
  certPem: string;
  keyPem: string;
  /** The certificate's DER, base64 (what metadata's X509Certificate holds). */
  b64: string;
}

/** A self-signed RSA certificate valid from now for `days` days. */
export function selfSignedCert(days = 365, cn = 'idp.example.com'): TestCert {
  const dir = mkdtempSync(join(tmpdir(), 'saml-cert-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', String(days), '-subj', `/CN=${cn}`], { stdio: 'ignore' });
    const certPem = readFileSync(join(dir, 'c.pem'), 'utf8');
    return { certPem, keyPem: readFileSync(join(dir, 'k.pem'), 'utf8'), b64: certPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface MetadataOptions {
  entityId?: string;
  ssoUrl?: string;
  /** Certificates and their KeyDescriptor use (default signing). */
  certs?: { b64: string; use?: 'signing' | 'encryption' | null }[];
  /** SPSSODescriptor instead of IDPSSODescriptor (an SP's metadata pasted by mistake). */
  sp?: boolean;
}

export function idpMetadata(o: MetadataOptions = {}): string {
  const entityId = o.entityId ?? 'https://idp.example.com/metadata';
  const descriptor = o.sp ? 'SPSSODescriptor' : 'IDPSSODescriptor';
  const keys = (o.certs ?? [])
    .map((c) => `<md:KeyDescriptor${c.use === null ? '' : ` use="${c.use ?? 'signing'}"`}><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${c.b64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`)
    .join('');
  const sso = o.sp ? '' : `<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${o.ssoUrl ?? 'https://idp.example.com/sso'}"/>`;
  return `<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="${entityId}">
  <md:${descriptor} protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">${keys}<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>${sso}</md:${descriptor}>
</md:EntityDescriptor>`;
}

// The local SP: a test IdP signing responses, and the hosted flow over HTTP.
type Pool = Roster['cognito'];

/** A test IdP: its own key and certificate, metadata, and responses it signs. */
export class TestIdp {
  readonly key: KeyPair;
  constructor(
    readonly entityId: string,
    key?: KeyPair,
  ) {
    this.key = key ?? selfSigned(entityId);
  }
  metadata(certs: string[] = [this.key.cert]): string {
    const keys = certs.map((c) => `<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>${certBody(c)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`).join('');
    return (
      `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="${this.entityId}"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">${keys}` +
      `<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.test/${encodeURIComponent(this.entityId)}/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>`
    );
  }
  /** A response for `pool`, signed (assertion and response) unless told otherwise. */
  response(pool: Pool, spec: Partial<ResponseSpec> & Pick<ResponseSpec, 'nameId' | 'attributes'>, sign: { assertion?: boolean; response?: boolean; key?: KeyPair } = {}): string {
    const xml = buildResponse({ issuer: this.entityId, destination: `${pool.endpoint}/saml2/idpresponse`, audience: `urn:amazon:cognito:sp:${pool.userPoolId}`, ...spec });
    const signed = sign.assertion === false && sign.response === false ? xml : signResponse(xml, sign.key ?? this.key, { assertion: sign.assertion, response: sign.response });
    return Buffer.from(signed).toString('base64');
  }
}

export const cognito = (pool: Pool): CognitoIdentityProviderClient => localCognitoClient(pool.endpoint);

/** A SAML provider in the pool (CreateIdentityProvider, as the settings service makes it) enabled on the SSO client. */
export async function addProvider(pool: Pool, name: string, idp: TestIdp, opts: { identifiers?: string[]; idpInit?: boolean; mapping?: Record<string, string> } = {}) {
  const c = cognito(pool);
  try {
    await c.send(
      new CreateIdentityProviderCommand({
        UserPoolId: pool.userPoolId,
        ProviderName: name,
        ProviderType: 'SAML',
        ProviderDetails: { MetadataFile: idp.metadata(), IDPInit: opts.idpInit ? 'true' : 'false' },
        AttributeMapping: opts.mapping ?? { email: 'Email', given_name: 'FirstName', family_name: 'LastName', 'custom:groups': 'Groups' },
        IdpIdentifiers: opts.identifiers ?? [],
      }),
    );
    await enableOnSsoClient(c, pool, name);
  } finally {
    c.destroy();
  }
}

/** Describe → Update with the whole configuration written back (UpdateUserPoolClient resets what it is not given). */
export async function enableOnSsoClient(c: CognitoIdentityProviderClient, pool: Pool, name: string) {
  const { UserPoolClient: cur } = await c.send(new DescribeUserPoolClientCommand({ UserPoolId: pool.userPoolId, ClientId: pool.ssoClientId }));
  const { ClientSecret: _s, CreationDate: _c, LastModifiedDate: _l, ...writable } = cur!;
  await c.send(new UpdateUserPoolClientCommand({ ...writable, UserPoolId: pool.userPoolId, ClientId: pool.ssoClientId, SupportedIdentityProviders: [...new Set([...(cur!.SupportedIdentityProviders ?? []), name])] }));
}

export function loginUrl(pool: Pool, provider: string, state = 'st-1'): string {
  const q = new URLSearchParams({ identity_provider: provider, response_type: 'code', client_id: pool.ssoClientId, redirect_uri: pool.callbackUrl, scope: 'openid email profile', state });
  return `${pool.endpoint}/oauth2/authorize?${q}`;
}

/** SP-initiated: GET /oauth2/authorize → the IdP's URL with the AuthnRequest; returns its ID and the RelayState. */
export async function startSignIn(pool: Pool, provider: string, state?: string): Promise<{ requestId: string; relayState: string }> {
  const res = await fetch(loginUrl(pool, provider, state), { redirect: 'manual' });
  if (res.status !== 302) throw new Error(`authorize answered ${res.status}: ${await res.text()}`);
  const to = new URL(res.headers.get('location')!);
  const { inflateRawSync } = await import('node:zlib');
  const request = inflateRawSync(Buffer.from(to.searchParams.get('SAMLRequest')!, 'base64')).toString();
  return { requestId: /ID="([^"]+)"/.exec(request)![1]!, relayState: to.searchParams.get('RelayState')! };
}

/** POST the response to the ACS as a browser would. */
export async function postResponse(pool: Pool, samlResponse: string, relayState: string) {
  const res = await fetch(`${pool.endpoint}/saml2/idpresponse`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ SAMLResponse: samlResponse, RelayState: relayState }) });
  return { status: res.status, location: res.headers.get('location') ?? undefined, text: await res.text() };
}

/** Redeem the code from the callback redirect at /oauth2/token. */
export async function redeem(pool: Pool, location: string): Promise<{ access_token: string; id_token: string }> {
  const code = new URL(location).searchParams.get('code');
  if (!code) throw new Error(`no code in ${location}`);
  const res = await fetch(`${pool.endpoint}/oauth2/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'authorization_code', code, client_id: pool.ssoClientId, redirect_uri: pool.callbackUrl }) });
  if (res.status !== 200) throw new Error(`token answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as { access_token: string; id_token: string };
}

/** The whole SP-initiated sign-in over HTTP; the access token. */
export async function signInOverHttp(pool: Pool, provider: string, idp: TestIdp, spec: Omit<Parameters<TestIdp['response']>[1], 'inResponseTo'>): Promise<string> {
  const { requestId, relayState } = await startSignIn(pool, provider);
  const r = await postResponse(pool, idp.response(pool, { ...spec, inResponseTo: requestId }), relayState);
  if (r.status !== 302) throw new Error(`idpresponse answered ${r.status}: ${r.text}`);
  return (await redeem(pool, r.location!)).access_token;
}

/** A user's attributes in cognito-local, or undefined when there is no such user. */
export async function poolUser(pool: Pool, username: string): Promise<Record<string, string> | undefined> {
  const c = cognito(pool);
  try {
    const u = await c.send(new AdminGetUserCommand({ UserPoolId: pool.userPoolId, Username: username }));
    return Object.fromEntries((u.UserAttributes ?? []).map((a) => [a.Name!, a.Value ?? '']));
  } catch (err) {
    if ((err as Error).name === 'UserNotFoundException') return undefined;
    throw err;
  } finally {
    c.destroy();
  }
}

export async function poolUsernames(pool: Pool): Promise<string[]> {
  const c = cognito(pool);
  try {
    return ((await c.send(new ListUsersCommand({ UserPoolId: pool.userPoolId }))).Users ?? []).map((u) => u.Username!);
  } finally {
    c.destroy();
  }
}

export const decodeJwt = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Record<string, any>;

/**
 * Keys of the items a sign-in makes of a person: users, email claims, memberships, assignments and
 * sessions (security events). Not InboundFederation's 15-minute note of whether the groups attribute
 * came (SAMLSIGNIN#…): that trigger runs before Cognito maps attributes, so a sign-in refused at the
 * mapping (a value over 2,048 characters) leaves it, in AWS as here.
 */
export async function identityItems(db: Db): Promise<string[]> {
  const out: string[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await db.doc.send(new ScanCommand({ TableName: db.table, ExclusiveStartKey: start, ConsistentRead: true }));
    for (const i of page.Items ?? []) {
      if (['user', 'email', 'membership', 'workspace_member', 'project_member', 'idp_assignment', 'security_event'].includes(String(i.type))) out.push(`${i.PK} ${i.SK}`);
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return out.sort();
}
