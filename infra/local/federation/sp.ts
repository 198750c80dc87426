import { SAML, ValidateInResponseTo } from '@node-saml/node-saml';
import { parseDomFromString, xpath } from '@node-saml/node-saml/lib/xml.js';
import { type AuthSession, type FederationStore, REQUEST_TTL_MS, type StoredProvider } from './store.js';
import { samlId } from './idp-response.js';
import { certPem } from './x509.js';

/** A SAML response Cognito refuses: the sign-in fails with this message (HTTP 400, nothing written). */
export class SignInError extends Error {}

/** Cognito's SP values for a user pool (what an IdP administrator enters). */
export const spEntityId = (userPoolId: string) => `urn:amazon:cognito:sp:${userPoolId}`;
export const acsUrl = (domain: string) => `${domain}/saml2/idpresponse`;

/** Cognito accepts SAML responses of at most 100,000 characters. */
const MAX_RESPONSE = 100_000;
/** Clock skew allowed on NotBefore / NotOnOrAfter. */
const SKEW_MS = 60_000;

function samlFor(p: StoredProvider, sp: { userPoolId: string; domain: string }, store: FederationStore, responseSigned: boolean, requestId?: string) {
  return new SAML({
    ...(requestId ? { generateUniqueId: () => requestId } : {}),
    idpCert: p.metadata!.certs.map(certPem),
    issuer: spEntityId(sp.userPoolId),
    audience: spEntityId(sp.userPoolId),
    callbackUrl: acsUrl(sp.domain),
    entryPoint: p.metadata!.ssoRedirect ?? p.metadata!.ssoPost,
    identifierFormat: null,
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: responseSigned,
    validateInResponseTo: ValidateInResponseTo.ifPresent,
    requestIdExpirationPeriodMs: REQUEST_TTL_MS,
    acceptedClockSkewMs: SKEW_MS,
    cacheProvider: store.cacheProvider(),
  });
}

/** The SP-initiated AuthnRequest: the IdP URL to send the browser to (Redirect binding) and its ID. */
export async function authnRequestUrl(p: StoredProvider, sp: { userPoolId: string; domain: string }, store: FederationStore, relayState: string): Promise<{ url: string; requestId: string }> {
  if (!p.metadata?.ssoRedirect) throw new SignInError(`Identity provider ${p.ProviderName} has no HTTP-Redirect SingleSignOnService.`);
  // node-saml records the id in the store (its cache provider) for InResponseTo.
  const requestId = samlId();
  const url = await samlFor(p, sp, store, false, requestId).getAuthorizeUrlAsync(relayState, undefined, {});
  return { url, requestId };
}

export interface Assertion {
  nameId: string;
  issuer: string;
  /** Attribute name → its values, in document order. */
  attributes: Record<string, string[]>;
}

type XmlElement = ReturnType<typeof xpath.selectElements>[number];
const attr = (el: XmlElement | undefined, name: string) => el?.getAttribute(name) ?? undefined;

/**
 * Validate a SAML response as Cognito does before it maps anything: size, the signatures (the
 * assertion's always, the response's whenever it has one: node-saml ≥ 5.1 follows only what the
 * signatures reference), issuer = the metadata's entity id, audience = the pool's SP entity id,
 * Destination and Recipient = the ACS URL, the validity window, InResponseTo = the pending
 * AuthnRequest (SP-initiated) or none (IdP-initiated, only when the provider allows IDPInit), and
 * one use per assertion ID.
 */
