/**
 * Benchmark: an activity-log export of many entries in bounded memory. Seeds N entries of one
 * organization straight into a table on DynamoDB Local, then runs the export slice by slice as the
 * stream consumer would (each slice one 8 MiB part), sampling the process's memory throughout.
 *
 *   npm run bench:export     (BENCH_EXPORT_N entries, 200,000 by default)
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { Entry } from '../../lib/audit/activity.js';
import { entryItem } from '../../lib/audit/activity-log.js';
import { ensureTable, localClient, startDynamoDbLocal } from '../../infra/local/dynamodb.js';
import { batchWrite, createDb } from '../../lib/core/db.js';
import { runExportSlice, startExport } from '../../lib/audit/exports.js';
import { keys } from '../../lib/core/table.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// DynamoDB Local takes any region and credentials.
process.env.AWS_REGION ??= 'us-east-1';
process.env.AWS_ACCESS_KEY_ID ??= 'local';
process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
const N = Number(process.env.BENCH_EXPORT_N ?? 200_000);
const dir = mkdtempSync(join(tmpdir(), 'roster-export-bench-'));
process.env.ROSTER_EXPORT_DIR = dir;

const dynamo = await startDynamoDbLocal();
const client = localClient(dynamo.endpoint);
await ensureTable(client, 'export-bench');
client.destroy();
const db = createDb('export-bench', dynamo.endpoint);

const base = Date.parse('2026-01-01T00:00:00Z');
const entry = (i: number): Entry => ({
  event_id: randomUUID(),
  at: new Date(base + i * 1000).toISOString(),
  organization: 1,
  action: 'membership.role_changed',
  resource_type: 'membership',
  resource_id: i,
  workspace: null,
  project: null,
  subject_user: i,
  actor_id: 1,
  actor_email: 'owner@example.com',
  source: 'api',
  request_id: randomUUID(),
  ip: '203.0.113.7',
  user_agent: 'Mozilla/5.0 (X11; Linux x86_64) bench',
  method: 'PATCH',
  path: '/api/organizations/1/memberships',
  status: 200,
  before: { role: 'AN' },
  after: { role: 'RE' },
  history: { stream: 'org_membership', scope: 1, state: 'RE', previous_state: 'AN', role_source: 'api' },
});

let started = performance.now();
await batchWrite(db, Array.from({ length: N }, (_, i) => ({ PutRequest: { Item: entryItem(entry(i), i + 1) } })), 16);
console.log(`seeded ${N} entries in ${((performance.now() - started) / 1000).toFixed(1)} s`);

for (const format of ['ndjson', 'csv'] as const) {
  global.gc?.();
  const job = await startExport(db, { userId: 1, orgId: 1, role: 'OW', via: 'token', overrides: {} }, { format });
  const key = keys.exportJob(1, job.id);
  let peak = 0;
  const rssBefore = process.memoryUsage().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  started = performance.now();
  let slices = 0;
  for (;;) {
    const item = (await db.doc.send(new GetCommand({ TableName: db.table, Key: key, ConsistentRead: true }))).Item!;
    if (item.status === 'done') break;
    await runExportSlice(db, item as never);
    slices++;
  }
  clearInterval(sampler);
  const done = (await db.doc.send(new GetCommand({ TableName: db.table, Key: key, ConsistentRead: true }))).Item!;
  const size = statSync(String(done.location)).size;
  console.log(
    `${format}: ${done.count} entries, ${(size / 2 ** 20).toFixed(0)} MiB in ${slices} slices, ${((performance.now() - started) / 1000).toFixed(1)} s; ` +
      `process memory ${(rssBefore / 2 ** 20).toFixed(0)} MiB before, peak ${(peak / 2 ** 20).toFixed(0)} MiB`,
  );
}
await dynamo.stop();
