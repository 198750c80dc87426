/**
 * Activity-log exports: NDJSON or CSV of an organization's entries in a date range, written to S3
 * (EXPORT_BUCKET) or, on one machine, to a folder (ROSTER_EXPORT_DIR).
 *
 * An export is an item the stream consumer carries out part by part, as bulk jobs are: each slice
 * reads entries from the cursor until a part is full (8 MiB), uploads it as one part of a multipart
 * upload, and moves the item on, conditional on the part it read; that change brings the next
 * slice. Memory stays at one part whatever the size of the export, and a redelivered record
 * re-uploads the same part under the same number and loses the condition.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { GetCommand, PutCommand, QueryCommand, type QueryCommandOutput, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type EntryItem, entryView, requireLogReader, timeBound } from './activity-log.js';
import { csvCell } from '../core/csv.js';
import { type Db, isConditionFailure } from '../core/db.js';
import { ForbiddenError, ServiceUnavailableError } from '../core/errors.js';
import type { Principal } from '../core/model.js';
import { keys } from '../core/table.js';
import { now } from '../core/util.js';

export type ExportFormat = 'ndjson' | 'csv';

export interface ExportJob {
  id: string;
  organization: number;
  format: ExportFormat;
  start_date: string | null;
  end_date: string | null;
  status: 'pending' | 'running' | 'done';
  location: string;
  /** Parts uploaded so far, the sort key of the last entry written, and the entries and bytes written. */
  part: number;
  cursor: string | null;
  count: number;
  bytes: number;
  created_by: number;
  created_at: string;
  finished_at: string | null;
}

interface ExportItem extends ExportJob {
  upload_id?: string;
  etags?: string[];
}

/** Where exports go: S3 multipart uploads, or files assembled from parts in a folder. */
export interface ExportSink {
  location(key: string): string;
  begin(key: string): Promise<string>;
  part(key: string, uploadId: string, n: number, body: Buffer): Promise<string>;
  complete(key: string, uploadId: string, etags: string[]): Promise<void>;
}

export class S3Sink implements ExportSink {
  constructor(
    private readonly bucket: string,
    private readonly s3 = new S3Client({}),
  ) {}
  location = (key: string) => `s3://${this.bucket}/${key}`;
  async begin(key: string) {
    const r = await this.s3.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ServerSideEncryption: 'AES256' }));
    return r.UploadId!;
  }
  async part(key: string, uploadId: string, n: number, body: Buffer) {
    const r = await this.s3.send(new UploadPartCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber: n, Body: body }));
    return r.ETag!;
  }
  async complete(key: string, uploadId: string, etags: string[]) {
    await this.s3.send(
      new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) } }),
    );
  }
}

export class FolderSink implements ExportSink {
  constructor(private readonly dir: string) {}
  location = (key: string) => join(this.dir, key);
  private parts = (key: string) => join(this.dir, `${key}.parts`);
  async begin(key: string) {
    mkdirSync(this.parts(key), { recursive: true });
    return 'local';
  }
  async part(key: string, _uploadId: string, n: number, body: Buffer) {
    writeFileSync(join(this.parts(key), String(n).padStart(5, '0')), body);
    return String(n);
  }
  async complete(key: string) {
    const dir = this.parts(key);
    writeFileSync(this.location(key), '');
    // Part by part, streamed: the whole export is never in memory.
    for (const f of readdirSync(dir).sort()) await pipeline(createReadStream(join(dir, f)), createWriteStream(this.location(key), { flags: 'a' }));
    rmSync(dir, { recursive: true, force: true });
  }
}

export function exportSink(): ExportSink {
  if (process.env.EXPORT_BUCKET) return new S3Sink(process.env.EXPORT_BUCKET);
  if (process.env.ROSTER_EXPORT_DIR) return new FolderSink(process.env.ROSTER_EXPORT_DIR);
  throw new ServiceUnavailableError('Exports are not configured (EXPORT_BUCKET or ROSTER_EXPORT_DIR).');
}

const partBytes = () => Number(process.env.ROSTER_EXPORT_PART_BYTES) || 8 * 1024 * 1024;
const objectKey = (job: Pick<ExportJob, 'organization' | 'id' | 'format'>) => `activity-logs/org-${job.organization}/${job.id}.${job.format}`;

const view = (item: Record<string, unknown>): ExportJob => {
  const { PK: _pk, SK: _sk, type: _t, _ctx: _c, upload_id: _u, etags: _e, expiresAt: _x, ...rest } = item;
  return rest as unknown as ExportJob;
};

/** Start an export of the caller's organization (its Owner and Administrators). */
export async function startExport(db: Db, p: Principal, input: { format: ExportFormat; start_date?: string; end_date?: string }): Promise<ExportJob> {
  requireLogReader(p);
  const sink = exportSink();
  const job: ExportJob = {
    id: randomUUID(),
    organization: p.orgId,
    format: input.format,
    start_date: timeBound(input.start_date, 'start_date', false) ?? null,
    end_date: timeBound(input.end_date, 'end_date', true) ?? null,
    status: 'pending',
    location: '',
    part: 0,
    cursor: null,
    count: 0,
    bytes: 0,
    created_by: p.userId,
    created_at: now(),
    finished_at: null,
  };
  job.location = sink.location(objectKey(job));
  await db.doc.send(
    new PutCommand({ TableName: db.table, Item: { ...keys.exportJob(p.orgId, job.id), type: 'export', ...job, expiresAt: Math.floor(Date.now() / 1000) + 30 * 86_400 } }),
  );
  return job;
}

