import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { type Roster, type RosterConfig, startRoster } from '../../infra/local/runtime.js';
import { endpoint } from './db.js';
import { documentValidator } from './openapi.js';

export const OWNER_TOKEN = 'owner-e2e-token';

/** The local runtime in this process: real HTTP, real handlers, the run's DynamoDB Local, a table of its own. */
export async function startTestRoster(opts: Pick<RosterConfig, 'streamHandler' | 'cognitoTriggers'> = {}): Promise<Roster & { lines: string[]; dataDir: string }> {
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

/** Roster's own OpenAPI document, as the runtime at `base` serves it, ready to check replies with. */
const validators = new Map<string, Promise<ReturnType<typeof documentValidator>>>();
export function validatorFor(base: string) {
  let v = validators.get(base);
  if (!v) {
    v = fetch(`${base}/api/schema/`).then(async (res) => {
      if (res.status !== 200) throw new Error(`GET /api/schema/ answered ${res.status}`);
      return documentValidator((await res.json()) as Parameters<typeof documentValidator>[0]);
    });
    validators.set(base, v);
  }
  return v;
}

/**
 * A client call as an LSE SDK would make it. Every reply is checked against Roster's own OpenAPI
 * document (GET /api/schema/): a body, status or content type the document does not describe fails
 * the call, so the document cannot drift from the code. `{ unchecked: true }` skips that for the
 * few calls that test something the document cannot describe (a reply to a malformed request line).
 */
export function client(base: string) {
  return async function call<T = any>(
    method: string,
    path: string,
    opts: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string>; unchecked?: boolean } = {},
  ): Promise<Reply<T>> {
    const validate = opts.unchecked ? undefined : await validatorFor(base);
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
    const body = text && isJson ? JSON.parse(text) : text || undefined;
    const mismatches = validate?.(method, path, { status: res.status, contentType: res.headers.get('content-type'), body }) ?? [];
    if (mismatches.length) throw new Error(`The reply does not match Roster's OpenAPI document:\n${mismatches.join('\n')}\n${text.slice(0, 2000)}`);
    return { status: res.status, body, headers: res.headers };
  };
}
