/**
 * IdP metadata: fetched from a URL an administrator typed (so never from inside the network:
 * resolve, check every address, connect to the checked one), and parsed and checked (an
 * IDPSSODescriptor with a signing certificate and a sign-in endpoint; certificates' expiry shown).
 */
import { X509Certificate, createHash } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { BlockList, type Socket, connect as netConnect, isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { DOMParser, type Document, type Element, type Node } from '@xmldom/xmldom';
import { ValidationError } from '../../core/errors.js';

/** Cognito takes MetadataFile up to 131,072 characters; a metadata URL's document is held to the same. */
export const MAX_METADATA_BYTES = 131_072;
export const FETCH_TIMEOUT_MS = 5_000;

const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
const DS = 'http://www.w3.org/2000/09/xmldsig#';

export interface Certificate {
  subject: string;
  not_before: string;
  not_after: string;
  /** SHA-256 of the DER, hex (identifies the certificate in expiry warnings). */
  fingerprint: string;
}

export interface Metadata {
  entity_id: string;
  sso_urls: string[];
  certificates: Certificate[];
}

const bad = (field: string, msg: string) => new ValidationError('Validation error', { [field]: [msg] });

/** Addresses a metadata URL must never reach: private, loopback, link-local, CGNAT, multicast, reserved. */
const BLOCKED = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24],
  ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) BLOCKED.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128], ['::1', 128], ['64:ff9b::', 96], ['64:ff9b:1::', 48], ['100::', 64], ['2001::', 23], ['2001:db8::', 32],
  ['2002::', 16], ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8],
] as const) BLOCKED.addSubnet(net, prefix, 'ipv6');

/** Whether an address is one a metadata fetch may connect to (IPv4-mapped IPv6 judged as its IPv4). */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return !BLOCKED.check(address, 'ipv4');
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address) ?? /^::(\d+\.\d+\.\d+\.\d+)$/.exec(address);
    if (mapped) return !BLOCKED.check(mapped[1]!, 'ipv4');
    if (/^::ffff:/i.test(address)) return false;
    return !BLOCKED.check(address, 'ipv6');
  }
  return false;
}

export interface FetchPolicy {
  /** http: allowed (the local runtime only). */
  allowHttp: boolean;
  /** host:port pairs that may be loopback (the local runtime's own dev IdP). */
  loopbackHosts: readonly string[];
  /** Default FETCH_TIMEOUT_MS. */
  timeoutMs?: number;
}

/** In AWS: HTTPS to public addresses only. Locally (ROSTER_LOCAL=1): http too, and the dev IdP's own address. */
export function fetchPolicyFromEnv(env = process.env): FetchPolicy {
  const local = env.ROSTER_LOCAL === '1' || env.ROSTER_LOCAL === 'true';
  return { allowHttp: local, loopbackHosts: local ? (env.ROSTER_LOCAL_METADATA_HOSTS ?? '').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean) : [] };
}

const isLoopback = (a: string) => a === '::1' || /^127\./.test(a) || /^::ffff:127\./i.test(a);

/**
 * Fetch a metadata document: the URL checked (scheme, no credentials), its host resolved and every
 * address checked, and the connection made to the checked address (no second lookup a DNS rebind
 * could answer differently); no redirects, a timeout, and a size cap.
 */
export async function fetchMetadata(raw: string, policy: FetchPolicy, field = 'metadata_url'): Promise<string> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw bad(field, 'Not a URL.');
  }
  if (url.protocol !== 'https:' && !(policy.allowHttp && url.protocol === 'http:')) throw bad(field, 'The metadata URL must use https.');
  if (url.username || url.password) throw bad(field, 'The metadata URL must not carry credentials.');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const loopbackOk = policy.loopbackHosts.includes(`${host.toLowerCase()}:${port}`);
  let addresses: { address: string; family: number }[];
  try {
    addresses = isIP(host) ? [{ address: host, family: isIP(host) }] : await lookup(host, { all: true, verbatim: true });
  } catch {
    throw bad(field, `The host ${host} does not resolve.`);
  }
  const refused = addresses.filter((a) => !isPublicAddress(a.address) && !(loopbackOk && isLoopback(a.address)));
  if (!addresses.length || refused.length) throw bad(field, `The metadata URL must point to a public address; ${host} resolves to ${refused.map((a) => a.address).join(', ') || 'nothing'}.`);
  const target = addresses[0]!;

  const timeout = policy.timeoutMs ?? FETCH_TIMEOUT_MS;
  const { status, body } = await get(url, target.address, timeout, field);
  if (status !== 200) {
    const why = status >= 300 && status < 400 ? 'redirects are not followed; give the final URL' : `HTTP ${status}`;
    throw bad(field, `The metadata URL answered ${status}: ${why}.`);
  }
  return body;
}

/**
 * One HTTP/1.0 GET to the checked address (TLS verified against the URL's host name): HTTP/1.0 so
 * the answer is the rest of the connection, never chunked; stops at the size cap and the timeout.
 */
