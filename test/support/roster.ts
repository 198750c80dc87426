import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { type Roster, type RosterConfig, startRoster } from '../../infra/local/runtime.js';
import { endpoint } from './db.js';

export const OWNER_TOKEN = 'owner-e2e-token';

/** The local runtime in this process: real HTTP, real handlers, the run's DynamoDB Local, a table of its own. */
export async function startTestRoster(opts: Pick<RosterConfig, 'streamHandler'> = {}): Promise<Roster & { lines: string[]; dataDir: string }> {
  const lines: string[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'roster-e2e-'));
  const roster = await startRoster({
    ...opts,
    port: 0,
    dataDir,
    tableName: `e2e-${randomUUID().slice(0, 8)}`,
    dynamodbEndpoint: endpoint(),
    bootstrapEmail: 'owner@example.com',
    bootstrapToken: OWNER_TOKEN,
    log: (l) => lines.push(l),
  });
  return Object.assign(roster, { lines, dataDir });
}

export interface Reply<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** A client call as an LSE SDK would make it. */
export function client(base: string) {
  return async function call<T = any>(
    method: string,
    path: string,
    opts: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
  ): Promise<Reply<T>> {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Token ${opts.token}`;
    let payload: string | undefined = opts.raw;
    if (opts.body !== undefined) {
      payload = JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(`${base}${path}`, { method, headers, body: payload });
    const text = await res.text();
    const isJson = res.headers.get('content-type')?.includes('json');
    return { status: res.status, body: text && isJson ? JSON.parse(text) : text || undefined, headers: res.headers };
  };
}
