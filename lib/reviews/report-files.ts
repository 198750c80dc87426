/**
 * Writing a closed review's report files, slice by slice (close.ts runs the slices):
 *
 *   report.csv, report.json  one multipart upload each; a slice reads items from its cursor until a
 *                            part is full (ROSTER_REVIEW_PART_BYTES, 8 MiB: above S3's 5 MiB minimum)
 *                            and uploads one part of each; the summary is folded up as it goes
 *   report.html              the summary drawn (report.ts), written whole at the end
 *   manifest.json            each file's name, media type, size and SHA-256, hashed back from
 *                            storage (what an auditor downloads is what was hashed)
 *
 * The manifest is kept on the instance too (`report`), and the API lists and serves the files.
 */
import { createHash } from 'node:crypto';
import { QueryCommand, type QueryCommandOutput, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type Db, batchGet } from '../core/db.js';
import { DomainError, NotFoundError } from '../core/errors.js';
import { keys, pad } from '../core/table.js';
import { now } from '../core/util.js';
import { instanceOf } from './decisions.js';
import { idpInstruction, idpManaged, reasonText } from './grants.js';
import { type ReviewInstance, type ReviewItem, reviewKeys } from './model.js';
import { type ReportRow, csvHeader, csvLine, emptySummary, jsonClose, jsonLine, jsonOpen, renderHtml, tally } from './report.js';
import { type Advance, type ReviewRun } from './runs.js';
import { readAll, reportStore } from './storage.js';

export const REPORT_FILES = [
  { name: 'report.csv', media_type: 'text/csv; charset=utf-8' },
  { name: 'report.json', media_type: 'application/json' },
  { name: 'report.html', media_type: 'text/html; charset=utf-8' },
  { name: 'manifest.json', media_type: 'application/json' },
] as const;
export type ReportFileName = (typeof REPORT_FILES)[number]['name'];

export interface ManifestFile {
  name: string;
  media_type: string;
  bytes: number;
  sha256: string;
}

export interface Manifest {
  review: number;
  organization: number;
  definition: number;
  /** Which run wrote the files: at close, or after the decisions were applied. */
  written_by: 'close' | 'apply';
  generated_at: string;
  snapshot: { items: number; sha256: string | null };
  rows: number;
  /** The report files (the manifest does not list itself). */
  files: ManifestFile[];
}

const partBytes = () => Number(process.env.ROSTER_REVIEW_PART_BYTES) || 8 * 1024 * 1024;
/** Items read per Query while filling a part. */
const PAGE = 1000;

export const objectKey = (orgId: number, instId: number, name: string) => `access-reviews/org-${orgId}/review-${pad(instId)}/${name}`;

function reviewHeader(instance: ReviewInstance & Record<string, unknown>) {
  return {
    id: instance.id,
    organization: instance.organization,
    definition: instance.definition,
    title: instance.settings.title,
    scope: instance.settings.scope,
    end_action: instance.settings.end_action,
    trigger: instance.trigger,
    started_by: instance.started_by,
    started_at: instance.started_at,
    due_at: instance.due_at,
    closed_at: (instance.closed_at as string | undefined) ?? null,
    closed_by: (instance.closed_by as number | undefined) ?? null,
    previous_instance: instance.previous_instance,
    snapshot: { items: instance.snapshot.items, people: instance.snapshot.people, bytes: instance.snapshot.bytes, sha256: instance.snapshot.sha256 },
  };
}

/** Titles of the workspaces and projects a page of items names (one BatchGet). */
async function titlesOf(db: Db, orgId: number, items: ReviewItem[]): Promise<Map<string, string>> {
  const ws = new Set(items.flatMap((i) => (i.workspace_id ? [i.workspace_id] : [])));
  const pr = new Set(items.flatMap((i) => (i.project_id ? [i.project_id] : [])));
  const found = await batchGet(db, [...[...ws].map((id) => keys.workspace(orgId, id)), ...[...pr].map((id) => keys.project(orgId, id))]);
  return new Map(found.map((f) => [String(f.SK), String(f.title ?? '')]));
}

