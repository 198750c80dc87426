import { existsSync, readFileSync } from 'node:fs';
import { DeleteCommand, DynamoDBDocumentClient, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localClient } from '../../infra/local/dynamodb.js';
import { createDb } from '../../lib/core/db.js';
import { digestOrganization } from '../../lib/audit/digest.js';
import { otherOrg } from '../support/db.js';
import { keys } from '../../lib/core/table.js';
import { OWNER_TOKEN, client, startTestRoster } from '../support/roster.js';

let roster: Awaited<ReturnType<typeof startTestRoster>>;
let call: ReturnType<typeof client>;
const today = () => new Date().toISOString().slice(0, 10);
const owner = (method: string, path: string, body?: unknown) => call(method, path, { token: OWNER_TOKEN, body });

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Some changes, and the log caught up with them: returns the range they fall in. */
async function workload(n: number): Promise<{ from: string; to: string }> {
  const from = new Date().toISOString();
  for (let i = 0; i < n; i++) {
    const r = await owner('POST', '/api/workspaces/', { title: `Export, "quoted"\nline ${i}` });
    expect(r.status).toBe(201);
  }
  const to = new Date().toISOString();
  await until('the entries', async () => {
    const r = await owner('GET', `/api/activity-logs/?start_date=${from}&end_date=${to}&page_size=1`);
    return r.body.recordsFiltered >= 2 * n ? true : undefined;
  });
  return { from, to };
}

beforeAll(async () => {
  roster = await startTestRoster();
  call = client(roster.url);
});
afterAll(async () => roster?.stop());

