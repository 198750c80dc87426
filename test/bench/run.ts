/**
 * Benchmark: DynamoDB calls, sequential round trips and latency per request for the routes, through
 * the local runtime over HTTP (the route's function authenticates and serves, on DynamoDB Local).
 * Latency is given as a ratio to one raw GetItem on the same DynamoDB Local, measured in the same
 * run, so the figures compare across machines. Not a test: it prints figures, and the targets each
 * route is held to, and exits 1 when one is missed.
 *
 *   npm run bench            (N=300 requests per route by default; BENCH_N to change)
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { startDynamoDbLocal } from '../../infra/local/dynamodb.js';
import { startRoster } from '../../infra/local/runtime.js';
import { createDb, transactWrite } from '../../lib/core/db.js';
import { nextId } from '../../lib/core/ids.js';
import { membershipItem, newUserItem, userPuts } from '../../lib/core/items.js';
import { keys } from '../../lib/core/table.js';
import { now } from '../../lib/core/util.js';
import { resetLegacyToken } from '../../lib/org/tokens.js';

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
  bootstrapToken: 'bench-bootstrap-token',
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

const as = (token: string) => ({ authorization: `Token ${token}`, 'content-type': 'application/json' });
// The Owner with the kind of token Roster issues (it names its membership); a member with a token
// of the form a script chooses (ROSTER_BOOTSTRAP_TOKEN), which is found through its lookup item.
const owner = as(await resetLegacyToken(db, 1, 1));
const chosen = as(await resetLegacyToken(db, 1, 3, 'a-token-someone-chose'));
const post = async (path: string, body: unknown) => (await (await fetch(`${roster.url}${path}`, { method: 'POST', headers: owner, body: JSON.stringify(body) })).json()) as Record<string, any>;
// A workspace with 20 projects, and an annotator (user 2) in it with a legacy token of their own.
const ws = (await post('/api/workspaces/', { title: 'Bench' })).id;
const projects: number[] = [];
for (let i = 0; i < 20; i++) projects.push((await post('/api/projects/', { title: `p${i}`, workspace: ws })).id);
await post(`/api/workspaces/${ws}/memberships/`, { user: 2 });
const annotator = as(await resetLegacyToken(db, 1, 2));
const pat = (await post('/api/token/', {})).token as string;
const bearer = async () => ({ authorization: `Bearer ${((await post('/api/token/refresh/', { refresh: pat })) as { access: string }).access}` });
const access = await bearer();
// SCIM: a SCIM token, one provisioned user to find by filter, a group whose member is added and removed.
const scimToken = (await post('/api/scim/tokens', {})).token as string;
const scim = { authorization: `Bearer ${scimToken}`, 'content-type': 'application/scim+json' };
const scimPost = async (path: string, body: unknown) => (await (await fetch(`${roster.url}/scim/v2${path}`, { method: 'POST', headers: scim, body: JSON.stringify(body) })).json()) as Record<string, any>;
const scimUser = (await scimPost('/Users', { userName: 'scim.bench@example.com', name: { givenName: 'S', familyName: 'B' } })).id as string;
const scimGroup = (await scimPost('/Groups', { displayName: 'Bench group', members: [] })).id as string;

interface Case {
  name: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: () => unknown;
  /** Targets: at most this many calls / sequential round trips. */
  calls?: number;
  trips?: number;
}
let n = 0;
// Hot routes: what a client calls on every page or every check; each is held to at most 3 calls.
const HOT = 3;
const cases: Case[] = [
  { name: 'GET whoami', method: 'GET', path: '/api/current-user/whoami', headers: owner, calls: 2, trips: 1 },
  { name: 'GET whoami (access token from a PAT)', method: 'GET', path: '/api/current-user/whoami', headers: access, calls: 2, trips: 1 },
  { name: 'GET whoami (a chosen token, as ROSTER_BOOTSTRAP_TOKEN)', method: 'GET', path: '/api/current-user/whoami', headers: chosen },
  { name: 'GET organizations', method: 'GET', path: '/api/organizations/', headers: owner, calls: HOT },
  { name: 'GET organization', method: 'GET', path: '/api/organizations/1', headers: owner, calls: 2, trips: 1 },
  { name: 'GET workspace (annotator)', method: 'GET', path: `/api/workspaces/${ws}/`, headers: annotator, calls: 2, trips: 1 },
  { name: 'GET project (annotator, via workspace)', method: 'GET', path: `/api/projects/${projects[0]}/`, headers: annotator, calls: 2 },
  { name: 'POST access/check (one)', method: 'POST', path: '/api/access/check', headers: owner, body: () => ({ user_id: 2, action: 'project.label', project_id: projects[0] }), calls: 2 },
  { name: 'POST access/check (annotator, self)', method: 'POST', path: '/api/access/check', headers: annotator, body: () => ({ user_id: 2, action: 'project.label', project_id: projects[0] }), calls: 2 },
  { name: 'GET accessible-projects (annotator)', method: 'GET', path: '/api/users/2/accessible-projects', headers: annotator, trips: 3 },
  { name: 'GET memberships (page 1, 100)', method: 'GET', path: '/api/organizations/1/memberships?page_size=100', headers: owner, calls: HOT },
  { name: 'GET memberships (page 5, no cursor)', method: 'GET', path: '/api/organizations/1/memberships?page=5&page_size=100', headers: owner },
  { name: 'PATCH memberships', method: 'PATCH', path: '/api/organizations/1/memberships', headers: owner, body: () => ({ user_id: 4 + (n % 50), role: n++ % 2 ? 'RE' : 'AN' }) },
  { name: 'POST users', method: 'POST', path: '/api/users/', headers: owner, body: () => ({ email: `bench${n++}@example.com` }) },
  { name: 'GET project members page (1,001 members)', method: 'GET', path: `/api/projects/${projects[0]}/members/paginated/?page_size=100`, headers: owner },
  { name: 'POST token/refresh', method: 'POST', path: '/api/token/refresh/', headers: { 'content-type': 'application/json' }, body: () => ({ refresh: pat }) },
  { name: '401 (no token)', method: 'GET', path: '/api/current-user/whoami', headers: {}, calls: 0 },
  { name: 'GET activity-logs (page 1, 100)', method: 'GET', path: '/api/activity-logs/?page_size=100', headers: owner },
  { name: 'GET activity-logs (page 5, 100)', method: 'GET', path: '/api/activity-logs/?page=5&page_size=100', headers: owner },
  { name: 'GET activity-logs (user, today)', method: 'GET', path: `/api/activity-logs/?user=1&start_date=${new Date().toISOString().slice(0, 10)}&page_size=100`, headers: owner },
  { name: 'POST scim/v2/Users (create user)', method: 'POST', path: '/scim/v2/Users', headers: scim, body: () => ({ userName: `scim${n++}@example.com`, active: true }), calls: 10, trips: 8 },
  { name: 'GET scim/v2/Users?filter=userName eq', method: 'GET', path: `/scim/v2/Users?filter=${encodeURIComponent('userName eq "SCIM.Bench@example.com"')}`, headers: scim, calls: 3, trips: 3 },
  { name: 'PATCH scim/v2/Groups/{id} (one member)', method: 'PATCH', path: `/scim/v2/Groups/${scimGroup}`, headers: scim, body: () => ({ Operations: [n++ % 2 ? { op: 'remove', path: `members[value eq "${scimUser}"]` } : { op: 'add', path: 'members', value: [{ value: scimUser }] }] }), calls: 12, trips: 10 },
  { name: 'GET project membership history', method: 'GET', path: `/api/fsm/projects/${projects[0]}/membership-history/`, headers: owner },
];
// The log has caught up with the setup (about 2,000 entries) before the routes are timed.
while (!roster.streamIdle()) await new Promise((r) => setTimeout(r, 100));

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
/** One raw GetItem through the SDK on the same DynamoDB Local: the unit the routes are measured in. */
async function rawGetItem(count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await db.doc.send(new GetCommand({ TableName: db.table, Key: keys.membership(1, 2), ConsistentRead: true }));
    times.push(performance.now() - started);
  }
  return times;
}