export async function getExport(db: Db, p: Principal, id: string): Promise<ExportJob> {
  requireLogReader(p);
  const r = await db.doc.send(new GetCommand({ TableName: db.table, Key: keys.exportJob(p.orgId, id), ConsistentRead: true }));
  // Exports of other organizations are refused like any other organization's log.
  if (!r.Item) throw new ForbiddenError('Not an export of your organization.');
  return view(r.Item);
}

const CSV_COLUMNS = [
  'id', 'datetime', 'user_id', 'email', 'action', 'source', 'resource_type', 'resource_id', 'organization_id', 'workspace_id', 'project_id',
  'request_method', 'request_url', 'response_code', 'ip_address', 'user_agent', 'before', 'after',
] as const;


function line(format: ExportFormat, item: EntryItem): string {
  const v = entryView(item) as Record<string, unknown>;
  return format === 'ndjson' ? `${JSON.stringify(v)}\n` : `${CSV_COLUMNS.map((c) => csvCell(v[c])).join(',')}\r\n`;
}

/** One slice of an export (called by the stream consumer for an export item that is not done). */
export async function runExportSlice(db: Db, seen: ExportItem): Promise<void> {
  const key = keys.exportJob(seen.organization, seen.id);
  // The stream may deliver an older image again: work from the item as it is now.
  const current = (await db.doc.send(new GetCommand({ TableName: db.table, Key: key, ConsistentRead: true }))).Item as ExportItem | undefined;
  if (!current || current.status === 'done' || current.part !== seen.part || current.status !== seen.status) return;
  const sink = exportSink();
  const object = objectKey(current);
  if (current.status === 'pending') {
    const uploadId = await sink.begin(object);
    await advance(db, key, current.part, 'SET #s = :running, upload_id = :u, etags = :e', { ':running': 'running', ':u': uploadId, ':e': [] });
    return;
  }
  const chunks: string[] = [];
  let bytes = 0;
  let n = 0;
  if (current.part === 0 && current.format === 'csv') chunks.push(`${CSV_COLUMNS.join(',')}\r\n`);
  let start: Record<string, unknown> | undefined = current.cursor ? { PK: keys.log(current.organization), SK: current.cursor } : undefined;
  let last = current.cursor;
  do {
    const r: QueryCommandOutput = await db.doc.send(
      new QueryCommand({
        TableName: db.table,
        KeyConditionExpression: 'PK = :pk AND SK BETWEEN :from AND :to',
        FilterExpression: 'attribute_not_exists(expiresAt) OR expiresAt > :now',
        ExpressionAttributeValues: { ':pk': keys.log(current.organization), ':from': current.start_date ?? '0', ':to': `${current.end_date ?? '9999'}#\uffff`, ':now': Math.floor(Date.now() / 1000) },
        ExclusiveStartKey: start,
        // Entries are some hundred bytes: a page stays within a part (and a page is 1 MB at most anyway).
        Limit: Math.min(1000, Math.max(1, Math.floor(partBytes() / 500))),
        ConsistentRead: true,
      }),
    );
    for (const item of (r.Items ?? []) as EntryItem[]) {
      const l = line(current.format, item);
      chunks.push(l);
      bytes += Buffer.byteLength(l);
      n++;
    }
    start = r.LastEvaluatedKey;
    if (start) last = String(start.SK);
  } while (start && bytes < partBytes());
  const done = !start;
  const body = Buffer.from(chunks.join(''));
  const etags = [...(current.etags ?? [])];
  if (body.length || !etags.length) etags.push(await sink.part(object, current.upload_id!, current.part + 1, body));
  if (done) await sink.complete(object, current.upload_id!, etags);
  await advance(
    db,
    key,
    current.part,
    `SET #p = :next, #c = :cursor, #n = #n + :n, #b = #b + :bytes, etags = :etags${done ? ', #s = :done, finished_at = :at' : ''}`,
    {
      ':next': current.part + 1,
      ':cursor': last,
      ':n': n,
      ':bytes': body.length,
      ':etags': etags,
      ...(done ? { ':done': 'done', ':at': now() } : {}),
    },
  );
}

/** Move an export on, only from the part it was read at (a replayed slice loses this condition). */
async function advance(db: Db, key: { PK: string; SK: string }, part: number, expression: string, values: Record<string, unknown>): Promise<void> {
  try {
    await db.doc.send(
      new UpdateCommand({
        TableName: db.table,
        Key: key,
        UpdateExpression: expression,
        ConditionExpression: '#p = :was',
        ExpressionAttributeNames: Object.fromEntries(
          Object.entries({ '#p': 'part', '#c': 'cursor', '#n': 'count', '#b': 'bytes', '#s': 'status' }).filter(([k]) => expression.includes(k) || k === '#p'),
        ),
        ExpressionAttributeValues: { ...values, ':was': part },
      }),
    );
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
  }
}
