import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OWNER_TOKEN, client, startTestRoster } from '../support/roster.js';

// SSO in a real browser (Debian's chromium driven by playwright-core, nothing downloaded): from the
// organization's login_url through the dev IdP's page and back to the app's callback, then the API
// as the member the sign-in provisioned. Roster's own triggers; settings through /api/saml/settings
// with the dev IdP's metadata URL.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.log(`saml-browser.test.ts: skipped, no chromium at ${CHROMIUM} (apt-get install -y chromium; .ci/run installs it)`);

let roster: Awaited<ReturnType<typeof startTestRoster>>;
let call: ReturnType<typeof client>;
let browser: Browser;
let ws: number;
let loginUrl: string;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  if (!hasChromium) return;
  roster = await startTestRoster();
  call = client(roster.url);
  ws = (await call('POST', '/api/workspaces/', { token: OWNER_TOKEN, body: { title: 'Medical' } })).body.id;
  const saved = await call('POST', '/api/saml/settings', {
    token: OWNER_TOKEN,
    body: { domain: 'acme.test', metadata_url: roster.cognito.devIdpMetadataUrl, roles_groups: [['Reviewer', 'reviewers']], workspaces_groups: [['Medical', 'reviewers']] },
  });
  expect(saved.status).toBe(201);
  loginUrl = saved.body.login_url;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--headless', '--disable-gpu'] });
});
afterAll(async () => {
  await browser?.close();
  await roster?.stop();
});

/** One person through the dev IdP's page in a fresh browser context; the access token the callback page shows. */
async function signInInBrowser(start: string, person: { email: string; first?: string; last?: string; groups?: string[]; provider?: string }): Promise<string> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(start);
    await page.waitForSelector('#email');
    if (person.provider) await page.fill('#provider', person.provider);
    await page.fill('#email', person.email);
    await page.fill('#first_name', person.first ?? '');
    await page.fill('#last_name', person.last ?? '');
    await page.fill('#groups', (person.groups ?? []).join('\n'));
    await page.click('#sign-in');
    await page.waitForURL(/\/dev\/callback/);
    expect(new URL(page.url()).searchParams.get('error')).toBeNull();
    return (await page.textContent('#access-token'))!.trim();
  } finally {
    await context.close();
  }
}

const whoami = (jwt: string) => call('GET', '/api/current-user/whoami', { headers: { authorization: `Bearer ${jwt}` } });
const member = async (id: number) => (await call('GET', `/api/organizations/1/memberships/${id}/`, { token: OWNER_TOKEN })).body as { role: string; role_source: string };
async function inWorkspace(id: number) {
  const r = await call('GET', `/api/workspaces/${ws}/memberships/`, { token: OWNER_TOKEN });
  return (r.body as { user: { id: number } | number }[]).some((m) => (typeof m.user === 'number' ? m.user : m.user.id) === id);
}
/** The member's role changes in the organization's log, once `count` of them are there. */
async function roleEntries(id: number, count: number) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const r = await call('GET', `/api/activity-logs/?page_size=500&user=${id}`, { token: OWNER_TOKEN });
    const found = (r.body.data as { action: string; source: string; subject_user_id: number | null; resource_type: string; after: any }[])
      .filter((e) => e.subject_user_id === id && e.resource_type === 'membership' && e.after?.role)
      .map((e) => ({ action: e.action, source: e.source, role: e.after.role as string }));
    if (found.length >= count || Date.now() > deadline) return found;
    await pause(200);
  }
}

describe.skipIf(!hasChromium)('SAML sign-in in a browser', () => {
  it('first sign-in from login_url through the dev IdP makes a Reviewer (source saml) in the mapped workspace; a later one without the group deactivates', async () => {
    const jwt = await signInInBrowser(loginUrl, { email: 'Rhea@acme.test', first: 'Rhea', last: 'Silvia', groups: ['reviewers', 'staff'] });
    const who = await whoami(jwt);
    expect(who).toMatchObject({ status: 200, body: { email: 'rhea@acme.test', first_name: 'Rhea', last_name: 'Silvia', active_organization: 1, organization_membership: { role: 'RE' } } });
    const id = who.body.id as number;
    expect(await member(id)).toEqual(expect.objectContaining({ role: 'RE', role_source: 'saml' }));
    expect(await inWorkspace(id)).toBe(true);

    const later = await signInInBrowser(loginUrl, { email: 'rhea@acme.test', first: 'Rhea', last: 'Silvia', groups: ['staff'] });
    expect(await member(id)).toEqual(expect.objectContaining({ role: 'DI', role_source: 'saml' }));
    expect((await whoami(later)).status).toBe(401);
    const entries = await roleEntries(id, 2);
    expect(entries).toContainEqual(expect.objectContaining({ source: 'saml', role: 'RE' }));
    expect(entries).toContainEqual({ action: 'membership.deactivated', source: 'saml', role: 'DI' });
  });

  it('with manual role management on, a later sign-in without the group leaves the Reviewer as they are', async () => {
    const jwt = await signInInBrowser(loginUrl, { email: 'remus@acme.test', groups: ['reviewers'] });
    const id = (await whoami(jwt)).body.id as number;
    expect(await member(id)).toMatchObject({ role: 'RE' });
    expect((await call('POST', '/api/saml/settings', { token: OWNER_TOKEN, body: { manual_role_management: true } })).status).toBe(201);
    try {
      const later = await signInInBrowser(loginUrl, { email: 'remus@acme.test' });
      expect(await whoami(later)).toMatchObject({ status: 200, body: { organization_membership: { role: 'RE' } } });
      expect(await member(id)).toMatchObject({ role: 'RE', role_source: 'saml' });
      expect(await roleEntries(id, 1)).toContainEqual(expect.objectContaining({ source: 'saml', role: 'RE' }));
    } finally {
      await call('POST', '/api/saml/settings', { token: OWNER_TOKEN, body: { manual_role_management: false } });
    }
  });

  it('signs in IdP-initiated from the dev IdP\'s own page', async () => {
    const jwt = await signInInBrowser(`${roster.cognito.endpoint}/dev/idp/`, { email: 'ida@acme.test', groups: ['reviewers'], provider: 'roster-org-1' });
    expect(await whoami(jwt)).toMatchObject({ status: 200, body: { email: 'ida@acme.test', organization_membership: { role: 'RE' } } });
  });
});