await rawGetItem(50);
const raw = await rawGetItem(N);
const results: { c: Case; calls: number[]; trips: number[]; p50: number; p95: number }[] = [];
for (const c of cases) {
  const times: number[] = [];
  const calls = new Set<number>();
  const trips = new Set<number>();
  for (let i = 0; i < N; i++) {
    const b = c.body?.();
    const started = performance.now();
    const res = await fetch(`${roster.url}${c.path}`, { method: c.method, headers: c.headers, body: b ? JSON.stringify(b) : undefined });
    await res.text();
    times.push(performance.now() - started);
    const [, k, t] = /db=(\d+)\/(\d+)$/.exec(lines.at(-1)!)!;
    calls.add(Number(k));
    trips.add(Number(t));
    if (res.status >= 500 || (res.status >= 400 && !c.name.startsWith('401'))) throw new Error(`${c.name}: ${res.status}`);
  }
  results.push({ c, calls: [...calls].sort(), trips: [...trips].sort(), p50: pct(times, 50), p95: pct(times, 95) });
}
raw.push(...(await rawGetItem(N)));
const unit = pct(raw, 50);

const missed: string[] = [];
console.log(`${N} sequential requests per route, ${MEMBERS + 1} members, DynamoDB Local on this machine`);
console.log(`one raw GetItem (consistent, same DynamoDB Local, same run): p50 ${unit.toFixed(2)} ms\n`);
console.log('| route | DynamoDB calls | sequential round trips | p50 / GetItem | p50 ms | p95 ms | target |');
console.log('|---|---|---|---|---|---|---|');
for (const { c, calls, trips, p50, p95 } of results) {
  const target = [c.calls !== undefined ? `≤ ${c.calls} calls` : '', c.trips !== undefined ? `${c.trips} round trip${c.trips > 1 ? 's' : ''}` : ''].filter(Boolean).join(', ');
  const ok = (c.calls === undefined || Math.max(...calls) <= c.calls) && (c.trips === undefined || Math.max(...trips) <= c.trips);
  if (!ok) missed.push(c.name);
  console.log(`| ${c.name} | ${calls.join('/')} | ${trips.join('/')} | ${(p50 / unit).toFixed(1)}× | ${p50.toFixed(1)} | ${p95.toFixed(1)} | ${target ? `${target} ${ok ? '✓' : '✗ missed'}` : ''} |`);
}
await roster.stop();
await dynamo.stop();
if (missed.length) {
  console.log(`\ntargets missed: ${missed.join(', ')}`);
  process.exit(1);
}
