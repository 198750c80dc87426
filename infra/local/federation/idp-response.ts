import { randomBytes } from 'node:crypto';
import { SignedXml } from 'xml-crypto';

/**
 * A SAML 2.0 Response as an IdP sends it (HTTP-POST binding), for the dev IdP and for tests that
 * need to bend one field at a time. Signed with xml-crypto: the assertion, then the response.
 */
export interface ResponseSpec {
  issuer: string;
  /** Response@Destination: the SP's ACS URL. */
  destination: string;
  /** SubjectConfirmationData@Recipient (defaults to destination). */
  recipient?: string;
  /** Conditions/AudienceRestriction/Audience: Cognito's `urn:amazon:cognito:sp:<userPoolId>`. */
  audience: string;
  inResponseTo?: string;
  nameId: string;
  nameIdFormat?: string;
  /** Attribute name → one value or many (many → one <AttributeValue> each). */
  attributes: Record<string, string | string[]>;
  now?: Date;
  /** Validity window relative to now (ms); defaults -60 s … +5 min. */
  notBeforeMs?: number;
  notOnOrAfterMs?: number;
  assertionId?: string;
  responseId?: string;
}

const XML: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
const esc = (s: string) => s.replace(/[&<>"']/g, (c) => XML[c]!);
export const samlId = () => `_${randomBytes(20).toString('hex')}`;

export function buildResponse(spec: ResponseSpec): string {
  const now = spec.now ?? new Date();
  const at = (ms: number) => new Date(now.getTime() + ms).toISOString();
  const notBefore = at(spec.notBeforeMs ?? -60_000);
  const notOnOrAfter = at(spec.notOnOrAfterMs ?? 300_000);
  const irt = spec.inResponseTo ? ` InResponseTo="${esc(spec.inResponseTo)}"` : '';
  const attrs = Object.entries(spec.attributes)
    .map(([name, v]) => {
      const values = (Array.isArray(v) ? v : [v]).map((x) => `<saml:AttributeValue xsi:type="xs:string">${esc(x)}</saml:AttributeValue>`).join('');
      return `<saml:Attribute Name="${esc(name)}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">${values}</saml:Attribute>`;
    })
    .join('');
  const assertion =
    `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="${spec.assertionId ?? samlId()}" IssueInstant="${now.toISOString()}" Version="2.0">` +
    `<saml:Issuer>${esc(spec.issuer)}</saml:Issuer>` +
    `<saml:Subject><saml:NameID Format="${esc(spec.nameIdFormat ?? 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent')}">${esc(spec.nameId)}</saml:NameID>` +
    `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="${notOnOrAfter}" Recipient="${esc(spec.recipient ?? spec.destination)}"${irt}/></saml:SubjectConfirmation></saml:Subject>` +
    `<saml:Conditions NotBefore="${notBefore}" NotOnOrAfter="${notOnOrAfter}"><saml:AudienceRestriction><saml:Audience>${esc(spec.audience)}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
    `<saml:AuthnStatement AuthnInstant="${now.toISOString()}" SessionIndex="${samlId()}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
    (attrs ? `<saml:AttributeStatement>${attrs}</saml:AttributeStatement>` : '') +
    `</saml:Assertion>`;
  return (
    `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${spec.responseId ?? samlId()}" Version="2.0" IssueInstant="${now.toISOString()}" Destination="${esc(spec.destination)}"${irt}>` +
    `<saml:Issuer>${esc(spec.issuer)}</saml:Issuer>` +
    `<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
    assertion +
    `</samlp:Response>`
  );
}

const ISSUER_OF = (el: string) => `/*[local-name(.)='${el}']/*[local-name(.)='Issuer']`;

/** Enveloped RSA-SHA256 signature on the element at `xpath` (placed after its Issuer, as the schema wants). */
function signAt(xml: string, xpath: string, issuerXpath: string, key: { privateKey: string; cert: string }): string {
  const sig = new SignedXml({ privateKey: key.privateKey, publicCert: key.cert, signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#' });
  sig.addReference({
    xpath,
    transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', 'http://www.w3.org/2001/10/xml-exc-c14n#'],
    digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
  });
  sig.computeSignature(xml, { prefix: 'ds', location: { reference: issuerXpath, action: 'after' } });
  return sig.getSignedXml();
}

/** Sign the assertion and then the whole response (either may be left unsigned, for tests). */
export function signResponse(xml: string, key: { privateKey: string; cert: string }, what: { assertion?: boolean; response?: boolean } = { assertion: true, response: true }): string {
  let out = xml;
  if (what.assertion !== false) out = signAt(out, "/*[local-name(.)='Response']/*[local-name(.)='Assertion']", `/*[local-name(.)='Response']${ISSUER_OF('Assertion')}`, key);
  if (what.response !== false) out = signAt(out, "/*[local-name(.)='Response']", ISSUER_OF('Response'), key);
  return out;
}
