import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record,
  type Shard,
} from '@aws-sdk/client-dynamodb-streams';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { lambdaContext } from './gateway.js';
import { randomUUID } from 'node:crypto';

export type StreamHandler = (event: DynamoDBStreamEvent, context: Context) => Promise<DynamoDBBatchResponse | void>;

export interface PollerOptions {
  endpoint: string;
  streamArn: string;
  handler: () => Promise<StreamHandler>;
  /** Where the last processed sequence number of each shard is kept across restarts. */
  checkpointFile?: string;
  /** Where records go after the retries run out (the event source mapping's on-failure destination). */
  failureDir?: string;
  batchSize?: number;
  retryAttempts?: number;
  intervalMs?: number;
  log?: (line: string) => void;
}

interface Checkpoints {
  streamArn: string;
  shards: Record<string, string | 'closed'>;
}

type Wire = Record<string, unknown>;

/**
 * An attribute value as the stream's JSON carries it. The SDK reads `{"M": {}}` (an empty map)
 * back as `{}`, which unmarshall refuses; Lambda's event, which is that JSON, has `{"M": {}}`.
 */
function wire(v: unknown): unknown {
  if (!v || typeof v !== 'object') return v;
  const a = v as Wire;
  if (Object.keys(a).length === 0) return { M: {} };
  if (a.M && typeof a.M === 'object') return { M: image(a.M as Wire) };
  if (Array.isArray(a.L)) return { L: a.L.map(wire) };
  return a;
}
const image = (i: Wire | undefined) => (i ? Object.fromEntries(Object.entries(i).map(([k, v]) => [k, wire(v)])) : undefined);

/** Stream record as the Lambda event source mapping delivers it (dates as epoch seconds). */
function toLambdaRecord(r: _Record, streamArn: string): DynamoDBRecord {
  const d = r.dynamodb ?? {};
  return {
    eventID: r.eventID,
    eventName: r.eventName as DynamoDBRecord['eventName'],
    eventVersion: r.eventVersion ?? '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: r.awsRegion ?? 'local',
    eventSourceARN: streamArn,
    dynamodb: {
      ApproximateCreationDateTime: d.ApproximateCreationDateTime ? Math.floor(new Date(d.ApproximateCreationDateTime).getTime() / 1000) : undefined,
      Keys: d.Keys as never,
      NewImage: image(d.NewImage as Wire | undefined) as never,
      OldImage: image(d.OldImage as Wire | undefined) as never,
      SequenceNumber: d.SequenceNumber,
      SizeBytes: d.SizeBytes,
      StreamViewType: d.StreamViewType,
    },
  };
}

/**
 * Reads the table's stream shard by shard and invokes the stream handler with batches of real
 * records, as a Lambda event source mapping with ReportBatchItemFailures and bisect-on-error does:
 * partial failures are retried from the first failed record; a record that keeps failing is written
 * to the failure folder and the records after it are still delivered.
 */
