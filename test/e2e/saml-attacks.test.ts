import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TriggerConfig } from '../../infra/local/federation/triggers.js';
import { OWNER_TOKEN, client, startTestRoster } from '../support/roster.js';
import { TestIdp, addProvider, poolUsernames, postResponse, startSignIn } from '../support/saml.js';

// Forged, bent and replayed SAML responses at the local SP (the stand-in's /saml2/idpresponse).
// Each is refused with a 400 naming the reason, before any trigger runs: no user in the pool, no
// Roster user, no token. (Refusals by Roster's own triggers — foreign domain, another
// organization's IdP — are in saml-flow.test.ts.)
const events: string[] = [];
const record = async (e: any) => {
  events.push(e.triggerSource);
  return e;
};
const triggers: TriggerConfig = { handlers: { InboundFederation: record, PreSignUp: record, PostConfirmation: record, PreAuthentication: record, PostAuthentication: record, PreTokenGeneration: record } };

let roster: Awaited<ReturnType<typeof startTestRoster>>;
let pool: Awaited<ReturnType<typeof startTestRoster>>['cognito'];
let call: ReturnType<typeof client>;
const idp = new TestIdp('https://idp.acme.test');
const person = { nameId: 'mallory', attributes: { Email: 'mallory@acme.test', Groups: ['Admins'] } };

beforeAll(async () => {
  roster = await startTestRoster({ cognitoTriggers: triggers });
  pool = roster.cognito;
  call = client(roster.url);
  await addProvider(pool, 'acme', idp);
  await addProvider(pool, 'acme-init', new TestIdp('https://idp.acme.test', idp.key), { idpInit: true });
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
  const users = await call('GET', '/api/users/', { token: OWNER_TOKEN });
  expect(users.body.map((u: { email: string }) => u.email)).toEqual(['owner@example.com']);
}

async function spInitiated(bend: (requestId: string) => string) {
  const { requestId, relayState } = await startSignIn(pool, 'acme');
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
    await refused(await postResponse(pool, idp.response(pool, person), idpInitRelay('acme')), /IdP-initiated sign-in is not enabled for identity provider acme/);
  });
  it('refuses an unsolicited response that claims to answer a request', async () => {
    events.length = 0;
    await refused(await postResponse(pool, idp.response(pool, { ...person, inResponseTo: '_forged' }), idpInitRelay('acme-init')), /answers a sign-in request that is not pending/);
  });

  it('accepts an IdP-initiated response once, and refuses the same assertion replayed', async () => {
    const once = idp.response(pool, { nameId: 'replayed', attributes: { Email: 'replayed@acme.test' } });
    const first = await postResponse(pool, once, idpInitRelay('acme-init'));
    expect(first.status).toBe(302);
    expect(new URL(first.location!).searchParams.get('code')).toBeTruthy();
    expect(await poolUsernames(pool)).toEqual(['acme-init_replayed']);
    events.length = 0;
    const again = await postResponse(pool, once, idpInitRelay('acme-init'));
    expect(again.status).toBe(400);
    expect(again.text).toMatch(/used already \(replay\)/);
    expect(events).toEqual([]);
  });

  it('refuses an SP-initiated response posted a second time', async () => {
    const { requestId, relayState } = await startSignIn(pool, 'acme');
    const response = idp.response(pool, { nameId: 'twice', attributes: { Email: 'twice@acme.test' }, inResponseTo: requestId });
    expect((await postResponse(pool, response, relayState)).status).toBe(302);
    events.length = 0;
    const again = await postResponse(pool, response, relayState);
    expect(again.status).toBe(400);
    expect(events).toEqual([]);
  });
});
