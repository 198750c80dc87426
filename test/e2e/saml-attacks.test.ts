import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, createDb } from '../../lib/core/db.js';
import type { TriggerConfig, TriggerHandler } from '../../infra/local/federation/triggers.js';
import { tableTriggers } from '../../infra/local/runtime.js';
import { OWNER_TOKEN, client, startTestRoster } from '../support/roster.js';
import { TestIdp, addProvider, identityItems, poolUsernames, postResponse, startSignIn } from '../support/saml.js';

// Forged, bent and replayed SAML responses at the local SP (the stand-in's /saml2/idpresponse),
// with organization 1's SSO saved through /api/saml/settings and Roster's own triggers (each
// wrapped to record that it ran). Each is refused with a 400 naming the reason before any trigger
// runs: no user in the pool, no user, email claim, membership, assignment or session in the table,
// no code. (Refusals by Roster's triggers — foreign domain, another organization's IdP — are in
// saml-flow.test.ts.)
const events: string[] = [];
const real = tableTriggers();
const triggers: TriggerConfig = {
  ...real,
  handlers: Object.fromEntries(
    Object.entries(real.handlers).map(([name, h]) => [name, (async (e, c) => (events.push(e.triggerSource), h!(e, c))) as TriggerHandler]),
  ),
};

let roster: Awaited<ReturnType<typeof startTestRoster>>;
let pool: Awaited<ReturnType<typeof startTestRoster>>['cognito'];
let call: ReturnType<typeof client>;
let db: Db;
let baseline: string[];
const idp = new TestIdp('https://idp.acme.test');
const PROVIDER = 'roster-org-1';
const person = { nameId: 'mallory', attributes: { Email: 'mallory@acme.test', Groups: ['Admins'] } };

beforeAll(async () => {
  expect(Object.keys(real.handlers).sort()).toEqual(['InboundFederation', 'PreSignUp', 'PreTokenGeneration']);
  roster = await startTestRoster({ cognitoTriggers: triggers });
  pool = roster.cognito;
  call = client(roster.url);
  db = createDb(process.env.TABLE_NAME!, roster.dynamodbEndpoint);
  const saved = await call('POST', '/api/saml/settings', { token: OWNER_TOKEN, body: { domain: 'acme.test', metadata_xml: idp.metadata(), roles_groups: [['Administrator', 'Admins']] } });
  expect(saved.status).toBe(201);
  // A provider with IdP-initiated sign-in off (the settings service always turns it on).
  await addProvider(pool, 'acme-sp-only', new TestIdp('https://idp.acme.test', idp.key), { idpInit: false });
  baseline = await identityItems(db);
});
afterAll(() => roster?.stop());

const idpInitRelay = (provider: string) => new URLSearchParams({ identity_provider: provider, client_id: pool.ssoClientId, redirect_uri: pool.callbackUrl, response_type: 'code' }).toString();

/** The response is refused with 400 and the message, and nothing anywhere was created. */
async function refused(r: { status: number; location?: string; text: string }, message: RegExp) {
  expect(r.status).toBe(400);
  expect(r.location).toBeUndefined();
  expect(r.text).toMatch(message);
  expect(events).toEqual([]);
  expect(await poolUsernames(pool)).toEqual([]);
  expect(await identityItems(db)).toEqual(baseline);
  const users = await call('GET', '/api/users/', { token: OWNER_TOKEN });
  expect(users.body.map((u: { email: string }) => u.email)).toEqual(['owner@example.com']);
}

async function spInitiated(bend: (requestId: string) => string) {
  const { requestId, relayState } = await startSignIn(pool, PROVIDER);
  events.length = 0;
  return postResponse(pool, bend(requestId), relayState);
}

const decode = (b64: string) => Buffer.from(b64, 'base64').toString();
const encode = (xml: string) => Buffer.from(xml).toString('base64');
const ASSERTION = /<saml:Assertion[\s\S]*<\/saml:Assertion>/;
const SIGNATURE = /<ds:Signature[\s\S]*?<\/ds:Signature>/;

describe('signatures', () => {
  it('refuses an unsigned response', async () => {
    await refused(await spInitiated((id) => idp.response(pool, { ...person, inResponseTo: id }, { assertion: false, response: false })), /Invalid SAML response: .*signature/i);
  });

  it('refuses a response whose assertion is not signed itself (only the response is)', async () => {
    await refused(await spInitiated((id) => idp.response(pool, { ...person, inResponseTo: id }, { assertion: false })), /Invalid SAML response: Invalid signature/);
  });

  it('refuses a response signed with a key that is not in the IdP metadata (its own certificate in KeyInfo)', async () => {
    const foreign = new TestIdp('https://idp.acme.test');
    await refused(await spInitiated((id) => foreign.response(pool, { ...person, inResponseTo: id })), /Invalid SAML response: Invalid (document )?signature/);
  });

  it('refuses a signed response edited after signing', async () => {
    await refused(await spInitiated((id) => encode(decode(idp.response(pool, { ...person, inResponseTo: id })).replace('mallory@acme.test', 'admin@acme.test'))), /Invalid SAML response/);
  });

  it('refuses signature wrapping: an evil assertion carrying the signature, the signed one hidden inside it', async () => {
    const r = await spInitiated((id) => {
      const xml = decode(idp.response(pool, { ...person, inResponseTo: id }, { response: false }));
      const signed = ASSERTION.exec(xml)![0];
      const signature = SIGNATURE.exec(signed)![0];
      const evil = signed
        .replace(SIGNATURE, signature.replace('</ds:Signature>', `<ds:Object>${signed}</ds:Object></ds:Signature>`))
        .replace(/ID="[^"]+"/, 'ID="_evil"')
        .replace('mallory@acme.test', 'ceo@acme.test');
      return encode(xml.replace(ASSERTION, evil));
    });
    await refused(r, /Invalid SAML response/);
  });

  it('refuses signature wrapping: the signed assertion moved to Extensions, an evil one with the same ID in its place', async () => {
    const r = await spInitiated((id) => {
      const xml = decode(idp.response(pool, { ...person, inResponseTo: id }, { response: false }));
      const signed = ASSERTION.exec(xml)![0];
      const evil = signed.replace(SIGNATURE, '').replace('mallory@acme.test', 'ceo@acme.test');
      return encode(xml.replace(ASSERTION, `<samlp:Extensions>${signed}</samlp:Extensions>${evil}`));
    });
    await refused(r, /Invalid SAML response/);
  });

  it('refuses two assertions in one response', async () => {
    const r = await spInitiated((id) => {
      const xml = decode(idp.response(pool, { ...person, inResponseTo: id }, { response: false }));
      const signed = ASSERTION.exec(xml)![0];
      return encode(xml.replace(ASSERTION, signed + signed.replace('mallory@acme.test', 'ceo@acme.test')));
    });
    await refused(r, /Invalid SAML response: Invalid signature: multiple assertions/);
  });
});

