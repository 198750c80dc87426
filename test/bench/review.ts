/**
 * Benchmark: a whole access review at 5,000 and 50,000 members, in process on DynamoDB Local, as
 * the stream consumer would run it (slice after slice): the snapshot (part A's builder), the
 * reviewers' decisions (bulk requests of 50 through the same service as the API, a few at once),
 * then close with apply (end action, revokes through the API's services, the report files and
 * their hashes). Time and peak memory (RSS and heap, sampled every 20 ms) per phase.
 *
 *   npm run bench:review     (BENCH_REVIEW_SIZES=5000,50000 by default)
 *
 * Each member holds three grants (organization role, one of 10 workspaces, one of 20 projects
 * directly), so a review of N members has about 3N items. Every 50th workspace membership is
 * revoked; everything else is kept.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueryCommand, type QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import { ensureTable, localClient, startDynamoDbLocal } from '../../infra/local/dynamodb.js';
import { type Db, batchWrite, createDb, getItem } from '../../lib/core/db.js';
import { membershipItem, newUserItem, projectMemberItem, workspaceMemberItem } from '../../lib/core/items.js';
import type { Principal } from '../../lib/core/model.js';
import { keys } from '../../lib/core/table.js';
import { bootstrap } from '../../lib/org/bootstrap.js';
import { closeReview, runReviewRun } from '../../lib/reviews/close.js';
import { type DecisionInput, decide } from '../../lib/reviews/decisions.js';
import { createDefinition } from '../../lib/reviews/definitions.js';
import { startInstance } from '../../lib/reviews/instances.js';
import { type ReviewItem, reviewKeys } from '../../lib/reviews/model.js';
import { runKey, runView } from '../../lib/reviews/runs.js';
import { buildInstance } from '../../lib/reviews/snapshot.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.AWS_REGION ??= 'us-east-1';
process.env.AWS_ACCESS_KEY_ID ??= 'local';
process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
const SIZES = (process.env.BENCH_REVIEW_SIZES ?? '5000,50000').split(',').map(Number);
const WORKSPACES = 10;
const PROJECTS = 20;
const DECIDE_PARALLEL = 4;
const owner: Principal = { userId: 1, orgId: 1, role: 'OW', via: 'token', overrides: {} };

/** Peak RSS and heap while `fn` runs (sampled every 20 ms), and its time. */
async function measured<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number; rssMb: number; heapMb: number }> {
  global.gc?.();
  let rss = process.memoryUsage().rss;
  let heap = process.memoryUsage().heapUsed;
  const sample = setInterval(() => {
    const m = process.memoryUsage();
    rss = Math.max(rss, m.rss);
    heap = Math.max(heap, m.heapUsed);
  }, 20);
  const started = performance.now();
  try {
    const value = await fn();
    return { value, seconds: (performance.now() - started) / 1000, rssMb: rss / 2 ** 20, heapMb: heap / 2 ** 20 };
  } finally {
    clearInterval(sample);
  }
}

async function seed(db: Db, n: number): Promise<void> {
  const at = new Date().toISOString();
  const writes: { PutRequest: { Item: Record<string, unknown> } }[] = [];
  for (let w = 1; w <= WORKSPACES; w++) writes.push({ PutRequest: { Item: { ...keys.workspace(1, w), type: 'workspace', id: w, title: `Workspace ${w}`, description: null, color: null, is_archived: false, is_personal: false, created_by: 1, created_at: at, projects_count: 0 } } });
  for (let p = 1; p <= PROJECTS; p++) writes.push({ PutRequest: { Item: { ...keys.project(1, p), type: 'project', id: p, title: `Project ${p}`, description: null, workspace: null, published: false, annotator_instructions: '', reviewer_instructions: '', created_by: 1, created_at: at } } });
  await batchWrite(db, writes, 4);
  const CHUNK = 2000;
  for (let from = 0; from < n; from += CHUNK) {
    const batch: { PutRequest: { Item: Record<string, unknown> } }[] = [];
    for (let i = from; i < Math.min(n, from + CHUNK); i++) {
      const id = 100 + i;
      const user = newUserItem(id, { email: `member${id}@example.com` }, 1, at);
      batch.push(
        { PutRequest: { Item: { ...keys.user(id), type: 'user', ...user } } },
        { PutRequest: { Item: membershipItem(1, user, 'AN', 'manual', at) } },
        { PutRequest: { Item: workspaceMemberItem(1, 1 + (i % WORKSPACES), id, 1, at) } },
        { PutRequest: { Item: projectMemberItem(1, 1 + (i % PROJECTS), id, 1, at) } },
      );
    }
    await batchWrite(db, batch, 8);
  }
}

