import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../infra/local/dynamodb.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** `npm start` as a person runs it: the same entry point, its own process, its own DynamoDB Local. */
function start(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'infra/local/main.ts'], {
    cwd: root,
    env: { ...process.env, AWS_ENDPOINT_URL_DYNAMODB: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const ready = async () => {
    const deadline = Date.now() + 90_000;
    while (!/Roster is serving/.test(out)) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return out;
  };
  return { child, exited, ready, output: () => out };
}

const stop = async (p: { child: ChildProcess; exited: Promise<number | null> }) => {
  p.child.kill('SIGINT');
  return p.exited;
};

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(true));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)));
  });

describe('npm start', () => {
  it('serves the bootstrap Owner, keeps data across a restart, and stops cleanly with DynamoDB Local on Ctrl-C', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'roster-start-'));
    const port = await freePort();
    const env = { PORT: String(port), ROSTER_DATA_DIR: dataDir, ROSTER_BOOTSTRAP_TOKEN: 't0k' };
    const api = `http://127.0.0.1:${port}`;
    const auth = { authorization: 'Token t0k' };

    const first = start(env);
    const out = await first.ready();
    expect(out).toContain('Created organization 1 and its Owner admin@localhost.');
    expect(out).not.toContain('t0k');
    const dynamoPort = Number(/DynamoDB at http:\/\/127\.0\.0\.1:(\d+)/.exec(out)![1]);
    const local = JSON.parse(readFileSync(join(dataDir, 'local.json'), 'utf8'));
    expect(local).toMatchObject({ apiUrl: api, dynamodbEndpoint: `http://127.0.0.1:${dynamoPort}` });

    const who = await fetch(`${api}/api/current-user/whoami`, { headers: auth });
    expect(who.status).toBe(200);
    expect(((await who.json()) as { organization_membership: { role: string } }).organization_membership.role).toBe('OW');
    expect((await fetch(`${api}/api/current-user/whoami`)).status).toBe(401);
    expect((await fetch(`${api}/api/current-user/whoami`, { headers: { authorization: 'Token wrong' } })).status).toBe(401);
    const created = await fetch(`${api}/api/users/`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ email: 'kept@example.com' }) });
    expect(created.status).toBe(201);

    expect(await stop(first)).toBe(0);
    expect(await portOpen(dynamoPort)).toBe(false);
    expect(await portOpen(port)).toBe(false);

    const second = start(env);
    expect(await second.ready()).not.toContain('Created organization 1');
    const members = (await (await fetch(`${api}/api/organizations/1/memberships`, { headers: auth })).json()) as { results: { user: { email: string } }[] };
    expect(members.results.map((m: { user: { email: string } }) => m.user.email)).toContain('kept@example.com');
    expect(await stop(second)).toBe(0);
  }, 180_000);

  it('prints the Owner\'s generated token once when none is configured', async () => {
    const p = start({ PORT: String(await freePort()), ROSTER_DATA_DIR: mkdtempSync(join(tmpdir(), 'roster-tok-')), ROSTER_BOOTSTRAP_TOKEN: '' });
    const out = await p.ready();
    const token = /shown this once: (rlt_1_1_[0-9a-f]{40})/.exec(out)?.[1];
    expect(token).toBeDefined();
    const port = Number(/serving http:\/\/127\.0\.0\.1:(\d+)/.exec(out)![1]);
    expect((await fetch(`http://127.0.0.1:${port}/api/current-user/whoami`, { headers: { authorization: `Token ${token}` } })).status).toBe(200);
    expect(await stop(p)).toBe(0);
  }, 120_000);

  it('exits with one clear sentence when Java is missing', async () => {
    const p = start({ PATH: '/nonexistent', PORT: String(await freePort()), ROSTER_DATA_DIR: mkdtempSync(join(tmpdir(), 'roster-nojava-')) });
    expect(await p.exited).toBe(1);
    expect(p.output().trim()).toMatch(/^Java 17 or newer is required to run DynamoDB Local and `java` was not found: install it .*\.$/);
  }, 60_000);

  it('exits with one clear sentence when the port is taken', async () => {
    const port = await freePort();
    const blocker = createServer().listen(port, '127.0.0.1');
    try {
      const p = start({ PORT: String(port), ROSTER_DATA_DIR: mkdtempSync(join(tmpdir(), 'roster-port-')) });
      expect(await p.exited).toBe(1);
      expect(p.output().trim()).toBe(`Port ${port} is already in use: stop what is using it or set PORT to a free port.`);
    } finally {
      blocker.close();
    }
  }, 60_000);
});