export function startStreamPoller(opts: PollerOptions) {
  const client = new DynamoDBStreamsClient({
    endpoint: opts.endpoint,
    region: process.env.AWS_REGION ?? 'us-east-1',
    credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'local', secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'local' },
  });
  const log = opts.log ?? (() => undefined);
  const batchSize = opts.batchSize ?? 100;
  const retryAttempts = opts.retryAttempts ?? 3;
  const interval = opts.intervalMs ?? 200;
  let checkpoints: Checkpoints = { streamArn: opts.streamArn, shards: {} };
  if (opts.checkpointFile && existsSync(opts.checkpointFile)) {
    const saved = JSON.parse(readFileSync(opts.checkpointFile, 'utf8')) as Checkpoints;
    if (saved.streamArn === opts.streamArn) checkpoints = saved;
  }
  const save = () => {
    if (!opts.checkpointFile) return;
    mkdirSync(dirname(opts.checkpointFile), { recursive: true });
    writeFileSync(opts.checkpointFile, JSON.stringify(checkpoints));
  };
  const iterators = new Map<string, string>();
  let stopped = false;
  let idle = true;

  async function listShards(): Promise<Shard[]> {
    const shards: Shard[] = [];
    let start: string | undefined;
    do {
      const r = await client.send(new DescribeStreamCommand({ StreamArn: opts.streamArn, ExclusiveStartShardId: start }));
      shards.push(...(r.StreamDescription?.Shards ?? []));
      start = r.StreamDescription?.LastEvaluatedShardId;
    } while (start);
    return shards;
  }

  /**
   * Deliver a batch until every record is processed: a partial failure is retried from the first
   * failed record; once that record has failed `retryAttempts` more times it alone goes to the
   * failure folder (what bisect-on-error converges to) and the records after it carry on.
   */
  async function deliver(records: DynamoDBRecord[]): Promise<void> {
    let pending = records;
    let attempts = 0;
    while (pending.length) {
      const handler = await opts.handler();
      let failedFrom: number;
      try {
        const result = await handler({ Records: pending }, lambdaContext('stream-consumer', randomUUID()));
        const failed = new Set((result?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
        failedFrom = pending.findIndex((r) => failed.has(r.dynamodb!.SequenceNumber!));
      } catch (err) {
        log(`stream handler failed: ${(err as Error).message}`);
        failedFrom = 0;
      }
      if (failedFrom < 0) return;
      if (failedFrom > 0) attempts = 0;
      pending = pending.slice(failedFrom);
      if (++attempts > retryAttempts) {
        const poison = pending[0]!;
        if (opts.failureDir) {
          mkdirSync(opts.failureDir, { recursive: true });
          writeFileSync(join(opts.failureDir, `${Date.now()}-${poison.dynamodb!.SequenceNumber}.json`), JSON.stringify([poison]));
        }
        log(`stream: record ${poison.dynamodb!.SequenceNumber} sent to the failure destination after ${retryAttempts} retries`);
        pending = pending.slice(1);
        attempts = 0;
      }
    }
  }

  async function pollShard(shard: Shard): Promise<boolean> {
    const id = shard.ShardId!;
    if (checkpoints.shards[id] === 'closed') return false;
    if (shard.ParentShardId && checkpoints.shards[shard.ParentShardId] !== undefined && checkpoints.shards[shard.ParentShardId] !== 'closed') return false;
    let iterator = iterators.get(id);
    if (!iterator) {
      const seq = checkpoints.shards[id];
      const r = await client.send(
        new GetShardIteratorCommand({
          StreamArn: opts.streamArn,
          ShardId: id,
          ...(seq ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: seq } : { ShardIteratorType: 'TRIM_HORIZON' }),
        }),
      );
      iterator = r.ShardIterator!;
    }
    const r = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: batchSize }));
    const records = (r.Records ?? []).map((x) => toLambdaRecord(x, opts.streamArn));
    if (records.length) {
      await deliver(records);
      checkpoints.shards[id] = records.at(-1)!.dynamodb!.SequenceNumber!;
    }
    if (r.NextShardIterator) iterators.set(id, r.NextShardIterator);
    else {
      iterators.delete(id);
      checkpoints.shards[id] = 'closed';
    }
    if (records.length || !r.NextShardIterator) save();
    return records.length > 0;
  }

  const loop = (async () => {
    while (!stopped) {
      let busy = false;
      try {
        for (const shard of await listShards()) busy = (await pollShard(shard)) || busy;
      } catch (err) {
        if (!stopped) log(`stream poller: ${(err as Error).message}`);
      }
      idle = !busy;
      if (!busy) await new Promise((r) => setTimeout(r, interval));
    }
  })();

  return {
    /** True when the last pass over every shard found nothing new. */
    isIdle: () => idle,
    stop: async () => {
      stopped = true;
      await loop;
      client.destroy();
    },
  };
}
