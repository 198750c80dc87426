import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { startStreamPoller } from '../../infra/local/streams.js';
import { endpoint, freshTable } from '../support/db.js';

const pollers: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(pollers.splice(0).map((p) => p.stop()));
});

async function until(check: () => boolean, ms = 15_000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the stream');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const put = (db: Awaited<ReturnType<typeof freshTable>>, sk: string) =>
  db.doc.send(new PutCommand({ TableName: db.table, Item: { PK: 'ORG#0000000001', SK: sk, secret: 'x' } }));

describe('local stream poller', () => {
  it('delivers real stream records in the Lambda event shape, in order, once', async () => {
    const db = await freshTable('stream');
    const seen: DynamoDBRecord[] = [];
    const poller = startStreamPoller({
      endpoint: endpoint(),
      streamArn: db.streamArn,
      intervalMs: 20,
      handler: async () => async (event: DynamoDBStreamEvent) => {
        seen.push(...event.Records);
      },
    });
    pollers.push(poller);
    for (let i = 0; i < 5; i++) await put(db, `ITEM#${i}`);
    await until(() => seen.length === 5);
    expect(seen.map((r) => r.dynamodb?.Keys?.SK?.S)).toEqual(['ITEM#0', 'ITEM#1', 'ITEM#2', 'ITEM#3', 'ITEM#4']);
    expect(seen[0]).toMatchObject({ eventName: 'INSERT', eventSource: 'aws:dynamodb', eventSourceARN: db.streamArn, dynamodb: { StreamViewType: 'NEW_AND_OLD_IMAGES' } });
    expect(typeof seen[0]!.dynamodb!.ApproximateCreationDateTime).toBe('number');
    await new Promise((r) => setTimeout(r, 300));
    expect(seen).toHaveLength(5);
  });

  it('delivers empty maps and lists as Lambda does ({"M": {}}), so the images unmarshall', async () => {
    const db = await freshTable('stream');
    const seen: DynamoDBRecord[] = [];
    const poller = startStreamPoller({
      endpoint: endpoint(),
      streamArn: db.streamArn,
      intervalMs: 20,
      handler: async () => async (event: DynamoDBStreamEvent) => {
        seen.push(...event.Records);
      },
    });
    pollers.push(poller);
    await db.doc.send(new PutCommand({ TableName: db.table, Item: { PK: 'ORG#0000000001', SK: 'EMPTY', m: {}, nested: { inner: {}, list: [{}] }, l: [] } }));
    await until(() => seen.length === 1);
    const { _ctx, ...item } = unmarshall(seen[0]!.dynamodb!.NewImage as never);
    expect(item).toEqual({ PK: 'ORG#0000000001', SK: 'EMPTY', m: {}, nested: { inner: {}, list: [{}] }, l: [] });
  });

  it('retries from the first failed record, and sends a poison record to the failure folder without blocking the rest', async () => {
    const db = await freshTable('stream');
    const failureDir = mkdtempSync(join(tmpdir(), 'roster-fail-'));
    const processed: string[] = [];
    let flakyFailures = 0;
    // One batch holds them all (written before the poller starts), so the poison record sits mid-batch.
    for (const sk of ['A', 'FLAKY', 'B', 'POISON', 'C']) await put(db, sk);
    const poller = startStreamPoller({
      endpoint: endpoint(),
      streamArn: db.streamArn,
      intervalMs: 20,
      retryAttempts: 2,
      failureDir,
      handler: async () => async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
        for (const r of event.Records) {
          const sk = r.dynamodb!.Keys!.SK!.S!;
          const fail = sk === 'POISON' || (sk === 'FLAKY' && flakyFailures++ < 1);
          if (fail) return { batchItemFailures: [{ itemIdentifier: r.dynamodb!.SequenceNumber! }] };
          processed.push(sk);
        }
        return { batchItemFailures: [] };
      },
    });
    pollers.push(poller);
    await until(() => processed.includes('C'));
    // A and the records before a failure are processed once; the failed one and those after it again.
    expect(processed.filter((s) => s === 'A')).toHaveLength(1);
    expect(processed.filter((s) => s === 'FLAKY')).toHaveLength(1);
    expect(processed).toContain('B');
    const failed = readdirSync(failureDir).flatMap((f) => JSON.parse(readFileSync(join(failureDir, f), 'utf8')) as DynamoDBRecord[]);
    expect(failed.map((r) => r.dynamodb!.Keys!.SK!.S)).toEqual(['POISON']);
    expect(processed.filter((s) => s === 'C')).toHaveLength(1);
  });

  it('resumes after its checkpoint across restarts', async () => {
    const db = await freshTable('stream');
    const checkpointFile = join(mkdtempSync(join(tmpdir(), 'roster-cp-')), 'cp.json');
    const seen: string[] = [];
    const start = () =>
      startStreamPoller({
        endpoint: endpoint(),
        streamArn: db.streamArn,
        intervalMs: 20,
        checkpointFile,
        handler: async () => async (event: DynamoDBStreamEvent) => {
          seen.push(...event.Records.map((r) => r.dynamodb!.Keys!.SK!.S!));
        },
      });
    const first = start();
    await put(db, 'ONE');
    await until(() => seen.length === 1);
    await first.stop();
    await put(db, 'TWO');
    pollers.push(start());
    await until(() => seen.length === 2);
    await new Promise((r) => setTimeout(r, 200));
    expect(seen).toEqual(['ONE', 'TWO']);
  });
});
