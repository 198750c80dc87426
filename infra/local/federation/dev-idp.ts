import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { parseDomFromString } from '@node-saml/node-saml/lib/xml.js';
import { escapeHtml, type Reply } from './hosted.js';
import { buildResponse, signResponse } from './idp-response.js';
import { type KeyPair, certBody, selfSigned } from './x509.js';

export interface DevIdpOptions {
  /** This server's base URL; the IdP lives under /dev/idp. */
  base: string;
  dataDir: string;
  /** Where responses go (Cognito's ACS) and the audience they name (the pool's SP entity id). */
  acs: string;
  audience: string;
  /** The SSO app client and its callback, for IdP-initiated sign-ins. */
  clientId: string;
  callbackUrl: string;
}

const page = (title: string, body: string): Reply => ({
  status: 200,
  headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' },
  body: `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>body{font:15px system-ui;margin:2em;max-width:40em}label{display:block;margin:.6em 0}input,textarea{width:100%;font:inherit}</style></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`,
});
const hidden = (name: string, value: string) => `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`;

/**
 * A development SAML IdP: metadata, a page to choose who signs in (email, names, groups), and
 * signed responses (assertion and response, RSA-SHA256) for SP-initiated (an AuthnRequest by the
 * HTTP-Redirect binding) and IdP-initiated sign-ins. It signs whatever is typed: local use only.
 * Attribute names are LSE's defaults: Email, FirstName, LastName, Groups (one value per group;
 * an empty groups field sends no Groups attribute at all, as IdPs do for a user in no group).
 */
export class DevIdp {
  readonly entityId: string;
  private readonly key: KeyPair;

  constructor(private readonly o: DevIdpOptions) {
    this.entityId = `${o.base}/dev/idp`;
    const file = join(o.dataDir, 'dev-idp-key.json');
    if (existsSync(file)) this.key = JSON.parse(readFileSync(file, 'utf8')) as KeyPair;
    else {
      this.key = selfSigned('Roster dev IdP');
      writeFileSync(file, JSON.stringify(this.key), { mode: 0o600 });
    }
  }

  get metadataUrl() {
    return `${this.entityId}/metadata`;
  }

  metadata(): string {
    const sso = `${this.entityId}/sso`;
    return (
      `<?xml version="1.0"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="${escapeHtml(this.entityId)}">` +
      `<md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">` +
      `<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>${certBody(this.key.cert)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>` +
      `<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>` +
      `<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${escapeHtml(sso)}"/>` +
      `<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${escapeHtml(sso)}"/>` +
      `</md:IDPSSODescriptor></md:EntityDescriptor>`
    );
  }

  async handle(method: string, path: string, q: URLSearchParams): Promise<Reply | undefined> {
    const sub = path.slice('/dev/idp'.length) || '/';
    if (method === 'GET' && sub === '/metadata') return { status: 200, headers: { 'content-type': 'application/samlmetadata+xml' }, body: this.metadata() };
    if (method === 'GET' && sub === '/') return this.form({ provider: q.get('provider') ?? '' });
    if (method === 'GET' && sub === '/sso') return this.fromRequest(q);
    if (method === 'POST' && sub === '/sso') return this.respond(q);
    return undefined;
  }

  /** SP-initiated: the AuthnRequest (deflated, base64) names its ID and ACS; the person is chosen next. */
  private async fromRequest(q: URLSearchParams): Promise<Reply> {
    const raw = q.get('SAMLRequest');
    if (!raw) return { status: 400, headers: { 'content-type': 'text/plain' }, body: 'SAMLRequest is required.' };
    let id: string | null;
    let acs: string | null;
    try {
      const doc = await parseDomFromString(inflateRawSync(Buffer.from(raw, 'base64')).toString('utf8'));
      id = doc.documentElement.getAttribute('ID');
      acs = doc.documentElement.getAttribute('AssertionConsumerServiceURL');
    } catch {
      return { status: 400, headers: { 'content-type': 'text/plain' }, body: 'SAMLRequest is not a deflated, base64-encoded AuthnRequest.' };
    }
    if (!id) return { status: 400, headers: { 'content-type': 'text/plain' }, body: 'The AuthnRequest has no ID.' };
    if (acs && acs !== this.o.acs) return { status: 400, headers: { 'content-type': 'text/plain' }, body: `The dev IdP answers the local user pool only (${this.o.acs}), not ${acs}.` };
    return this.form({ requestId: id, relayState: q.get('RelayState') ?? '' });
  }

  private form(f: { requestId?: string; relayState?: string; provider?: string }): Reply {
    const idpInitiated = f.requestId === undefined;
    return page(
      'Roster dev IdP: who signs in?',
      `<form method="post" action="${escapeHtml(this.entityId)}/sso">` +
        (idpInitiated
          ? `<p>IdP-initiated sign-in (the identity provider must have IDPInit on).</p><label>Provider name <input id="provider" name="provider" required value="${escapeHtml(f.provider ?? '')}"></label>`
          : hidden('request_id', f.requestId!) + hidden('relay_state', f.relayState ?? '')) +
        `<label>Email <input id="email" name="email" type="email" required></label>` +
        `<label>First name <input id="first_name" name="first_name"></label>` +
        `<label>Last name <input id="last_name" name="last_name"></label>` +
        `<label>Groups (one per line; empty sends no Groups attribute) <textarea id="groups" name="groups" rows="4"></textarea></label>` +
        `<button id="sign-in" type="submit">Sign in</button></form>`,
    );
  }

  /** The signed response, posted to the ACS by the browser (HTTP-POST binding). */
  private respond(q: URLSearchParams): Reply {
    const email = (q.get('email') ?? '').trim();
    if (!email) return { status: 400, headers: { 'content-type': 'text/plain' }, body: 'email is required.' };
    const groups = (q.get('groups') ?? '').split(/[\r\n]+/).map((g) => g.trim()).filter(Boolean);
    const attributes: Record<string, string | string[]> = { Email: email };
    if (q.get('first_name')) attributes.FirstName = q.get('first_name')!;
    if (q.get('last_name')) attributes.LastName = q.get('last_name')!;
    if (groups.length) attributes.Groups = groups;
    const requestId = q.get('request_id') ?? undefined;
    let relayState = q.get('relay_state') ?? '';
    if (!requestId) {
      const provider = (q.get('provider') ?? '').trim();
      if (!provider) return { status: 400, headers: { 'content-type': 'text/plain' }, body: 'provider is required for an IdP-initiated sign-in.' };
      relayState = new URLSearchParams({ identity_provider: provider, client_id: this.o.clientId, redirect_uri: this.o.callbackUrl, response_type: 'code', scope: 'openid email profile' }).toString();
    }
    const xml = signResponse(
      buildResponse({ issuer: this.entityId, destination: this.o.acs, audience: this.o.audience, inResponseTo: requestId, nameId: email.toLowerCase(), attributes }),
      this.key,
    );
    return page(
      'Signing in…',
      `<form id="saml-post" method="post" action="${escapeHtml(this.o.acs)}">${hidden('SAMLResponse', Buffer.from(xml).toString('base64'))}${hidden('RelayState', relayState)}<button type="submit">Continue</button></form>` +
        `<script>document.getElementById('saml-post').submit()</script>`,
    );
  }
}