/** The gateway's line per request: method, path and query, status, time, DynamoDB round trips. */
const REQUEST_LINE = /^(GET|POST|PATCH|PUT|DELETE) \/\S* \d{3} \d+ms db=\d+\/\d+$/;
const BANNER = [/^Roster is serving /, /^The user pool's sign-in endpoints are at http:\/\/127\.0\.0\.1:\d+; dev IdP metadata: /, /^Created organization 1 and its Owner /, /^Stopping Roster…$/];

/**
 * A short session as a person makes one: writes that produce stream records (users, role changes,
 * a workspace and a project), reads, a refused credential and a bad body; then the activity log is
 * polled until the consumer has written it (so the stream records were processed before the
 * output is read). Answers the number of requests made.
 */
async function session(api: string): Promise<number> {
  let calls = 0;
  const json = async (method: string, path: string, body?: unknown, token?: string) => {
    calls++;
    const r = await fetch(`${api}${path}`, { method, headers: { authorization: `Token ${token ?? 't0k'}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : undefined };
  };
  const users: number[] = [];
  for (let i = 0; i < 12; i++) {
    const r = await json('POST', '/api/users/', { email: `quiet${i}@example.com` });
    expect(r.status).toBe(201);
    users.push(r.body.id);
  }
  for (const id of users.slice(0, 6)) expect((await json('PATCH', '/api/organizations/1/memberships', { user_id: id, role: 'AN' })).status).toBe(200);
  const ws = await json('POST', '/api/workspaces/', { title: 'quiet' });
  expect(ws.status).toBe(201);
  expect((await json('POST', '/api/projects/', { title: 'quiet', workspace: ws.body.id })).status).toBe(201);
  for (let i = 0; i < 6; i++) expect((await json('GET', '/api/organizations/1/memberships')).status).toBe(200);
  expect((await json('GET', '/api/current-user/whoami', undefined, 'wrong')).status).toBe(401);
  expect((await json('POST', '/api/access/check', { user_id: 1, action: 'nope', project_id: 1 })).status).toBe(400);
  // The consumer has caught up when the log holds an entry per write and stops growing.
  let last = -1;
  for (const deadline = Date.now() + 60_000; ; ) {
    const r = await json('GET', '/api/activity-logs/?page_size=1');
    expect(r.status).toBe(200);
    if (r.body.recordsTotal >= 20 && r.body.recordsTotal === last) break;
    if (Date.now() > deadline) throw new Error(`the activity log did not settle (${r.body.recordsTotal} entries)`);
    last = r.body.recordsTotal;
    await new Promise((res) => setTimeout(res, 1_000));
  }
  return calls;
}

describe('npm start output', () => {
  it('prints the banner and one line per request, nothing per stream record, at the default log level', async () => {
    const port = await freePort();
    const p = start({ PORT: String(port), ROSTER_DATA_DIR: mkdtempSync(join(tmpdir(), 'roster-quiet-')), ROSTER_BOOTSTRAP_TOKEN: 't0k', POWERTOOLS_LOG_LEVEL: '' });
    await p.ready();
    const calls = await session(`http://127.0.0.1:${port}`);
    expect(calls).toBeGreaterThanOrEqual(30);
    expect(await stop(p)).toBe(0);
    const lines = p.output().split('\n').filter(Boolean);
    const other = lines.filter((l) => !REQUEST_LINE.test(l) && !BANNER.some((b) => b.test(l)));
    expect(other).toEqual([]);
    expect(lines.filter((l) => REQUEST_LINE.test(l))).toHaveLength(calls);
    expect(p.output()).not.toContain('table change');
  }, 180_000);

  it('with POWERTOOLS_LOG_LEVEL=DEBUG adds the consumer\'s line per record, each with the consumer\'s own function name', async () => {
    const port = await freePort();
    const p = start({ PORT: String(port), ROSTER_DATA_DIR: mkdtempSync(join(tmpdir(), 'roster-debug-')), ROSTER_BOOTSTRAP_TOKEN: 't0k', POWERTOOLS_LOG_LEVEL: 'DEBUG' });
    await p.ready();
    const calls = await session(`http://127.0.0.1:${port}`);
    expect(await stop(p)).toBe(0);
    const lines = p.output().split('\n').filter(Boolean);
    expect(lines.filter((l) => REQUEST_LINE.test(l))).toHaveLength(calls);
    const logged = lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: string; message: string; function_name?: string });
    const changes = logged.filter((l) => l.message === 'table change');
    // Each of the 20 writes changes at least one item.
    expect(changes.length).toBeGreaterThanOrEqual(20);
    expect(new Set(changes.map((l) => `${l.level} ${l.function_name}`))).toEqual(new Set(['DEBUG stream-consumer']));
    // The consumer's context stays on the consumer's lines; the digest job's lines carry its own.
    for (const l of logged.filter((x) => x.function_name === 'stream-consumer')) expect(['table change', 'storing the batch at once failed; storing record by record']).toContain(l.message);
    for (const l of logged.filter((x) => x.message === 'activity log digested')) expect(l.function_name).toBe('schedule/digest');
  }, 180_000);
});
