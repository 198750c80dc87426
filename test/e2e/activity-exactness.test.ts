import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler } from '../../functions/stream/consumer.js';
import { db } from '../../lib/core/db.js';
import { OWNER_TOKEN, client, startTestRoster } from '../support/roster.js';

/**
 * The activity log holds exactly one entry per state change, even when the consumer fails. The
 * production handler runs (batch store first, then record by record); failures are injected where
 * its entries are written: a write that fails before it reaches the table, one that fails after it
 * was written, whole batches delivered again after they were processed, and one poison record
 * whose entry can never be written (it must end on the failure path, alone, without holding up the
 * records after it).
 */
describe('activity log under injected consumer failures', () => {
  let roster: Awaited<ReturnType<typeof startTestRoster>>;
  let call: ReturnType<typeof client>;
  const written = new Set<string>();
  const injected = { before: 0, after: 0, batches: 0 };
  let poisonUser = 0;
  let poisonEvent = '';

  const bucket = (eventId: string) => createHash('sha256').update(eventId).digest()[0]! % 10;
  type Put = { PutRequest?: { Item: Record<string, unknown> } };
  /** The stream event ids of the entries a BatchWrite puts. */
  const entryEvents = (input: { RequestItems?: Record<string, Put[]> }) =>
    Object.values(input.RequestItems ?? {})
      .flat()
      .map((r) => r.PutRequest?.Item)
      .filter((i): i is Record<string, unknown> => typeof i?.PK === 'string' && i.PK.startsWith('LOG#'));

  let batches = 0;
  const streamHandler = async (event: DynamoDBStreamEvent, context: Context) => {
    const response = await handler(event, context);
    // Every fourth batch is "lost" after it was processed: the poller delivers it again.
    if (++batches % 4 === 0) {
      injected.batches++;
      throw new Error('injected: batch processed, response lost');
    }
    return response;
  };

  beforeAll(async () => {
    roster = await startTestRoster({ streamHandler });
    call = client(roster.url);
    // The consumer's own DynamoDB client (this process's), failing some writes of entries.
    db().doc.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== 'BatchWriteItemCommand') return next(args);
        const entries = entryEvents(args.input as never);
        const poison = entries.find((e) => e.action === 'membership.role_changed' && e.subject_user === poisonUser);
        if (poison) {
          poisonEvent = String(poison.event_id);
          throw new Error('poison: this entry can never be written');
        }
        // A write's first attempt fails in one case in ten before it reaches the table, in one in ten after.
        const first = entries.map((e) => String(e.event_id)).filter((id) => !written.has(id));
        for (const id of first) written.add(id);
        const k = first.length ? bucket(first[0]!) : -1;
        if (k === 0) {
          injected.before++;
          throw new Error('injected failure before the entries were written');
        }
        const result = await next(args);
        if (k === 1) {
          injected.after++;
          throw new Error('injected failure after the entries were written');
        }
        return result;
      },
      { step: 'initialize', name: 'injectEntryWriteFailures' },
    );
  });
  afterAll(async () => {
    db().doc.middlewareStack.remove('injectEntryWriteFailures');
    await roster?.stop();
  });

  it('holds exactly one entry per state change over 500 mutations, and sets the poison record aside alone', async () => {
    const expected = new Map<string, number>();
    const expect1 = (action: string, n = 1) => expected.set(action, (expected.get(action) ?? 0) + n);
    let mutations = 0;
    const mutate = async (method: string, path: string, body?: unknown) => {
      const r = await call(method, path, { token: OWNER_TOKEN, body });
      expect(r.status, `${method} ${path}: ${JSON.stringify(r.body)}`).toBeLessThan(300);
      mutations++;
      return r.body;
    };

    const users: number[] = [];
    for (let i = 0; i < 40; i++) {
      users.push((await mutate('POST', '/api/users/', { email: `worker${i}@example.com`, first_name: `W${i}` })).id);
      expect1('user.created');
      expect1('membership.created');
    }
    poisonUser = users[7]!;
    for (const u of users) {
      await mutate('PATCH', '/api/organizations/1/memberships', { user_id: u, role: 'RE' });
      if (u !== poisonUser) expect1('membership.role_changed');
    }
    const workspaces: number[] = [];
    for (let i = 0; i < 10; i++) {
      workspaces.push((await mutate('POST', '/api/workspaces/', { title: `WS ${i}` })).id);
      expect1('workspace.created');
      // Its creator becomes its first member.
      expect1('workspace_membership.added');
    }
    const projects: number[] = [];
    for (let i = 0; i < 10; i++) {
      projects.push((await mutate('POST', '/api/projects/', { title: `P ${i}`, workspace: workspaces[i] })).id);
      expect1('project.created');
    }
    // 200 distinct (project, user) pairs added, then the first 100 of them removed again.
    const pairs: [number, number][] = [];
    for (let p = 0; p < 10; p++) for (let k = 0; k < 20; k++) pairs.push([projects[p]!, users[(p + k) % 40]!]);
    for (const [p, u] of pairs) {
      await mutate('POST', `/api/projects/${p}/members/`, { user: u });
      expect1('project_membership.added');
    }
    for (const [p, u] of pairs.slice(0, 100)) {
      await mutate('DELETE', `/api/projects/${p}/members/?user=${u}`);
      expect1('project_membership.removed');
    }
    for (let w = 0; w < 10; w++) {
      for (let k = 0; k < 5; k++) {
        await mutate('POST', `/api/workspaces/${workspaces[w]}/memberships/`, { user: users[(w * 4 + k) % 40] });
        expect1('workspace_membership.added');
      }
    }
    for (let i = 0; i < 50; i++) {
      await mutate('PATCH', `/api/users/${users[i % 40]}/`, { first_name: `Renamed ${i}` });
      expect1('user.updated');
    }
    expect(mutations).toBeGreaterThanOrEqual(500);

    const want = [...expected.values()].reduce((a, b) => a + b, 0);
    const histogram = async () => {
      const r = await call('GET', '/api/activity-logs/?page_size=-1&ordering=datetime', { token: OWNER_TOKEN });
      const mine = (r.body.data as { action: string; email: string; source: string }[]).filter((e) => e.source === 'api' && e.email === 'owner@example.com');
      const h = new Map<string, number>();
      for (const e of mine) h.set(e.action, (h.get(e.action) ?? 0) + 1);
      // Duplicates are looked for among all entries, whoever they name.
      return { h, entries: r.body.data as Record<string, unknown>[], n: mine.length };
    };
    const deadline = Date.now() + 120_000;
    let seen = await histogram();
    while ((seen.n < want || !roster.streamIdle()) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      seen = await histogram();
    }
    // Nothing more arrives later.
    await new Promise((r) => setTimeout(r, 1000));
    seen = await histogram();

    expect(Object.fromEntries([...seen.h].sort())).toEqual(Object.fromEntries([...expected].sort()));
    const identities = seen.entries.map((e) => JSON.stringify([e.action, e.request_id, e.resource_id, e.subject_user_id, e.datetime]));
    expect(new Set(identities).size).toBe(identities.length);

    // The failures really happened, and the poison record alone went to the failure path.
    expect(injected.before).toBeGreaterThan(10);
    expect(injected.after).toBeGreaterThan(10);
    expect(injected.batches).toBeGreaterThan(5);
    const failed = readdirSync(join(roster.dataDir, 'stream-failures'));
    expect(failed).toHaveLength(1);
    const record = JSON.parse(readFileSync(join(roster.dataDir, 'stream-failures', failed[0]!), 'utf8')) as DynamoDBRecord[];
    expect(record.map((r) => r.eventID)).toEqual([poisonEvent]);
  }, 240_000);
});
