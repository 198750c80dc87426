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
