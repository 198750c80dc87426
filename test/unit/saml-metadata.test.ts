import { createServer, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../lib/core/errors.js';
import { MAX_METADATA_BYTES, fetchMetadata, isPublicAddress, parseMetadata } from '../../lib/federation/saml/metadata.js';
import { idpMetadata, selfSignedCert } from '../support/saml.js';

const cert = selfSignedCert(365, 'signing.acme.example');
const soon = selfSignedCert(10, 'soon.acme.example');

async function refusal(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return Object.values((err as ValidationError).extra.validation_errors as Record<string, string[]>).flat().join(' ');
  }
  throw new Error('expected a refusal');
}

describe('IdP metadata', () => {
  it('reads the entity id, sign-in URL and signing certificates with their expiry', () => {
    const m = parseMetadata(idpMetadata({ entityId: 'http://www.okta.com/exk1', certs: [{ b64: cert.b64 }, { b64: soon.b64, use: null }] }));
    expect(m.entity_id).toBe('http://www.okta.com/exk1');
    expect(m.sso_urls).toEqual(['https://idp.example.com/sso']);
    expect(m.certificates.map((c) => c.subject)).toEqual(['CN=signing.acme.example', 'CN=soon.acme.example']);
    const days = (c: { not_after: string }) => Math.round((Date.parse(c.not_after) - Date.now()) / 86_400_000);
    expect(m.certificates.map(days)).toEqual([365, 10]);
    expect(m.certificates[0]!.fingerprint).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses an SP\'s metadata (no IDPSSODescriptor)', async () => {
    expect(await refusal(() => parseMetadata(idpMetadata({ sp: true, certs: [{ b64: cert.b64 }] })))).toMatch(/No IDPSSODescriptor/);
  });

  it('refuses metadata without a signing certificate (only an encryption key is not enough)', async () => {
    expect(await refusal(() => parseMetadata(idpMetadata({ certs: [] })))).toMatch(/no signing certificate/);
    expect(await refusal(() => parseMetadata(idpMetadata({ certs: [{ b64: cert.b64, use: 'encryption' }] })))).toMatch(/no signing certificate/);
  });

  it('refuses a certificate that is not X.509, a DTD (entity expansion), malformed XML and an empty document', async () => {
    expect(await refusal(() => parseMetadata(idpMetadata({ certs: [{ b64: 'bm90IGEgY2VydA==' }] })))).toMatch(/not a valid X\.509/);
    const xxe = `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>${idpMetadata({ certs: [{ b64: cert.b64 }] }).replace('<?xml version="1.0"?>', '')}`;
    expect(await refusal(() => parseMetadata(xxe))).toMatch(/DTD/);
    expect(await refusal(() => parseMetadata('<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"><unclosed>'))).toMatch(/well-formed|EntityDescriptor/);
    expect(await refusal(() => parseMetadata('  '))).toMatch(/empty/);
  });

  it('refuses metadata whose signing certificates have all expired', async () => {
    const later = new Date(Date.now() + 400 * 86_400_000);
    expect(await refusal(() => parseMetadata(idpMetadata({ certs: [{ b64: cert.b64 }] }), 'metadata_xml', later))).toMatch(/expired/);
  });

  it('refuses a document over Cognito\'s 131,072 characters', async () => {
    const big = idpMetadata({ certs: [{ b64: cert.b64 }] }).replace('</md:EntityDescriptor>', `<!-- ${'x'.repeat(MAX_METADATA_BYTES)} --></md:EntityDescriptor>`);
    expect(await refusal(() => parseMetadata(big))).toMatch(/exceeds/);
  });
});

describe('addresses a metadata URL may reach', () => {
  it('refuses private, loopback, link-local, CGNAT, unique-local and IPv4-mapped private addresses', () => {
    for (const a of ['169.254.169.254', '10.0.0.1', '172.16.5.4', '192.168.1.1', '127.0.0.1', '100.64.0.1', '0.0.0.0', '::1', '::', 'fe80::1', 'fd00::1', '::ffff:10.0.0.1', '::ffff:169.254.169.254', '::ffff:7f00:1', 'not-an-ip']) {
      expect(isPublicAddress(a), a).toBe(false);
    }
  });
  it('allows public addresses', () => {
    for (const a of ['8.8.8.8', '52.94.236.248', '2606:4700:4700::1111', '::ffff:8.8.8.8']) expect(isPublicAddress(a), a).toBe(true);
  });
});

describe('fetching a metadata URL', () => {
  let server: Server;
  let base: string;
  const xml = idpMetadata({ certs: [{ b64: cert.b64 }] });
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/metadata') return res.writeHead(200, { 'content-type': 'application/xml' }).end(xml);
      if (req.url === '/redirect') return res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
      if (req.url === '/huge') {
        res.writeHead(200, { 'content-type': 'application/xml' });
        res.write('x'.repeat(MAX_METADATA_BYTES));
        return res.end('y'.repeat(1024));
      }
      if (req.url === '/slow') return; // never answers
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  const local = () => ({ allowHttp: true, loopbackHosts: [`127.0.0.1:${(server.address() as AddressInfo).port}`], timeoutMs: 1000 });

  it('refuses http in AWS, and the instance metadata address and private addresses whatever the scheme', async () => {
    const aws = { allowHttp: false, loopbackHosts: [] };
    expect(await refusal(fetchMetadata(`${base}/metadata`, aws))).toMatch(/must use https/);
    expect(await refusal(fetchMetadata('https://169.254.169.254/latest/meta-data/', aws))).toMatch(/public address/);
    expect(await refusal(fetchMetadata('https://10.1.2.3/metadata', aws))).toMatch(/public address/);
    expect(await refusal(fetchMetadata('https://[::1]/metadata', aws))).toMatch(/public address/);
    expect(await refusal(fetchMetadata('http://169.254.169.254/latest/meta-data/', { allowHttp: true, loopbackHosts: [] }))).toMatch(/public address/);
  });

  it('refuses a host name that resolves to loopback (the check is on the resolved addresses)', async () => {
    expect(await refusal(fetchMetadata(`https://localhost:${(server.address() as AddressInfo).port}/metadata`, { allowHttp: true, loopbackHosts: [] }))).toMatch(/public address/);
  });

  it('refuses loopback unless the local runtime named that host and port (its dev IdP)', async () => {
    expect(await refusal(fetchMetadata(`${base}/metadata`, { allowHttp: true, loopbackHosts: [] }))).toMatch(/public address/);
    expect(await fetchMetadata(`${base}/metadata`, local())).toBe(xml);
    expect(await refusal(fetchMetadata(`http://127.0.0.1:1/metadata`, local()))).toMatch(/public address/);
  });

  it('does not follow redirects, stops at the size cap, and gives up after the timeout', async () => {
    expect(await refusal(fetchMetadata(`${base}/redirect`, local()))).toMatch(/redirects are not followed/);
    expect(await refusal(fetchMetadata(`${base}/huge`, local()))).toMatch(/exceeds/);
    const t0 = Date.now();
    expect(await refusal(fetchMetadata(`${base}/slow`, local()))).toMatch(/did not answer|timed out/);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(await refusal(fetchMetadata(`${base}/missing`, local()))).toMatch(/404/);
  });

  it('verifies the TLS certificate of an https metadata URL (a self-signed one is refused)', async () => {
    const tls = createTlsServer({ key: cert.keyPem, cert: cert.certPem }, (_req, res) => res.writeHead(200).end(xml));
    await new Promise<void>((r) => tls.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (tls.address() as AddressInfo).port;
      const msg = await refusal(fetchMetadata(`https://127.0.0.1:${port}/metadata`, { allowHttp: false, loopbackHosts: [`127.0.0.1:${port}`], timeoutMs: 2000 }));
      expect(msg).toMatch(/TLS certificate is not valid/);
    } finally {
      tls.closeAllConnections();
      await new Promise((r) => tls.close(r));
    }
  });

  it('refuses URLs with credentials and what is not a URL', async () => {
    expect(await refusal(fetchMetadata('https://user:pw@idp.acme.example/m', { allowHttp: false, loopbackHosts: [] }))).toMatch(/credentials/);
    expect(await refusal(fetchMetadata('not a url', { allowHttp: false, loopbackHosts: [] }))).toMatch(/Not a URL/);
    expect(await refusal(fetchMetadata('file:///etc/passwd', { allowHttp: true, loopbackHosts: [] }))).toMatch(/https/);
  });
});
