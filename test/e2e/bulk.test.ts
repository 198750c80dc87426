import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, createDb } from '../../lib/core/db.js';
import { type Job, runSlice } from '../../lib/access/jobs.js';
import { type Member, addMember } from '../support/db.js';
import { OWNER_TOKEN, client, startTestRoster } from '../support/roster.js';

let roster: Awaited<ReturnType<typeof startTestRoster>>;
let call: ReturnType<typeof client>;
let db: Db;
let people: Member[];

beforeAll(async () => {
  roster = await startTestRoster();
  call = client(roster.url);
  db = createDb(process.env.TABLE_NAME!, roster.dynamodbEndpoint);
  people = [];
  for (let i = 0; i < 160; i += 20) people.push(...(await Promise.all(Array.from({ length: 20 }, () => addMember(db, 1, 'AN')))));
}, 120_000);
afterAll(() => roster?.stop());

const workspace = async () => (await call('POST', '/api/workspaces/', { token: OWNER_TOKEN, body: { title: 'Bulk' } })).body.id as number;
const memberCount = async (ws: number) => (await call('GET', `/api/workspaces/${ws}/memberships/paginated/?page_size=1`, { token: OWNER_TOKEN })).body.count as number;

/**
 * A job's slices run in the stream consumer behind whatever the stream holds before them: on a busy
 * 2-core machine (another test file's DynamoDB Local and `npm start` processes beside this one) that
 * takes tens of seconds, so the wait is generous; what is asserted is the outcome, not the time.
 */
async function finished(statusUrl: string): Promise<Job> {
  const deadline = Date.now() + 150_000;
  for (;;) {
    const r = await call('GET', statusUrl.slice(roster.url.length), { token: OWNER_TOKEN });
    expect(r.status).toBe(200);
    if (r.body.status === 'done') return r.body;
    if (Date.now() > deadline) throw new Error(`job not done: ${JSON.stringify(r.body)}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

describe('bulk membership changes', () => {
  it('applies a small selection at once (200), reporting who was skipped', async () => {
    const ws = await workspace();
    const picked = people.slice(0, 3).map((m) => m.userId);
    const r = await call('POST', `/api/workspaces/${ws}/memberships/bulk/`, { token: OWNER_TOKEN, body: { all: false, included: [...picked, 999_999] } });
    expect(r).toMatchObject({ status: 200, body: { assignments: 3, skipped_user_ids: [999_999] } });
    expect(await memberCount(ws)).toBe(4); // with the Owner who created it
  });

  it('runs a selection past the transaction limit as a job (202 with a status to poll), once per person', async () => {
    const ws = await workspace();
    const left = people[7]!.userId;
    const r = await call('POST', `/api/workspaces/${ws}/memberships/bulk/`, { token: OWNER_TOKEN, body: { all: true, excluded: [left] } });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ job_id: expect.any(String), status: 'pending', status_url: expect.stringContaining(`/api/jobs/${r.body.job_id}`) });
    const job = await finished(r.body.status_url);
    const members = (await call('GET', '/api/organizations/1/memberships?page_size=1', { token: OWNER_TOKEN })).body.count as number;
    expect(job.processed).toBe(members - 1);
    expect(await memberCount(ws)).toBe(members - 1);
    const an = people[8]!;
    const p = (await call('POST', '/api/projects/', { token: OWNER_TOKEN, body: { title: 'bulk p', workspace: ws } })).body.id;
    expect((await call('GET', `/api/projects/${p}/`, { token: an.token })).status).toBe(200);
    expect((await call('GET', `/api/projects/${p}/`, { token: people[7]!.token })).status).toBe(404);

    // A redelivered slice (the stream batch retried) changes nothing and counts nothing twice.
    await runSlice(db, { ...job, status: 'pending', cursor: 0, processed: 0, organization: 1 });
    const again = (await call('GET', `/api/jobs/${job.id}`, { token: OWNER_TOKEN })).body;
    expect(again.processed).toBe(job.processed);
    expect(await memberCount(ws)).toBe(members - 1);

    // Bulk removal of everyone, as a job too.
    const gone = await call('DELETE', `/api/workspaces/${ws}/memberships/bulk/?all=true`, { token: OWNER_TOKEN });
    expect(gone.status).toBe(202);
    await finished(gone.body.status_url);
    expect(await memberCount(ws)).toBe(0);
    expect((await call('GET', `/api/projects/${p}/`, { token: an.token })).status).toBe(404);
  }, 180_000);

  it('assigns and unassigns project members in bulk', async () => {
    const p = (await call('POST', '/api/projects/', { token: OWNER_TOKEN, body: { title: 'direct' } })).body.id;
    const picked = people.slice(10, 15);
    const r = await call('POST', `/api/projects/${p}/members/bulk/`, { token: OWNER_TOKEN, body: { all: false, included: picked.map((m) => m.userId) } });
    expect(r).toMatchObject({ status: 200, body: { assignments: 5, skipped_user_ids: [] } });
    for (const m of picked) expect((await call('GET', `/api/projects/${p}/`, { token: m.token })).status).toBe(200);
    const out = await call('DELETE', `/api/projects/${p}/members/bulk/?included=${picked.map((m) => m.userId).join(',')}`, { token: OWNER_TOKEN });
    expect(out).toMatchObject({ status: 200, body: { unassignments: 5 } });
    for (const m of picked) expect((await call('GET', `/api/projects/${p}/`, { token: m.token })).status).toBe(404);
  });

  it('shows a job only to its creator and the Owner and Administrators', async () => {
    const ws = await workspace();
    const r = await call('POST', `/api/workspaces/${ws}/memberships/bulk/`, { token: OWNER_TOKEN, body: { all: true } });
    await finished(r.body.status_url);
    const ad = await addMember(db, 1, 'AD');
    expect((await call('GET', `/api/jobs/${r.body.job_id}`, { token: ad.token })).status).toBe(200);
    expect((await call('GET', `/api/jobs/${r.body.job_id}`, { token: people[0]!.token })).status).toBe(404);
    expect((await call('GET', '/api/jobs/not-a-uuid', { token: OWNER_TOKEN })).status).toBe(404);
  }, 180_000);

  it('refuses bad selections (400) and people who may not manage members (403/404)', async () => {
    const ws = await workspace();
    for (const body of [{}, { all: 'yes' }, { all: false, included: ['x'] }, { all: false, included: [0] }]) {
      expect((await call('POST', `/api/workspaces/${ws}/memberships/bulk/`, { token: OWNER_TOKEN, body })).status).toBe(400);
    }
    expect((await call('DELETE', `/api/workspaces/${ws}/memberships/bulk/?included=a,b`, { token: OWNER_TOKEN })).status).toBe(400);
    expect((await call('POST', `/api/workspaces/${ws}/memberships/bulk/`, { token: people[0]!.token, body: { all: true } })).status).toBe(404);
  });
});