describe('activity log export', () => {
  const exportDone = (id: string) =>
    until('the export', async () => {
      const r = await owner('GET', `/api/activity-logs/exports/${id}`);
      expect(r.status).toBe(200);
      return r.body.status === 'done' ? r.body : undefined;
    });

  it('writes the entries of a date range as NDJSON to the data folder and says where', async () => {
    const range = await workload(5);
    const start = await owner('POST', '/api/activity-logs/export', { format: 'ndjson', start_date: range.from, end_date: range.to });
    expect(start.status).toBe(202);
    expect(start.body).toMatchObject({ status: 'pending', format: 'ndjson', location: expect.stringContaining(roster.dataDir) });
    const done = await exportDone(start.body.id);
    expect(done.location).toBe(start.body.location);
    const lines = readFileSync(done.location, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const listed = await owner('GET', `/api/activity-logs/?start_date=${range.from}&end_date=${range.to}&ordering=datetime&page_size=-1`);
    expect(lines.map((l) => l.id)).toEqual(listed.body.data.map((e: { id: number }) => e.id));
    expect(lines).toEqual(listed.body.data);
    expect(done.count).toBe(lines.length);
    expect(lines.map((l) => l.action).sort()).toEqual([...Array(5).fill('workspace.created'), ...Array(5).fill('workspace_membership.added')].sort());
  });

  it('writes CSV with a header and quoted fields, assembled in order from many parts', async () => {
    const range = await workload(20);
    // A tiny part size: the export takes many slices, one part each.
    process.env.ROSTER_EXPORT_PART_BYTES = '1500';
    try {
      const start = await owner('POST', '/api/activity-logs/export', { format: 'csv', start_date: range.from, end_date: range.to });
      expect(start.status).toBe(202);
      const done = await exportDone(start.body.id);
      expect(done.part).toBeGreaterThan(5);
      expect(existsSync(`${done.location}.parts`)).toBe(false);
      const text = readFileSync(done.location, 'utf8');
      expect(text.startsWith('id,datetime,user_id,email,action,')).toBe(true);
      // Titles hold a comma, quotes and a newline: each is one quoted field, so rows are records, not lines.
      const rows = text.match(/\r\n(?=\d+,)/g)?.length ?? 0;
      expect(rows).toBe(40);
      // `after` is JSON (its quotes escaped as \"), then quoted for CSV (each " doubled).
      expect(text).toContain('\\""quoted\\""');
      const listed = await owner('GET', `/api/activity-logs/?start_date=${range.from}&end_date=${range.to}&ordering=datetime&page_size=-1`);
      const ids = [...text.matchAll(/\r\n(\d+),/g)].map((m) => Number(m[1]));
      expect(ids).toEqual(listed.body.data.map((e: { id: number }) => e.id));
    } finally {
      delete process.env.ROSTER_EXPORT_PART_BYTES;
    }
  });

  it('records who started an export', async () => {
    const start = await owner('POST', '/api/activity-logs/export', { format: 'ndjson' });
    await until('the export entry', async () => {
      const r = await owner('GET', '/api/activity-logs/?search=activity_log.export_started&page_size=100');
      return r.body.data.some((e: { email: string; request_method: string }) => e.email === 'owner@example.com' && e.request_method === 'POST') ? true : undefined;
    });
    await exportDone(start.body.id);
  });

  it('refuses a format it does not write and an unknown export', async () => {
    expect((await owner('POST', '/api/activity-logs/export', { format: 'xml' })).status).toBe(400);
    expect((await owner('POST', '/api/activity-logs/export', { format: 'csv', start_date: 'yesterday' })).status).toBe(400);
    expect((await owner('GET', '/api/activity-logs/exports/00000000-0000-4000-8000-000000000000')).status).toBe(403);
  });
});

describe('activity log tamper evidence', () => {
  it('reports a day as not digested until the job has digested it, then as intact', async () => {
    await workload(3);
    const before = await owner('GET', `/api/activity-logs/verify?start_date=${today()}&end_date=${today()}`);
    expect(before.status).toBe(200);
    expect(before.body.days[0].status).toBe('not_digested');

    const db = createDb(process.env.TABLE_NAME!, roster.dynamodbEndpoint);
    // The scheduled job digests closed days; here today is digested as if it were over.
    await digestOrganization(db, 1, today());
    const after = await owner('GET', `/api/activity-logs/verify?start_date=${today()}&end_date=${today()}`);
    expect(after.body).toMatchObject({ valid: true, days: [{ date: today(), status: 'ok', altered: [], missing: [], inserted: [] }] });
    expect(after.body.days[0].entries).toBeGreaterThanOrEqual(6);
  });

  it('reports an entry edited, an entry deleted and an entry inserted in the table directly, and an edited digest', async () => {
    // Whoever tampers writes to the table with their own client, past Roster.
    const raw = DynamoDBDocumentClient.from(localClient(roster.dynamodbEndpoint));
    const table = process.env.TABLE_NAME!;
    const entries = (await raw.send(new QueryCommand({ TableName: table, KeyConditionExpression: 'PK = :pk AND begins_with(SK, :d)', ExpressionAttributeValues: { ':pk': keys.log(1), ':d': today() } }))).Items!;
    expect(entries.length).toBeGreaterThanOrEqual(3);
    const [edited, deleted, template] = entries as Record<string, unknown>[];
    await raw.send(new UpdateCommand({ TableName: table, Key: { PK: edited!.PK, SK: edited!.SK }, UpdateExpression: 'SET actor_email = :e', ExpressionAttributeValues: { ':e': 'someone-else@example.com' } }));
    await raw.send(new DeleteCommand({ TableName: table, Key: { PK: deleted!.PK, SK: deleted!.SK } }));
    const forgedSk = `${today()}T00:00:00.000Z#forged`;
    await raw.send(new PutCommand({ TableName: table, Item: { ...template, SK: forgedSk, id: 999_999, action: 'organization.updated' } }));

    const r = await owner('GET', `/api/activity-logs/verify?start_date=${today()}&end_date=${today()}`);
    expect(r.status).toBe(200);
    expect(r.body.valid).toBe(false);
    expect(r.body.days[0]).toMatchObject({ status: 'tampered', altered: [edited!.SK], missing: [deleted!.SK], inserted: [forgedSk] });

    const digest = { PK: keys.digest(1), SK: today() };
    await raw.send(new UpdateCommand({ TableName: table, Key: digest, UpdateExpression: 'SET #c = #c + :one', ExpressionAttributeNames: { '#c': 'count' }, ExpressionAttributeValues: { ':one': 1 } }));
    const d = await owner('GET', `/api/activity-logs/verify?start_date=${today()}&end_date=${today()}`);
    expect(d.body.days[0].digest_problems.length).toBeGreaterThan(0);
    raw.destroy();
  });

  const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);
  const verify = (token: string, from: string, to: string) => call('GET', `/api/activity-logs/verify?start_date=${from}&end_date=${to}`, { token });

  /** The organization's log caught up with the table (its count read twice alike, some time apart). */
  async function settled(token: string, more = 0) {
    let last = -1;
    await until('the log', async () => {
      const n = (await call('GET', '/api/activity-logs/?page_size=1', { token })).body.recordsTotal as number;
      const done = n > more && n === last;
      last = n;
      if (!done) await new Promise((r) => setTimeout(r, 400));
      return done ? n : undefined;
    });
    return last;
  }

  /** A new organization, its log caught up with its making. */
  async function newOrganization(title: string) {
    const db = createDb(process.env.TABLE_NAME!, roster.dynamodbEndpoint);
    const org = await otherOrg(db, title);
    return { ...org, db, entries: await settled(org.owner.token) };
  }

  it("answers valid over the 30 days before and including a new organization's first day, the days before it before_history", async () => {
    const org = await newOrganization('Verified from its first day');
    const fresh = await verify(org.owner.token, daysAgo(29), today());
    expect(fresh.status).toBe(200);
    expect(fresh.body.valid).toBe(true);
    expect(fresh.body.days).toHaveLength(30);
    expect(fresh.body.days.slice(0, 29).map((d: { status: string }) => d.status)).toEqual(Array(29).fill('before_history'));
    expect(fresh.body.days[29]).toMatchObject({ date: today(), status: 'not_digested' });

    await digestOrganization(org.db, org.orgId, today());
    const digested = await verify(org.owner.token, daysAgo(29), today());
    expect(digested.body.valid).toBe(true);
    expect(digested.body.days.slice(0, 29).every((d: { status: string }) => d.status === 'before_history')).toBe(true);
    expect(digested.body.days[29]).toMatchObject({ date: today(), status: 'ok', altered: [], missing: [], inserted: [] });
  });

  it("reports a digest missing inside the organization's history as tampered, the first day's too, and an entry put before the log began", async () => {
    const org = await newOrganization('History with a gap');
    const raw = DynamoDBDocumentClient.from(localClient(roster.dynamodbEndpoint));
    const table = process.env.TABLE_NAME!;
    // The organization as if made two days ago, with an entry that day: three days of history.
    await raw.send(new UpdateCommand({ TableName: table, Key: keys.organization(org.orgId), UpdateExpression: 'SET created_at = :at', ExpressionAttributeValues: { ':at': `${daysAgo(2)}T09:00:00.000Z` } }));
    const [template] = (await raw.send(new QueryCommand({ TableName: table, KeyConditionExpression: 'PK = :pk', ExpressionAttributeValues: { ':pk': keys.log(org.orgId) }, Limit: 1 }))).Items!;
    await raw.send(new PutCommand({ TableName: table, Item: { ...template, SK: `${daysAgo(2)}T09:00:00.000Z#first`, at: `${daysAgo(2)}T09:00:00.000Z`, id: 888_888 } }));
    // The organization's update is logged too (today): wait for it before the day is digested.
    await settled(org.owner.token, org.entries + 1);
    await digestOrganization(org.db, org.orgId, today());
    const whole = await verify(org.owner.token, daysAgo(29), today());
    expect(whole.body.valid).toBe(true);
    expect(whole.body.days.slice(27).map((d: { status: string }) => d.status)).toEqual(['ok', 'ok', 'ok']);
    expect(whole.body.days[26].status).toBe('before_history');

    // Yesterday's digest (a day without entries) goes: the range is no longer valid.
    await raw.send(new DeleteCommand({ TableName: table, Key: { PK: keys.digest(org.orgId), SK: daysAgo(1) } }));
    const gap = await verify(org.owner.token, daysAgo(29), today());
    expect(gap.body.valid).toBe(false);
    expect(gap.body.days[28]).toMatchObject({ date: daysAgo(1), status: 'tampered', digest_problems: ['The digest of this day is missing.'] });
    expect(gap.body.days[27].status).toBe('ok');

    // Deleting the chain's first digest does not move where the history begins (the organization's first day).
    await raw.send(new DeleteCommand({ TableName: table, Key: { PK: keys.digest(org.orgId), SK: daysAgo(2) } }));
    const start = await verify(org.owner.token, daysAgo(29), daysAgo(2));
    expect(start.body.valid).toBe(false);
    expect(start.body.days.at(-1)).toMatchObject({ date: daysAgo(2), status: 'tampered', digest_problems: ['The digest of this day is missing.'] });

    // An entry dated before the log began is an insertion, not history.
    const forged = `${daysAgo(10)}T10:00:00.000Z#forged`;
    await raw.send(new PutCommand({ TableName: table, Item: { ...template, SK: forged, at: `${daysAgo(10)}T10:00:00.000Z`, id: 888_889 } }));
    const early = await verify(org.owner.token, daysAgo(12), daysAgo(8));
    expect(early.body.valid).toBe(false);
    expect(early.body.days.map((d: { status: string }) => d.status)).toEqual(['before_history', 'before_history', 'tampered', 'before_history', 'before_history']);
    expect(early.body.days[2].inserted).toEqual([forged]);
    raw.destroy();
  });

  it('answers 400 for a range it cannot verify', async () => {
    expect((await owner('GET', '/api/activity-logs/verify?start_date=2026-01-10&end_date=2026-01-01')).status).toBe(400);
    expect((await owner('GET', '/api/activity-logs/verify?start_date=2025-01-01&end_date=2026-01-01')).status).toBe(400);
    expect((await owner('GET', '/api/activity-logs/verify?start_date=today&end_date=2026-01-01')).status).toBe(400);
  });
});