export function rowOf(item: ReviewItem & { decided_via?: 'reviewer' | 'end_action' | null }, titles: Map<string, string>): ReportRow {
  const target =
    item.kind === 'organization_role' ? { type: 'organization', id: item.organization, title: null }
    : item.kind === 'workspace_membership' ? { type: 'workspace', id: item.workspace_id, title: titles.get(keys.workspace(item.organization, item.workspace_id!).SK) ?? null }
    : { type: 'project', id: item.project_id, title: titles.get(keys.project(item.organization, item.project_id!).SK) ?? null };
  const decision = item.decision === 'undecided' ? null : item.decision;
  return {
    item_id: `${item.user_id}:${item.grant}`,
    user_id: item.user_id,
    email: item.email,
    name: `${item.first_name ?? ''} ${item.last_name ?? ''}`.trim(),
    organization_role: item.organization_role,
    grant: item.kind,
    target_type: target.type,
    target_id: target.id,
    target_title: target.title,
    grant_role: item.role,
    source: item.reason.kind === 'idp' ? item.reason.source : (item.role_source ?? 'manual'),
    reason: reasonText(item),
    idp_group: item.reason.kind === 'idp' ? item.reason.group : null,
    flags: [...item.flags],
    last_activity: item.last_activity,
    reviewers: item.reviewer_ids.join(';'),
    decision,
    decided_via: decision ? (item.decided_via ?? 'reviewer') : null,
    justification: item.justification,
    decided_by: item.decided_by,
    decided_at: item.decided_at,
    apply_result: item.apply_result,
    apply_detail: item.apply_detail,
    idp_instruction: decision === 'revoke' && idpManaged(item) ? idpInstruction(item) : null,
  };
}

/** One slice of the report phase: a part of each of the CSV and the JSON. */
export async function reportSlice(db: Db, run: ReviewRun): Promise<Advance> {
  const store = reportStore();
  const instance = (await instanceOf(db, run.organization, run.instance)) as ReviewInstance & Record<string, unknown>;
  const csvKey = objectKey(run.organization, run.instance, 'report.csv');
  const jsonKey = objectKey(run.organization, run.instance, 'report.json');
  const state = run.report ?? {
    csv: { upload_id: await store.begin(csvKey, REPORT_FILES[0].media_type), etags: [] },
    json: { upload_id: await store.begin(jsonKey, REPORT_FILES[1].media_type), etags: [] },
    rows: 0,
    summary: emptySummary(),
  };
  const csv: string[] = [];
  const json: string[] = [];
  let bytes = 0;
  if (state.csv.etags.length === 0) {
    csv.push(csvHeader());
    json.push(jsonOpen(reviewHeader(instance)));
  }
  const pk = keys.organization(run.organization).PK;
  let start: Record<string, unknown> | undefined = run.cursor ? { PK: pk, SK: run.cursor } : undefined;
  let last = run.cursor;
  do {
    const r: QueryCommandOutput = await db.doc.send(
      new QueryCommand({
        TableName: db.table,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
        ExpressionAttributeValues: { ':pk': pk, ':prefix': reviewKeys.itemPrefix(run.instance) },
        ExclusiveStartKey: start,
        Limit: PAGE,
        ConsistentRead: true,
      }),
    );
    const items = (r.Items ?? []) as unknown as ReviewItem[];
    const titles = await titlesOf(db, run.organization, items);
    for (const item of items) {
      const row = rowOf(item, titles);
      const c = csvLine(row);
      csv.push(c);
      json.push(jsonLine(row, state.rows === 0));
      tally(state.summary, row);
      state.rows++;
      bytes += Buffer.byteLength(c);
    }
    start = r.LastEvaluatedKey;
    if (items.length) last = String((items.at(-1) as unknown as { SK: string }).SK);
  } while (start && bytes < partBytes());
  const done = !start;
  if (done) {
    const removed = instance.snapshot.removed_since_previous;
    if (removed) state.summary.changes.removed = removed;
    json.push(jsonClose(state.summary));
  }
  const n = state.csv.etags.length + 1;
  const [csvTag, jsonTag] = await Promise.all([
    store.part(csvKey, state.csv.upload_id, n, Buffer.from(csv.join(''))),
    store.part(jsonKey, state.json.upload_id, n, Buffer.from(json.join(''))),
  ]);
  state.csv.etags.push(csvTag);
  state.json.etags.push(jsonTag);
  if (done) await Promise.all([store.complete(csvKey, state.csv.upload_id, state.csv.etags), store.complete(jsonKey, state.json.upload_id, state.json.etags)]);
  return { phase: done ? 'finish' : 'report', cursor: done ? null : last, report: state };
}