/** Every item decided (but the Owner's own), 50 to a request, DECIDE_PARALLEL requests at once: pages of the item listing read as they go. */
async function decideAll(db: Db, instId: number): Promise<{ requests: number; revoked: number }> {
  let start: Record<string, unknown> | undefined;
  let requests = 0;
  let revoked = 0;
  let wsSeen = 0;
  do {
    const r: QueryCommandOutput = await db.doc.send(
      new QueryCommand({
        TableName: db.table,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :p)',
        ExpressionAttributeValues: { ':pk': keys.organization(1).PK, ':p': reviewKeys.itemPrefix(instId) },
        ExclusiveStartKey: start,
        Limit: 1000,
      }),
    );
    start = r.LastEvaluatedKey;
    const items = ((r.Items ?? []) as unknown as ReviewItem[]).filter((i) => i.user_id !== owner.userId);
    const inputs: DecisionInput[] = items.map((i) => {
      const revoke = i.kind === 'workspace_membership' && wsSeen++ % 50 === 0;
      if (revoke) revoked++;
      return revoke ? { user_id: i.user_id, grant: i.grant, decision: 'revoke', justification: 'No longer on this workspace (bench)' } : { user_id: i.user_id, grant: i.grant, decision: 'keep' };
    });
    const chunks: DecisionInput[][] = [];
    for (let k = 0; k < inputs.length; k += 50) chunks.push(inputs.slice(k, k + 50));
    const worker = async () => {
      for (let c = chunks.shift(); c; c = chunks.shift()) {
        await decide(db, owner, instId, c, 'decisions');
        requests++;
      }
    };
    await Promise.all(Array.from({ length: DECIDE_PARALLEL }, worker));
  } while (start);
  return { requests, revoked };
}

/** Close with apply, and run the slices here until the run is done; seconds spent in each phase. */
async function closeAndApply(db: Db, instId: number): Promise<{ phases: Record<string, number>; slices: number; applied: Record<string, number>; rows: number }> {
  await closeReview(db, owner, instId, { apply: true });
  const phases: Record<string, number> = {};
  let slices = 0;
  for (;;) {
    const run = runView((await getItem(db, runKey(1, instId, 'close')))!);
    if (run.status === 'done') return { phases, slices, applied: run.applied, rows: run.report?.rows ?? 0 };
    const t = performance.now();
    await runReviewRun(db, run);
    phases[run.phase] = (phases[run.phase] ?? 0) + (performance.now() - t) / 1000;
    slices++;
  }
}

const dynamo = await startDynamoDbLocal();
const rows: string[] = [];
try {
  for (const n of SIZES) {
    const table = `review-bench-${n}`;
    const client = localClient(dynamo.endpoint);
    await ensureTable(client, table);
    client.destroy();
    const db = createDb(table, dynamo.endpoint);
    const dir = mkdtempSync(join(tmpdir(), 'roster-review-bench-'));
    process.env.ROSTER_REVIEWS_DIR = dir;
    await bootstrap(db, { email: 'owner@example.com', token: 'bench' });
    const seeded = await measured(() => seed(db, n));
    console.log(`${n} members: seeded in ${seeded.seconds.toFixed(1)} s`);
    const def = await createDefinition(db, owner, { title: `Bench ${n}`, end_action: 'keep' });
    const snapshot = await measured(async () => buildInstance(db, 1, (await startInstance(db, owner, 1, def.id)).id));
    const inst = snapshot.value;
    console.log(`  snapshot: ${inst.snapshot.items} items in ${snapshot.seconds.toFixed(1)} s`);
    const decisions = await measured(() => decideAll(db, inst.id));
    console.log(`  decisions: ${decisions.value.requests} requests in ${decisions.seconds.toFixed(1)} s`);
    const apply = await measured(() => closeAndApply(db, inst.id));
    console.log(`  close and apply: ${apply.value.slices} slices in ${apply.seconds.toFixed(1)} s`, apply.value.phases, apply.value.applied);
    const total = snapshot.seconds + decisions.seconds + apply.seconds;
    const peakRss = Math.max(snapshot.rssMb, decisions.rssMb, apply.rssMb);
    const peakHeap = Math.max(snapshot.heapMb, decisions.heapMb, apply.heapMb);
    const p = apply.value.phases;
    rows.push(
      `| ${n.toLocaleString('en')} | ${inst.snapshot.items.toLocaleString('en')} | ${snapshot.seconds.toFixed(1)} | ${decisions.seconds.toFixed(1)} (${decisions.value.requests.toLocaleString('en')} requests) | ${apply.seconds.toFixed(1)} (apply ${(p.apply ?? 0).toFixed(1)}, ${apply.value.applied.applied} revoked; reports ${((p.report ?? 0) + (p.finish ?? 0)).toFixed(1)}) | ${total.toFixed(1)} | ${peakRss.toFixed(0)} | ${peakHeap.toFixed(0)} |`,
    );
    if (apply.value.rows !== inst.snapshot.items) throw new Error(`report rows ${apply.value.rows} ≠ items ${inst.snapshot.items}`);
    rmSync(dir, { recursive: true, force: true });
  }
} finally {
  await dynamo.stop();
}
console.log('\n| members | items | snapshot s | decisions s | close + apply s | total s | peak RSS MiB | peak heap MiB |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
console.log(`\nprocess max RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
