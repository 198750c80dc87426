/**
 * The request path: each route's function authenticates its own requests, the caller is known in
 * the request's first DynamoDB round trip, and the items a route declares come back in it. Counted
 * from the local runtime's request log (`db=<calls>/<sequential round trips>`).
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, createDb } from '../../lib/core/db.js';
import { keys } from '../../lib/core/table.js';
import { resetLegacyToken } from '../../lib/org/tokens.js';
import { signIn } from '../support/cognito.js';
import { type Member, addMember } from '../support/db.js';
import { OWNER_TOKEN, client, startTestRoster } from '../support/roster.js';

let roster: Awaited<ReturnType<typeof startTestRoster>>;
let call: ReturnType<typeof client>;
let db: Db;
let ws: number;
let project: number;
let annotator: Member;

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The DynamoDB calls and sequential round trips the last request made, from its log line. */
const lastCounts = () => {
  const m = /db=(\d+)\/(\d+)$/.exec(roster.lines.at(-1)!);
  return { calls: Number(m![1]), trips: Number(m![2]) };
};
const bearer = (jwt: string) => ({ authorization: `Bearer ${jwt}` });

beforeAll(async () => {
  roster = await startTestRoster();
  call = client(roster.url);
  db = createDb(process.env.TABLE_NAME!, roster.dynamodbEndpoint);
  ws = (await call('POST', '/api/workspaces/', { token: OWNER_TOKEN, body: { title: 'Path' } })).body.id;
  project = (await call('POST', '/api/projects/', { token: OWNER_TOKEN, body: { title: 'Path project', workspace: ws } })).body.id;
  annotator = await addMember(db, 1, 'AN', 'path-annotator@example.com');
  expect((await call('POST', `/api/workspaces/${ws}/memberships/`, { token: OWNER_TOKEN, body: { user: annotator.userId } })).status).toBe(200);
});
afterAll(() => roster?.stop());

// First in the file: refusals are counted per address and minute (only the first few become entries).
describe('forged legacy tokens', () => {
  it('refuses another member\'s ids with a valid-looking secret, another organization\'s ids, and a truncated token, and records each refusal under no organization', async () => {
    const victim = await addMember(db, 1, 'AD', 'path-victim@example.com');
    const [, , , secret] = annotator.token.split('_');
    const forged = [`rlt_1_${victim.userId}_${secret}`, `rlt_2_${annotator.userId}_${secret}`, annotator.token.slice(0, -3), `rlt_1_${victim.userId}_${'0'.repeat(40)}`];
    const agent = `forger-${Date.now()}`;
    for (const token of forged) {
      const r = await call('GET', '/api/organizations/1/memberships', { token, headers: { 'user-agent': agent } });
      expect(r, token).toMatchObject({ status: 401, body: { detail: expect.any(String) } });
    }
    // As for any unknown token: auth.failed entries under organization 0, which no API reads.
    const refusals = async () =>
      ((await db.doc.send(new QueryCommand({ TableName: db.table, KeyConditionExpression: 'PK = :pk', FilterExpression: 'user_agent = :ua', ExpressionAttributeValues: { ':pk': keys.log(0), ':ua': agent }, ConsistentRead: true }))).Items ?? []) as { action: string; organization: number }[];
    const deadline = Date.now() + 10_000;
    while ((await refusals()).length < forged.length && Date.now() < deadline) await pause(100);
    const entries = await refusals();
    expect(entries.map((e) => e.action)).toEqual(forged.map(() => 'auth.failed'));
    expect(entries.every((e) => e.organization === 0)).toBe(true);
  });
});