async function sha256Of(key: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of await reportStore().read(key)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

/** The last slice: the HTML page, the files hashed back from storage, the manifest, the instance told. */
export async function finishReport(db: Db, run: ReviewRun): Promise<Manifest> {
  const store = reportStore();
  const instance = (await instanceOf(db, run.organization, run.instance)) as ReviewInstance & Record<string, unknown>;
  const summary = run.report?.summary ?? emptySummary();
  const header = reviewHeader(instance);
  const html = renderHtml(
    {
      id: String(instance.id),
      name: instance.settings.title,
      organization: instance.organization,
      started_at: instance.started_at,
      closed_at: header.closed_at ?? '',
      snapshot_sha256: instance.snapshot.sha256,
      snapshot_size: instance.snapshot.items,
      previous: instance.previous_instance === null ? null : String(instance.previous_instance),
    },
    summary,
  );
  await store.put(objectKey(run.organization, run.instance, 'report.html'), Buffer.from(html), REPORT_FILES[2].media_type);
  const files: ManifestFile[] = [];
  for (const f of REPORT_FILES.slice(0, 3)) files.push({ name: f.name, media_type: f.media_type, ...(await sha256Of(objectKey(run.organization, run.instance, f.name))) });
  const manifest: Manifest = {
    review: instance.id,
    organization: instance.organization,
    definition: instance.definition,
    written_by: run.kind,
    generated_at: now(),
    snapshot: { items: instance.snapshot.items, sha256: instance.snapshot.sha256 },
    rows: run.report?.rows ?? 0,
    files,
  };
  await store.put(objectKey(run.organization, run.instance, 'manifest.json'), Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`), REPORT_FILES[3].media_type);
  const apply = run.apply;
  await db.doc.send(
    new UpdateCommand({
      TableName: db.table,
      Key: reviewKeys.instance(run.organization, run.instance),
      UpdateExpression: `SET report = :m${apply ? ', #s = :applied, applied_at = :at' : ''}`,
      ...(apply ? { ExpressionAttributeNames: { '#s': 'status' } } : {}),
      ExpressionAttributeValues: { ':m': manifest, ...(apply ? { ':applied': 'applied', ':at': now() } : {}) },
    }),
  );
  return manifest;
}

/** A report file of an instance, as stored (the manifest lists what is there). */
export async function reportFile(orgId: number, instance: ReviewInstance & { report?: Manifest }, name: string): Promise<{ body: Buffer; media_type: string }> {
  const file = REPORT_FILES.find((f) => f.name === name);
  if (!file) throw new NotFoundError(`No such report file; the files are ${REPORT_FILES.map((f) => f.name).join(', ')}.`);
  if (!instance.report) throw new NotFoundError('The reports of this review are not written yet: they are written when it closes.');
  const store = reportStore();
  const key = objectKey(orgId, instance.id, name);
  const size = await store.size(key);
  if (size > store.servedLimit) {
    throw new DomainError(413, `${name} is ${size} bytes, more than a response through the API carries; fetch ${store.location(key)} (its SHA-256 is in the manifest).`);
  }
  return { body: await readAll(await store.read(key)), media_type: file.media_type };
}
