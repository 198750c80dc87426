/**
 * Page parameters on every listing of the route table (a new GET route is swept as soon as it is
 * declared): LSE's page-number listings answer a page past the last, page 0 and a page that is no
 * number with Django REST framework's 404 {"detail": "Invalid page."}, and a page size out of range
 * with a 400 naming `page_size`; cursor listings refuse the page size alike; no listing answers 5xx,
 * whatever number it is sent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routes } from '../../functions/routes.js';
// The SCIM protocol (/scim/v2/) answers in its own shapes; its bad input and paging: scim-users.test.ts.
import { documented } from '../../functions/openapi/document.js';
import { OWNER_TOKEN, client, startTestRoster } from '../support/roster.js';

let roster: Awaited<ReturnType<typeof startTestRoster>>;
let call: ReturnType<typeof client>;
const ids = { workspace: 0, project: 0 };

beforeAll(async () => {
  roster = await startTestRoster();
  call = client(roster.url);
  const ws = await call('POST', '/api/workspaces/', { token: OWNER_TOKEN, body: { title: 'Pages' } });
  const project = await call('POST', '/api/projects/', { token: OWNER_TOKEN, body: { title: 'Pages', workspace: ws.body.id } });
  expect([ws.status, project.status]).toEqual([201, 201]);
  Object.assign(ids, { workspace: ws.body.id, project: project.body.id });
});
afterAll(() => roster?.stop());

/** A route's path with its parameters filled with things that exist (the organization, its Owner, the workspace and project made above). */
function concrete(path: string): string {
  const id = path.startsWith('/api/workspaces/') ? ids.workspace : path.startsWith('/api/projects/') ? ids.project : 1;
  return path
    .replace('{id}', String(id))
    .replace('{org_id}', '1')
    .replace('{workspace_id}', String(ids.workspace))
    .replace('{project_id}', String(ids.project))
    .replace('{user_pk}', '1')
    .replace('{permission_key}', 'project.delete');
}

const get = (path: string, query: string) => call('GET', `${concrete(path)}${path.includes('?') ? '&' : '?'}${query}`, { token: OWNER_TOKEN });

type Kind = 'numbered' | 'cursor' | 'array';
/** What a listing is, from its answer: LSE's numbered pages carry a count; cursor pages a `next`; else a plain array. */
function kindOf(body: unknown): Kind | undefined {
  if (Array.isArray(body)) return 'array';
  if (!body || typeof body !== 'object') return undefined;
  if ('count' in body || 'recordsTotal' in body) return 'numbered';
  if ('next' in body && 'results' in body) return 'cursor';
  return undefined;
}

const invalidPage = { status: 404, body: { detail: 'Invalid page.' } };
const HUGE = ['page=1000000000', 'page=0', 'page_size=100000000', 'page=-1', 'page=abc', 'page=1e9', 'page=99999999999999999999', 'page_size=-5', 'start=1000000000', 'length=100000000', 'cursor=x'];