describe('the caller in the first round trip', () => {
  it('serves whoami, an organization and a workspace in one round trip with a token Roster issued', async () => {
    for (const path of ['/api/current-user/whoami', '/api/organizations/1', `/api/workspaces/${ws}/`]) {
      expect((await call('GET', path, { token: annotator.token })).status).toBe(200);
      const c = lastCounts();
      expect(c.trips, path).toBe(1);
      expect(c.calls, path).toBeLessThanOrEqual(2);
    }
  });

  it('reads a project as an annotator through the workspace, and answers an access check, in 2 calls', async () => {
    const p = await call('GET', `/api/projects/${project}/`, { token: annotator.token });
    expect(p).toMatchObject({ status: 200, body: { id: project } });
    expect(lastCounts().calls).toBeLessThanOrEqual(2);
    const check = await call('POST', '/api/access/check', { token: annotator.token, body: { user_id: annotator.userId, action: 'project.label', project_id: project } });
    expect(check.body).toMatchObject({ allowed: true, reason: 'workspace_membership' });
    expect(lastCounts().calls).toBeLessThanOrEqual(2);
  });

  it('answers a batch of access checks with their items read beside the caller', async () => {
    const checks = [project, project].map((project_id) => ({ user_id: annotator.userId, action: 'project.read', project_id }));
    const r = await call('POST', '/api/access/check', { token: annotator.token, body: { checks: [...checks, { user_id: annotator.userId, action: 'workspace.read', workspace_id: ws }] } });
    expect(r.body.results.map((x: { allowed: boolean }) => x.allowed)).toEqual([true, true, true]);
    // Read one by one, the three checks would cost 5 calls beside the caller's.
    expect(lastCounts().calls).toBeLessThanOrEqual(2);
  });

  it('sees a change made by the same request: a read after a write goes to the table', async () => {
    const m = await addMember(db, 1, 'RE', 'path-rotate@example.com');
    const first = await call('GET', '/api/current-user/token', { token: m.token });
    expect(first.body).toMatchObject({ detail: expect.stringContaining('reset') });
    const reset = await call('POST', '/api/current-user/reset-token/', { token: m.token });
    expect(reset.status).toBe(201);
    expect((await call('GET', '/api/current-user/whoami', { token: reset.body.token })).status).toBe(200);
    expect((await call('GET', '/api/current-user/whoami', { token: m.token })).status).toBe(401);
  });
});

describe('every credential kind, on the very next request', () => {
  async function credentials(email: string) {
    const created = await call('POST', '/api/users/', { token: OWNER_TOKEN, body: { email, password: 'Str0ng-pass!' } });
    expect(created.status).toBe(201);
    const userId = created.body.id as number;
    const legacy = await resetLegacyToken(db, 1, userId);
    const pat = (await call('POST', '/api/token/', { token: legacy })).body.token as string;
    const access = (await call('POST', '/api/token/refresh/', { body: { refresh: pat } })).body.access as string;
    const cognito = await signIn(roster.cognito, email, 'Str0ng-pass!');
    const kinds = { legacy: { token: legacy }, access: { headers: bearer(access) }, cognito: { headers: bearer(cognito) } };
    for (const [kind, cred] of Object.entries(kinds)) expect((await call('GET', '/api/current-user/whoami', cred)).status, kind).toBe(200);
    return { userId, kinds };
  }

  it('refuses a deactivated member with each of their credentials', async () => {
    const { userId, kinds } = await credentials('path-paused@example.com');
    expect((await call('PATCH', '/api/organizations/1/memberships', { token: OWNER_TOKEN, body: { user_id: userId, role: 'DI' } })).status).toBe(200);
    for (const [kind, cred] of Object.entries(kinds)) {
      expect(await call('GET', `/api/projects/${project}/`, cred), kind).toMatchObject({ status: 401, body: { detail: 'User inactive or deleted.' } });
    }
  });

  it('refuses a deleted member with each of their credentials', async () => {
    const { userId, kinds } = await credentials('path-gone@example.com');
    expect((await call('DELETE', `/api/organizations/1/memberships/${userId}/`, { token: OWNER_TOKEN })).status).toBe(204);
    for (const [kind, cred] of Object.entries(kinds)) {
      expect(await call('GET', '/api/organizations/1', cred), kind).toMatchObject({ status: 401, body: { detail: 'User inactive or deleted.' } });
    }
  });
});
