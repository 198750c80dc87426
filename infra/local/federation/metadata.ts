import { xpath, parseDomFromString } from '@node-saml/node-saml/lib/xml.js';
import type { StoredProvider } from './store.js';

type Metadata = NonNullable<StoredProvider['metadata']>;
const REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
const POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';

/** Thrown for metadata Cognito would refuse (CreateIdentityProvider answers InvalidParameterException). */
export class MetadataError extends Error {}

/**
 * What Cognito reads from SAML IdP metadata: the entity id (the issuer it accepts), the signing
 * certificates (any of them may sign), and the SSO / SLO endpoints.
 */
export async function parseIdpMetadata(xml: string): Promise<Metadata> {
  let doc: Awaited<ReturnType<typeof parseDomFromString>>;
  try {
    doc = await parseDomFromString(xml);
  } catch (err) {
    throw new MetadataError(`Unable to parse the metadata: ${(err as Error).message}`);
  }
  const entity = xpath.selectElements(doc, "//*[local-name()='EntityDescriptor'][*[local-name()='IDPSSODescriptor']]")[0];
  if (!entity) throw new MetadataError('The metadata has no EntityDescriptor with an IDPSSODescriptor.');
  const entityId = entity.getAttribute('entityID');
  if (!entityId) throw new MetadataError('The metadata EntityDescriptor has no entityID.');
  const idp = xpath.selectElements(entity, "*[local-name()='IDPSSODescriptor']")[0]!;
  const certs = xpath
    .selectElements(idp, "*[local-name()='KeyDescriptor'][not(@use) or @use='signing']//*[local-name()='X509Certificate']")
    .map((e) => (e.textContent ?? '').replace(/\s+/g, ''))
    .filter(Boolean);
  if (!certs.length) throw new MetadataError('The metadata IDPSSODescriptor has no signing certificate.');
  const location = (kind: string, binding: string) =>
    xpath.selectElements(idp, `*[local-name()='${kind}'][@Binding='${binding}']`)[0]?.getAttribute('Location') ?? undefined;
  const ssoRedirect = location('SingleSignOnService', REDIRECT);
  const ssoPost = location('SingleSignOnService', POST);
  if (!ssoRedirect && !ssoPost) throw new MetadataError('The metadata IDPSSODescriptor has no SingleSignOnService.');
  return { entityId, certs, ssoRedirect, ssoPost, sloRedirect: location('SingleLogoutService', REDIRECT) };
}

/** Cognito downloads a MetadataURL when the provider is saved (and refreshes it); a bounded fetch here. */
export async function fetchMetadata(url: string): Promise<string> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(5_000), redirect: 'error' });
  } catch (err) {
    throw new MetadataError(`Could not retrieve the metadata from ${url}: ${(err as Error).message}`);
  }
  if (!res.ok) throw new MetadataError(`Could not retrieve the metadata from ${url}: HTTP ${res.status}.`);
  const text = await res.text();
  if (text.length > 131_072) throw new MetadataError('The metadata is longer than 131,072 characters.');
  return text;
}
