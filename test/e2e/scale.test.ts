/**
 * Scale: a workspace with 10,000 members is listed page by page from the table (cursor links),
 * each member exactly once, and a project in it lists them as implicit members the same way.
 */
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, createDb } from '../../lib/core/db.js';
import { membershipItem, newUserItem } from '../../lib/core/items.js';
import { keys } from '../../lib/core/table.js';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { DynamoDBRecord } from 'aws-lambda';
import { processRecord } from '../../functions/stream/consumer.js';
import { addMember } from '../support/db.js';
import { OWNER_TOKEN, client, startTestRoster } from '../support/roster.js';

const MEMBERS = 10_000;
let roster: Awaited<ReturnType<typeof startTestRoster>>;
let call: ReturnType<typeof client>;
let db: Db;
let ws: number;
let project: number;
const seeded: number[] = [];

async function writeAll(items: Record<string, unknown>[]) {
  const chunks: Record<string, unknown>[][] = [];
  for (let i = 0; i < items.length; i += 25) chunks.push(items.slice(i, i + 25));
  const worker = async () => {
    for (let chunk = chunks.pop(); chunk; chunk = chunks.pop()) {
      let pending = chunk.map((Item) => ({ PutRequest: { Item } }));
      while (pending.length) {
        const r = await db.doc.send(new BatchWriteCommand({ RequestItems: { [db.table]: pending } }));
        pending = (r.UnprocessedItems?.[db.table] ?? []) as typeof pending;
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

beforeAll(async () => {
  // This file checks paging at scale. Its 35,000 seeded changes need no activity entries, so the
  // stream runs jobs only (skipping entries as stored); the activity log's own tests cover that.
  const processor = new BatchProcessor(EventType.DynamoDBStreams);
  roster = await startTestRoster({
    streamHandler: (event, context) => processPartialResponse(event, (r: DynamoDBRecord) => processRecord(r, new Set(event.Records.map((x) => x.eventID!))), processor, { context }),
  });
  call = client(roster.url);
  db = createDb(process.env.TABLE_NAME!, roster.dynamodbEndpoint);
  ws = (await call('POST', '/api/workspaces/', { token: OWNER_TOKEN, body: { title: 'Big' } })).body.id;
  project = (await call('POST', '/api/projects/', { token: OWNER_TOKEN, body: { title: 'Big project', workspace: ws } })).body.id;
  // Seeded directly (ids far from the counter's): 10,000 annotators, each a member of the workspace.
  const at = new Date().toISOString();
  const items: Record<string, unknown>[] = [];
  for (let i = 0; i < MEMBERS; i++) {
    const id = 100_000 + i;
    seeded.push(id);
    const user = newUserItem(id, { email: `bulk${id}@example.com` }, 1, at);
    items.push(membershipItem(1, user, 'AN', 'scim', at), {
      ...keys.workspaceMember(1, ws, id),
      ...keys.workspaceMemberByUser(id, 1, ws),
      type: 'workspace_member',
      workspace: ws,
      user_id: id,
    });
  }
  await writeAll(items);
}, 900_000);
afterAll(() => roster?.stop());

async function walk(first: string, ids: (body: any) => number[]) {
  const seen: number[] = [];
  let next: string | null = first;
  let pages = 0;
  while (next) {
    const page: { status: number; body: any } = await call('GET', next.startsWith('http') ? next.slice(roster.url.length) : next, { token: OWNER_TOKEN });
    expect(page.status).toBe(200);
    seen.push(...ids(page.body));
    next = page.body.next;
    pages++;
  }
  return { seen, pages };
}

describe('a workspace with 10,000 members', () => {
  it('lists its members page by page, each exactly once', async () => {
    const { seen, pages } = await walk(`/api/workspaces/${ws}/memberships/paginated/?page_size=500`, (b) => b.results.map((u: { id: number }) => u.id));
    expect(pages).toBe(21); // 10,001 members (the creator too) in pages of 500
    expect(seen).toHaveLength(MEMBERS + 1);
    expect(new Set(seen).size).toBe(MEMBERS + 1);
    expect(seen.filter((id) => id >= 100_000).sort((a, b) => a - b)).toEqual(seeded);
  }, 120_000);

  it('lists the project\'s implicit members page by page, each exactly once', async () => {
    const { seen } = await walk(`/api/projects/${project}/members/paginated/?page_size=1000`, (b) => b.results.map((u: { id: number }) => u.id));
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.filter((id) => id >= 100_000)).toHaveLength(MEMBERS);
  }, 120_000);

  it('pages a user in 5,000 projects (3,000 through a workspace, 2,000 direct) through accessible-projects, each exactly once', async () => {
    const reader = 100_000 + 42; // one of the seeded annotators: a member of the big workspace
    const at = new Date().toISOString();
    const items: Record<string, unknown>[] = [];
    const expected: number[] = [project];
    for (let i = 0; i < 5000; i++) {
      const id = 500_000 + i;
      const inWs = i < 3000;
      expected.push(id);
      items.push({
        ...keys.project(1, id),
        ...(inWs ? keys.projectInWorkspace(1, ws, id) : {}),
        type: 'project', id, title: `p${id}`, description: null, workspace: inWs ? ws : null, published: true,
        annotator_instructions: '', reviewer_instructions: '', created_by: 1, created_at: at,
      });
      if (!inWs) items.push({ ...keys.projectMember(1, id, reader), ...keys.projectMemberByUser(reader, 1, id), type: 'project_member', project: id, user_id: reader });
    }
    await writeAll(items);
    const { seen } = await walk(`/api/users/${reader}/accessible-projects?page_size=1000`, (b) => b.results.map((p: { id: number }) => p.id));
    expect(seen).toHaveLength(5001);
    expect(new Set(seen).size).toBe(5001);
    expect(seen).toEqual([...expected].sort((a, b) => a - b));
  }, 180_000);

  it('answers a single access check in 2 DynamoDB calls, the first one together with the caller', async () => {
    const admin = await addMember(db, 1, 'AD', 'scale-admin@example.com');
    const r = await call('POST', '/api/access/check', { token: admin.token, body: { user_id: seeded[5000], action: 'project.label', project_id: project } });
    expect(r.body).toMatchObject({ allowed: true, reason: 'workspace_membership' });
    expect(roster.lines.at(-1)).toMatch(/ 200 \d+ms db=2\/2$/);
  });
});
