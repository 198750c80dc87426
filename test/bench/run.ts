/**
 * Benchmark: latency and DynamoDB round trips per request for every route, through the local
 * runtime over HTTP (authorizer + handler + DynamoDB Local). Not a test: it prints figures.
 *
 *   npm run bench            (N=300 requests per route by default; BENCH_N to change)
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDynamoDbLocal } from '../../infra/local/dynamodb.js';
import { startRoster } from '../../infra/local/runtime.js';
import { createDb } from '../../lib/core/db.js';
import { newUserItem, membershipItem, userPuts } from '../../lib/core/items.js';
import { transactWrite } from '../../lib/core/db.js';
import { nextId } from '../../lib/core/ids.js';
import { resetLegacyToken } from '../../lib/org/tokens.js';
import { now } from '../../lib/core/util.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
const N = Number(process.env.BENCH_N ?? 300);
const MEMBERS = 1000;

const dynamo = await startDynamoDbLocal();
const lines: string[] = [];
const roster = await startRoster({
  port: 0,
  dataDir: mkdtempSync(join(tmpdir(), 'roster-bench-')),
  tableName: 'bench',
  dynamodbEndpoint: dynamo.endpoint,
  bootstrapEmail: 'owner@example.com',
  bootstrapToken: 'bench',
  log: (l) => lines.push(l),
});
const db = createDb('bench', dynamo.endpoint);
for (let i = 0; i < MEMBERS; i += 50) {
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      const id = await nextId(db, 'user');
      const user = newUserItem(id, { email: `m${id}@example.com` }, 1, now());
      await transactWrite(db, [...userPuts(db.table, user), { Put: { TableName: db.table, Item: membershipItem(1, user, 'AN', 'manual', now()) } }]);
    }),
  );
}

const headers = { authorization: 'Token bench', 'content-type': 'application/json' };
const post = async (path: string, body: unknown, h: Record<string, string> = headers) =>
  (await (await fetch(`${roster.url}${path}`, { method: 'POST', headers: h, body: JSON.stringify(body) })).json()) as Record<string, any>;
// A workspace with 20 projects, and an annotator (user 2) in it with a legacy token of their own.
const ws = (await post('/api/workspaces/', { title: 'Bench' })).id;
const projects: number[] = [];
for (let i = 0; i < 20; i++) projects.push((await post('/api/projects/', { title: `p${i}`, workspace: ws })).id);
await post(`/api/workspaces/${ws}/memberships/`, { user: 2 });
const annotatorToken = await resetLegacyToken(db, 1, 2);
const annotator = { authorization: `Token ${annotatorToken}`, 'content-type': 'application/json' };
const pat = (await post('/api/token/', {})).token as string;
let n = 0;
const cases: [string, string, string, () => unknown][] = [
  ['GET whoami', 'GET', '/api/current-user/whoami', () => undefined],
  ['GET organizations', 'GET', '/api/organizations/', () => undefined],
  ['GET organization', 'GET', '/api/organizations/1', () => undefined],
  ['GET memberships (page 1, 100)', 'GET', '/api/organizations/1/memberships?page_size=100', () => undefined],
  ['GET memberships (page 5, no cursor)', 'GET', '/api/organizations/1/memberships?page=5&page_size=100', () => undefined],
  ['PATCH memberships', 'PATCH', '/api/organizations/1/memberships', () => ({ user_id: 2 + (n % 50), role: n++ % 2 ? 'RE' : 'AN' })],
  ['POST users', 'POST', '/api/users/', () => ({ email: `bench${n++}@example.com` })],
  ['401 (no token)', 'GET', '/api/current-user/whoami', () => undefined],
  ['GET project (annotator, via workspace)', 'GET', `/api/projects/${projects[0]}/`, () => undefined],
  ['POST access/check (one)', 'POST', '/api/access/check', () => ({ user_id: 2, action: 'project.label', project_id: projects[0] })],
  ['GET accessible-projects (annotator)', 'GET', '/api/users/2/accessible-projects', () => undefined],
  ['GET project members page (1,001 members)', 'GET', `/api/projects/${projects[0]}/members/paginated/?page_size=100`, () => undefined],
  ['POST token/refresh', 'POST', '/api/token/refresh/', () => ({ refresh: pat })],
  ['GET activity-logs (page 1, 100)', 'GET', '/api/activity-logs/?page_size=100', () => undefined],
  ['GET activity-logs (page 5, 100)', 'GET', '/api/activity-logs/?page=5&page_size=100', () => undefined],
  ['GET activity-logs (user, today)', 'GET', `/api/activity-logs/?user=1&start_date=${new Date().toISOString().slice(0, 10)}&page_size=100`, () => undefined],
  ['GET project membership history', 'GET', `/api/fsm/projects/${projects[0]}/membership-history/`, () => undefined],
];
// The log has caught up with the setup (about 2,000 entries) before the routes are timed.
while (!roster.streamIdle()) await new Promise((r) => setTimeout(r, 100));

const pct = (xs: number[], p: number) => xs.sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
console.log(`${N} sequential requests per route, ${MEMBERS + 1} members, DynamoDB Local on this machine\n`);
console.log('route                                        p50 ms  p95 ms  DynamoDB round trips');
for (const [name, method, path, body] of cases) {
  const times: number[] = [];
  const trips = new Set<number>();
  for (let i = 0; i < N; i++) {
    const b = body();
    const started = performance.now();
    const res = await fetch(`${roster.url}${path}`, {
      method,
      headers: name.startsWith('401') ? {} : name.includes('(annotator') ? annotator : headers,
      body: b ? JSON.stringify(b) : undefined,
    });
    await res.text();
    times.push(performance.now() - started);
    trips.add(Number(/db=(\d+)$/.exec(lines.at(-1)!)![1]));
    if (res.status >= 500) throw new Error(`${name}: ${res.status}`);
  }
  console.log(`${name.padEnd(44)} ${pct(times, 50).toFixed(1).padStart(6)}  ${pct(times, 95).toFixed(1).padStart(6)}  ${[...trips].sort().join('/')}`);
}
await roster.stop();
await dynamo.stop();