describe('audience, destination, recipient, issuer', () => {
  it('refuses an assertion for another SP (audience)', async () => {
    await refused(await spInitiated((id) => idp.response(pool, { ...person, inResponseTo: id, audience: 'urn:amazon:cognito:sp:us-east-1_other' })), /Invalid SAML response: .*audience/i);
  });
  it('refuses a response addressed to another ACS (Destination)', async () => {
    await refused(await spInitiated((id) => idp.response(pool, { ...person, inResponseTo: id, destination: 'https://other.test/saml2/idpresponse' })), /Destination https:\/\/other\.test\/saml2\/idpresponse is not/);
  });
  it('refuses a subject confirmed for another ACS (Recipient)', async () => {
    await refused(await spInitiated((id) => idp.response(pool, { ...person, inResponseTo: id, recipient: 'https://other.test/acs' })), /Recipient https:\/\/other\.test\/acs is not/);
  });
  it('refuses an issuer other than the metadata entity id, even signed with the right key', async () => {
    const impostor = new TestIdp('https://idp.impostor.test', idp.key);
    await refused(await spInitiated((id) => impostor.response(pool, { ...person, inResponseTo: id })), /the issuer https:\/\/idp\.impostor\.test is not/);
  });
  it('refuses a response over 100,000 characters', async () => {
    await refused(await spInitiated((id) => idp.response(pool, { ...person, inResponseTo: id, attributes: { Email: 'mallory@acme.test', Pad: 'x'.repeat(80_000) } })), /longer than 100,000 characters/);
  });
});

describe('validity window, InResponseTo, replay', () => {
  it('refuses an expired assertion', async () => {
    await refused(await spInitiated((id) => idp.response(pool, { ...person, inResponseTo: id, notBeforeMs: -900_000, notOnOrAfterMs: -120_000 })), /Invalid SAML response: .*expired/i);
  });
  it('refuses an assertion not yet valid', async () => {
    await refused(await spInitiated((id) => idp.response(pool, { ...person, inResponseTo: id, notBeforeMs: 600_000, notOnOrAfterMs: 900_000 })), /Invalid SAML response: .*not yet valid/i);
  });
  it('refuses a response to another sign-in request (InResponseTo)', async () => {
    await refused(await spInitiated(() => idp.response(pool, { ...person, inResponseTo: '_some-other-request' })), /does not answer this sign-in request/);
  });
  it('refuses an unsolicited response for a provider without IdP-initiated sign-in', async () => {
    events.length = 0;
    await refused(await postResponse(pool, idp.response(pool, person), idpInitRelay('acme-sp-only')), /IdP-initiated sign-in is not enabled for identity provider acme-sp-only/);
  });
  it('refuses an unsolicited response that claims to answer a request', async () => {
    events.length = 0;
    await refused(await postResponse(pool, idp.response(pool, { ...person, inResponseTo: '_forged' }), idpInitRelay(PROVIDER)), /answers a sign-in request that is not pending/);
  });

  it('accepts an IdP-initiated response once, and refuses the same assertion replayed', async () => {
    const once = idp.response(pool, { nameId: 'replayed', attributes: { Email: 'replayed@acme.test' } });
    const first = await postResponse(pool, once, idpInitRelay(PROVIDER));
    expect(first.status).toBe(302);
    expect(new URL(first.location!).searchParams.get('code')).toBeTruthy();
    expect(await poolUsernames(pool)).toEqual([`${PROVIDER}_replayed`]);
    const who = await call('GET', '/api/users/', { token: OWNER_TOKEN });
    expect(who.body.map((u: { email: string }) => u.email)).toContain('replayed@acme.test');
    events.length = 0;
    const again = await postResponse(pool, once, idpInitRelay(PROVIDER));
    expect(again.status).toBe(400);
    expect(again.text).toMatch(/used already \(replay\)/);
    expect(events).toEqual([]);
    expect(await poolUsernames(pool)).toEqual([`${PROVIDER}_replayed`]);
  });

  it('refuses an SP-initiated response posted a second time', async () => {
    const { requestId, relayState } = await startSignIn(pool, PROVIDER);
    const response = idp.response(pool, { nameId: 'twice', attributes: { Email: 'twice@acme.test' }, inResponseTo: requestId });
    expect((await postResponse(pool, response, relayState)).status).toBe(302);
    events.length = 0;
    const again = await postResponse(pool, response, relayState);
    expect(again.status).toBe(400);
    expect(events).toEqual([]);
  });
});