describe('page parameters on every listing', () => {
  const gets = routes.filter(documented).filter((r) => r.method === 'GET');
  const kinds = new Map<string, Kind>();

  it.each(gets.map((r) => ({ label: r.path, r })))('$label: answers no page parameter, however large or malformed, with a 5xx', async ({ r }) => {
    const plain = await get(r.path, '');
    expect(plain.status, JSON.stringify(plain.body)).toBeLessThan(500);
    const kind = plain.status === 200 ? kindOf(plain.body) : undefined;
    if (kind) kinds.set(r.path, kind);
    for (const q of HUGE) {
      const reply = await get(r.path, q);
      expect(reply.status, `${q} → ${JSON.stringify(reply.body)}`).toBeLessThan(500);
    }
  });

  it('finds the numbered listings among the routes (memberships, workspace members, activity log, the four histories, the seat report, review definitions and instances)', () => {
    const numbered = [...kinds].filter(([, k]) => k === 'numbered').map(([p]) => p);
    expect(numbered.sort()).toEqual(
      [
        '/api/organizations/{id}/memberships',
        '/api/workspaces/{id}/memberships/paginated/',
        '/api/activity-logs/',
        '/api/fsm/organizations/{org_id}/membership-history/',
        '/api/fsm/workspaces/{workspace_id}/membership-history/',
        '/api/fsm/projects/{project_id}/membership-history/',
        '/api/fsm/projects/{project_id}/role-history/',
        '/api/organizations/{id}/seat-report',
        '/api/access-reviews/definitions/',
        '/api/access-reviews/instances/',
      ].sort(),
    );
  });

  it.each(gets.map((r) => ({ label: r.path, r })))('$label: a numbered listing answers 404 "Invalid page." past the last page and below the first, 400 for a page size out of range', async ({ r }) => {
    const kind = kinds.get(r.path);
    if (kind !== 'numbered') return;
    for (const q of ['page=1000000000', 'page=0', 'page=-1', 'page=abc', 'page=1.5', 'page=1e9', 'page=99999999999999999999']) {
      expect(await get(r.path, q), q).toMatchObject(invalidPage);
    }
    for (const q of ['page_size=100000000', 'page_size=0', 'page_size=x']) {
      const reply = await get(r.path, q);
      expect(reply.status, q).toBe(400);
      expect(reply.body.validation_errors, q).toHaveProperty('page_size');
    }
    // The last page is there; the one after it is not (page 1 of an empty listing is an empty page).
    const first = await get(r.path, 'page_size=1');
    expect(first.status).toBe(200);
    const count = first.body.count ?? first.body.recordsFiltered;
    expect(typeof count).toBe('number');
    if (count > 0) expect((await get(r.path, `page=${count}&page_size=1`)).status).toBe(200);
    expect(await get(r.path, `page=${Math.max(count, 1) + 1}&page_size=1`)).toMatchObject(invalidPage);
  });

  it.each(gets.map((r) => ({ label: r.path, r })))('$label: a cursor listing takes LSE\'s page numbers too: page N is the N-th page of its cursors, past the last or below the first 404 "Invalid page."', async ({ r }) => {
    if (kinds.get(r.path) !== 'cursor') return;
    const all: unknown[] = [];
    let next: string | null = `${concrete(r.path)}?page_size=1`;
    while (next) {
      const reply: { status: number; body: { results: unknown[]; next: string | null } } = await call('GET', next.replace(/^https?:\/\/[^/]+/, ''), { token: OWNER_TOKEN });
      expect(reply.status).toBe(200);
      all.push(...reply.body.results);
      next = reply.body.next;
    }
    for (let n = 1; n <= Math.min(all.length, 3); n++) expect((await get(r.path, `page=${n}&page_size=1`)).body.results).toEqual([all[n - 1]]);
    for (const q of [`page=${Math.max(all.length, 1) + 1}&page_size=1`, 'page=0', 'page=abc']) expect(await get(r.path, q), q).toMatchObject(invalidPage);
  });

  it.each(gets.map((r) => ({ label: r.path, r })))('$label: a cursor listing answers 400 for a page size out of range', async ({ r }) => {
    if (kinds.get(r.path) !== 'cursor') return;
    for (const q of ['page_size=100000000', 'page_size=0']) {
      const reply = await get(r.path, q);
      expect(reply.status, q).toBe(400);
      expect(reply.body.validation_errors, q).toHaveProperty('page_size');
    }
  });
});

describe("the activity log's DataTables paging", () => {
  it('answers a start past the end with an empty page, and a length out of range with 400', async () => {
    const r = await call('GET', '/api/activity-logs/?start=1000000000&length=10', { token: OWNER_TOKEN });
    expect(r.status).toBe(200);
    expect(r.body.data).toEqual([]);
    expect(r.body.recordsTotal).toBeGreaterThan(0);
    expect((await call('GET', '/api/activity-logs/?length=100000000', { token: OWNER_TOKEN })).status).toBe(400);
  });
});
