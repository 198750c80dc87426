/**
 * SAML test material: self-signed certificates made by the system's openssl (real X.509, chosen
 * validity) and IdP metadata documents around them.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