function get(url: URL, address: string, timeout: number, field: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const socket: Socket =
      url.protocol === 'https:' ? tlsConnect({ host: address, port, servername: isIP(host) ? undefined : host, ALPNProtocols: ['http/1.1'] }) : netConnect({ host: address, port });
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err: Error | undefined, value?: { status: number; body: string }) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(value!);
    };
    const timer = setTimeout(() => finish(bad(field, `The metadata URL did not answer within ${timeout / 1000} s.`)), timeout);
    socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
      const path = `${url.pathname}${url.search}`;
      socket.write(`GET ${path} HTTP/1.0\r\nHost: ${url.host}\r\nAccept: application/samlmetadata+xml, application/xml, text/xml\r\nUser-Agent: Roster\r\nConnection: close\r\n\r\n`);
    });
    socket.on('data', (c: Buffer) => {
      size += c.length;
      // Headers are allowed a little room beside the body's cap.
      if (size > MAX_METADATA_BYTES + 16_384) finish(bad(field, `The metadata document exceeds ${MAX_METADATA_BYTES} bytes.`));
      else chunks.push(c);
    });
    socket.on('error', (e) => finish(bad(field, `The metadata URL could not be fetched: ${/certificate|self.signed|altnames/i.test(e.message) ? 'its TLS certificate is not valid' : 'connection failed'}.`)));
    socket.on('end', () => {
      const raw = Buffer.concat(chunks);
      const split = raw.indexOf('\r\n\r\n');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(raw.subarray(0, Math.max(split, 0)).toString('latin1'))?.[1]);
      if (split < 0 || !status) return finish(bad(field, 'The metadata URL did not answer with HTTP.'));
      const body = raw.subarray(split + 4);
      if (body.length > MAX_METADATA_BYTES) return finish(bad(field, `The metadata document exceeds ${MAX_METADATA_BYTES} bytes.`));
      finish(undefined, { status, body: body.toString('utf8') });
    });
  });
}

const elements = (node: Node, ns: string, name: string): Element[] => Array.from((node as Element).getElementsByTagNameNS(ns, name) as unknown as ArrayLike<Element>);

/**
 * Parse and check a metadata document: one EntityDescriptor (or the first of an EntitiesDescriptor)
 * with an IDPSSODescriptor for SAML 2.0, a SingleSignOnService, and at least one signing
 * certificate (a KeyDescriptor with use="signing" or no use) that parses as X.509. No DTDs.
 */
export function parseMetadata(xml: string, field = 'metadata_xml', at = new Date()): Metadata {
  if (!xml.trim()) throw bad(field, 'The metadata is empty.');
  if (xml.length > MAX_METADATA_BYTES) throw bad(field, `The metadata exceeds ${MAX_METADATA_BYTES} characters (Cognito's limit).`);
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw bad(field, 'The metadata must not contain a DTD.');
  let doc: Document;
  try {
    doc = new DOMParser({
      onError: (level, msg) => {
        if (level !== 'warning') throw new Error(msg);
      },
    }).parseFromString(xml, 'text/xml');
  } catch {
    throw bad(field, 'The metadata is not well-formed XML.');
  }
  const entity = elements(doc, MD, 'EntityDescriptor')[0];
  if (!entity) throw bad(field, 'No EntityDescriptor (SAML 2.0 metadata namespace) in the metadata.');
  const idp = elements(entity, MD, 'IDPSSODescriptor').find((d) => (d.getAttribute('protocolSupportEnumeration') ?? '').includes('urn:oasis:names:tc:SAML:2.0:protocol'));
  if (!idp) throw bad(field, 'No IDPSSODescriptor for SAML 2.0: this is not an identity provider\'s metadata.');
  const sso = elements(idp, MD, 'SingleSignOnService').map((s) => s.getAttribute('Location') ?? '').filter(Boolean);
  if (!sso.length) throw bad(field, 'The IDPSSODescriptor has no SingleSignOnService.');
  const certificates: Certificate[] = [];
  for (const kd of elements(idp, MD, 'KeyDescriptor')) {
    const use = kd.getAttribute('use');
    if (use && use !== 'signing') continue;
    for (const c of elements(kd, DS, 'X509Certificate')) {
      const b64 = (c.textContent ?? '').replace(/\s+/g, '');
      try {
        const der = Buffer.from(b64, 'base64');
        const x = new X509Certificate(der);
        certificates.push({
          subject: x.subject.replace(/\n/g, ', '),
          not_before: new Date(x.validFrom).toISOString(),
          not_after: new Date(x.validTo).toISOString(),
          fingerprint: createHash('sha256').update(der).digest('hex'),
        });
      } catch {
        throw bad(field, 'A signing certificate in the metadata is not a valid X.509 certificate.');
      }
    }
  }
  if (!certificates.length) throw bad(field, 'The IDPSSODescriptor has no signing certificate (KeyDescriptor use="signing" with an X509Certificate).');
  if (certificates.every((c) => Date.parse(c.not_after) <= at.getTime())) throw bad(field, `Every signing certificate has expired (the latest on ${certificates.map((c) => c.not_after).sort().at(-1)}).`);
  return { entity_id: entity.getAttribute('entityID') ?? '', sso_urls: sso, certificates };
}

/** POST /api/saml/settings/validate-metadata-url: fetched and checked, nothing saved. */
export async function validateMetadataUrl(url: string, policy = fetchPolicyFromEnv()): Promise<{ valid: true; entity_id: string; certificates: Certificate[] }> {
  const xml = await fetchMetadata(url, policy);
  const m = parseMetadata(xml, 'metadata_url');
  return { valid: true, entity_id: m.entity_id, certificates: m.certificates };
}