export async function validateResponse(
  encoded: string,
  p: StoredProvider,
  sp: { userPoolId: string; domain: string },
  store: FederationStore,
  session: AuthSession | undefined,
): Promise<Assertion> {
  if (encoded.length > MAX_RESPONSE) throw new SignInError(`The SAML response is longer than ${MAX_RESPONSE.toLocaleString('en')} characters.`);
  if (!p.metadata) throw new SignInError(`Identity provider ${p.ProviderName} is not a SAML provider.`);
  const xml = Buffer.from(encoded, 'base64').toString('utf8');
  let doc: Awaited<ReturnType<typeof parseDomFromString>>;
  try {
    doc = await parseDomFromString(xml);
  } catch {
    throw new SignInError('The SAML response is not well-formed XML.');
  }
  const root = doc.documentElement;
  if (root.localName !== 'Response') throw new SignInError('The SAMLResponse is not a SAML Response.');
  const responseSigned = xpath.selectElements(root, "*[local-name()='Signature']").length > 0;
  const inResponseTo = attr(root, 'InResponseTo');
  if (session?.requestId) {
    if (inResponseTo !== session.requestId) throw new SignInError('The SAML response does not answer this sign-in request (InResponseTo).');
  } else {
    if (inResponseTo) throw new SignInError('The SAML response answers a sign-in request that is not pending (InResponseTo).');
    if (p.ProviderDetails.IDPInit !== 'true') throw new SignInError(`IdP-initiated sign-in is not enabled for identity provider ${p.ProviderName}.`);
  }

  let profile: Awaited<ReturnType<SAML['validatePostResponseAsync']>>['profile'];
  try {
    ({ profile } = await samlFor(p, sp, store, responseSigned).validatePostResponseAsync({ SAMLResponse: encoded }));
  } catch (err) {
    const m = (err as Error).message;
    // node-saml names a bearer confirmation outside its NotBefore/NotOnOrAfter window vaguely.
    const why = /no valid subject confirmation/i.test(m) ? 'the assertion is expired or not yet valid (SubjectConfirmationData NotBefore/NotOnOrAfter)' : m;
    throw new SignInError(`Invalid SAML response: ${why}.`);
  }
  if (!profile?.nameID) throw new SignInError('Invalid SAML response: the assertion has no NameID.');

  // What node-saml leaves to the SP: read from the signed assertion (and the signed response root).
  const assertionDoc = await parseDomFromString(profile.getAssertionXml!());
  const assertion = assertionDoc.documentElement;
  const issuer = xpath.selectElements(assertion, "*[local-name()='Issuer']")[0]?.textContent?.trim();
  if (issuer !== p.metadata.entityId) throw new SignInError(`Invalid SAML response: the issuer ${issuer ?? '(none)'} is not the identity provider's entity id ${p.metadata.entityId}.`);
  const acs = acsUrl(sp.domain);
  const destination = attr(root, 'Destination');
  if (destination !== acs) throw new SignInError(`Invalid SAML response: Destination ${destination ?? '(none)'} is not ${acs}.`);
  const confirmations = xpath.selectElements(assertion, "*[local-name()='Subject']/*[local-name()='SubjectConfirmation']/*[local-name()='SubjectConfirmationData']");
  if (!confirmations.length) throw new SignInError('Invalid SAML response: the assertion has no SubjectConfirmationData.');
  for (const c of confirmations) {
    if (attr(c, 'Recipient') !== acs) throw new SignInError(`Invalid SAML response: Recipient ${attr(c, 'Recipient') ?? '(none)'} is not ${acs}.`);
    if ((attr(c, 'InResponseTo') ?? undefined) !== inResponseTo) throw new SignInError('Invalid SAML response: the subject confirmation answers another request (InResponseTo).');
  }

  const id = attr(assertion, 'ID');
  if (!id) throw new SignInError('Invalid SAML response: the assertion has no ID.');
  const key = `${p.metadata.entityId} ${id}`;
  if (store.data.assertions[key]) throw new SignInError('Invalid SAML response: this assertion was used already (replay).');
  const until = Date.parse(attr(xpath.selectElements(assertion, "*[local-name()='Conditions']")[0], 'NotOnOrAfter') ?? '');
  store.change((d) => (d.assertions[key] = (Number.isFinite(until) ? until : Date.now()) + SKEW_MS + REQUEST_TTL_MS));

  const attributes: Record<string, string[]> = {};
  for (const a of xpath.selectElements(assertion, "*[local-name()='AttributeStatement']/*[local-name()='Attribute']")) {
    const name = a.getAttribute('Name');
    if (!name) continue;
    const values = xpath.selectElements(a, "*[local-name()='AttributeValue']").map((v) => v.textContent ?? '');
    attributes[name] = [...(attributes[name] ?? []), ...values];
  }
  return { nameId: profile.nameID, issuer, attributes };
}
