/**
 * Bad input on every route of the route table, as the Owner (so authorization never hides a
 * validation failure): malformed JSON, wrong JSON types, oversized bodies and non-JSON bodies are
 * 4xx with LSE's {"detail"} shape; path ids that are not positive integers are 404. Never a 500.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES } from '../../functions/http.js';
import { routes } from '../../functions/routes.js';
// The SCIM protocol (/scim/v2/) answers in its own shapes; its bad input and paging: scim-users.test.ts.
import { documented } from '../../functions/openapi/document.js';
import { OWNER_TOKEN, client, startTestRoster } from '../support/roster.js';

let roster: Awaited<ReturnType<typeof startTestRoster>>;
let call: ReturnType<typeof client>;

beforeAll(async () => {
  roster = await startTestRoster();
  call = client(roster.url);
});
afterAll(() => roster?.stop());

/** A path with every parameter filled with something valid-looking (routes' own checks decide). */
const concrete = (path: string) => path.replace('{id}', '1').replace('{user_pk}', '1').replace('{permission_key}', 'project.delete');
const json = { 'content-type': 'application/json' };
/** POSTs that take no body ignore one, as LSE's do (and reset-token would end the Owner's token here). */
const BODYLESS = ['POST /api/current-user/reset-token/', 'POST /api/invite/reset-token', 'POST /api/token/', 'POST /api/scim/tokens', 'POST /api/access-reviews/definitions/{id}/start', 'POST /api/access-reviews/instances/{id}/apply'];
const withBody = routes.filter(documented).filter((r) => r.method !== 'GET' && r.method !== 'DELETE' && !BODYLESS.includes(`${r.method} ${r.path}`));

describe('bad input on every route', () => {
  it.each(withBody.map((r) => ({ label: `${r.method} ${r.path}`, r })))('$label: malformed and mistyped JSON → 400, oversized → 413, not JSON → 415', async ({ r }) => {
    for (const raw of ['{"a":', '[1,2]', 'null', '"text"', '{"email": 5, "user_id": "x", "role": 7, "refresh": 1, "emails": "x", "title": 3, "roles": "AD", "default_role": 1, "api_token_ttl_days": "x", "first_name": 2, "token": 1}']) {
      const reply = await call(r.method, concrete(r.path), { token: OWNER_TOKEN, raw, headers: json });
      // Routes whose body is entirely optional accept {"…": wrong types} only if they ignore those fields; none may 500.
      expect(reply.status, `${raw} → ${JSON.stringify(reply.body)}`).toBeGreaterThanOrEqual(400);
      expect(reply.status).toBeLessThan(500);
      expect(typeof reply.body.detail).toBe('string');
    }
    const big = await call(r.method, concrete(r.path), { token: OWNER_TOKEN, raw: JSON.stringify({ pad: 'x'.repeat(MAX_BODY_BYTES) }), headers: json });
    expect(big.status).toBe(413);
    const form = await call(r.method, concrete(r.path), { token: OWNER_TOKEN, raw: 'a=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.status).toBe(415);
  });

  const withIds = routes.filter(documented).filter((r) => /\{(id|user_pk)\}/.test(r.path));
  it.each(withIds.map((r) => ({ label: `${r.method} ${r.path}`, r })))('$label: ids that are not positive integers → 404', async ({ r }) => {
    for (const bad of ['abc', '0', '-3', '1.5', '1e3']) {
      const path = r.path.replace('{id}', bad).replace('{user_pk}', bad).replace('{permission_key}', 'project.delete');
      const reply = await call(r.method, path, { token: OWNER_TOKEN, body: r.method === 'GET' || r.method === 'DELETE' ? undefined : {} });
      expect(reply.status, `${path}`).toBe(404);
    }
  });

  it('answers 400 for bad query parameters on listing routes, and 404 "Invalid page." for a page number that is not a page', async () => {
    for (const q of ['page_size=0', 'page_size=1001', 'role=ZZ', 'is_deleted=maybe', 'ordering=nope', 'cursor=%%%']) {
      const reply = await call('GET', `/api/organizations/1/memberships?${q}`, { token: OWNER_TOKEN });
      expect(reply.status, q).toBe(400);
    }
    for (const q of ['page=0', 'page=-1', 'page=abc', 'page=1.5', 'page=1e3']) {
      const reply = await call('GET', `/api/organizations/1/memberships?${q}`, { token: OWNER_TOKEN });
      expect(reply, q).toMatchObject({ status: 404, body: { detail: 'Invalid page.' } });
    }
  });
});
