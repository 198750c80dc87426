/**
 * Tamper evidence for the activity log: a daily digest per organization, chained.
 *
 * For each closed day the scheduled job writes the day's leaves (one per entry: its sort key, a
 * hash of the whole entry, and when it expires) in chunks, then the day's head: the count, a hash
 * of the leaves, the previous day's digest and its own digest = H(previous, day, count, leaves).
 * Verifying a range recomputes the leaves from the entries as they are and compares: an entry
 * edited, deleted or inserted after its day was digested shows up by its key, and an edited digest
 * breaks its own hash or the chain after it. (An attacker who can rewrite the whole chain from a
 * day on can hide a change; the job logs each day's digest, so CloudWatch keeps a copy out of the
 * table's reach.)
 */
import { createHash } from 'node:crypto';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { type Db, batchGet, batchWrite, queryAll } from '../core/db.js';
import { requireLogReader } from './activity-log.js';
import { ValidationError } from '../core/errors.js';
import type { Principal } from '../core/model.js';
import { keys } from '../core/table.js';

const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const LEAVES_PER_CHUNK = 3000;
const GENESIS = 'genesis';

/** JSON with object keys sorted at every depth: the same entry always hashes the same. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

interface Leaf {
  sk: string;
  hash: string;
  expiresAt: number;
}
const leafOf = (item: Record<string, unknown>): Leaf => ({ sk: String(item.SK), hash: sha(canonical(item)).slice(0, 32), expiresAt: Number(item.expiresAt ?? 0) });
const leafLine = (l: Leaf) => `${l.sk} ${l.hash} ${l.expiresAt}`;
const parseLeaf = (line: string): Leaf => {
  const [sk, hash, exp] = line.split(' ');
  return { sk: sk!, hash: hash!, expiresAt: Number(exp) };
};

const dayOf = (iso: string) => iso.slice(0, 10);
const nextDay = (day: string) => new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
const prevDay = (day: string) => new Date(Date.parse(`${day}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);

const dayEntries = (db: Db, orgId: number, day: string) =>
  queryAll(db, { KeyConditionExpression: 'PK = :pk AND begins_with(SK, :day)', ExpressionAttributeValues: { ':pk': keys.log(orgId), ':day': `${day}T` }, ConsistentRead: true });

const headDigest = (prev: string, day: string, count: number, leavesHash: string) => sha(`${prev}\n${day}\n${count}\n${leavesHash}`);

const writeItems = (db: Db, items: Record<string, unknown>[]) => batchWrite(db, items.map((Item) => ({ PutRequest: { Item } })));

interface Pointer {
  last_day: string;
  digest: string;
}

/**
 * Digest every closed day of an organization's log not digested yet, through `through` (a
 * YYYY-MM-DD day, normally yesterday). Returns the days written. Each day's chunks are written
 * before its head and the head before the pointer, so a run cut short is taken up by the next.
 */
export async function digestOrganization(db: Db, orgId: number, through: string, maxDays = 400): Promise<{ day: string; count: number; digest: string }[]> {
  const pk = keys.digest(orgId);
  const pointer = (await db.doc.send(new GetCommand({ TableName: db.table, Key: { PK: pk, SK: 'head' }, ConsistentRead: true }))).Item as Pointer | undefined;
  let day: string;
  let prev: string;
  if (pointer) {
    day = nextDay(pointer.last_day);
    prev = pointer.digest;
  } else {
    const first = await db.doc.send(new QueryCommand({ TableName: db.table, KeyConditionExpression: 'PK = :pk', ExpressionAttributeValues: { ':pk': keys.log(orgId) }, Limit: 1 }));
    day = first.Items?.[0] ? dayOf(String(first.Items[0].SK)) : through;
    prev = GENESIS;
  }
  const written: { day: string; count: number; digest: string }[] = [];
  for (; day <= through && written.length < maxDays; day = nextDay(day)) {
    const leaves = (await dayEntries(db, orgId, day)).map(leafOf).sort((a, b) => (a.sk < b.sk ? -1 : 1));
    const lines = leaves.map(leafLine);
    const leavesHash = sha(lines.join('\n'));
    const digest = headDigest(prev, day, leaves.length, leavesHash);
    const chunks: Record<string, unknown>[] = [];
    for (let i = 0; i < lines.length; i += LEAVES_PER_CHUNK) {
      chunks.push({ PK: pk, SK: `${day}#${String(i / LEAVES_PER_CHUNK).padStart(4, '0')}`, type: 'digest_leaves', leaves: lines.slice(i, i + LEAVES_PER_CHUNK).join('\n') });
    }
    await writeItems(db, chunks);
    const head = { PK: pk, SK: day, type: 'digest', day, count: leaves.length, chunks: chunks.length, leaves_hash: leavesHash, prev, digest, created_at: new Date().toISOString() };
    await writeItems(db, [head, { PK: pk, SK: 'head', type: 'digest_pointer', last_day: day, digest }]);
    written.push({ day, count: leaves.length, digest });
    prev = digest;
  }
  return written;
}

/** Digest every organization's closed days (the scheduled job). Organizations are numbered 1…n. */
export async function digestAll(db: Db, now = new Date()): Promise<{ organization: number; days: number }[]> {
  const through = prevDay(now.toISOString().slice(0, 10));
  const counter = (await db.doc.send(new GetCommand({ TableName: db.table, Key: keys.counter('organization'), ConsistentRead: true }))).Item;
  const max = Number(counter?.value ?? 1);
  const out: { organization: number; days: number }[] = [];
  for (let first = 1; first <= max; first += 100) {
    const ids = Array.from({ length: Math.min(100, max - first + 1) }, (_, i) => first + i);
    const orgs = await batchGet(db, ids.map((id) => keys.organization(id)));
    for (const org of orgs.map((o) => Number(o.id)).sort((a, b) => a - b)) {
      out.push({ organization: org, days: (await digestOrganization(db, org, through)).length });
    }
  }
  return out;
}

export interface DayReport {
  date: string;
  /**
   * ok; tampered (entries or digest changed, or a digest missing inside the organization's
   * history); not_digested (the day is not closed or the job has not run); before_history (a day
   * before the organization's log begins: nothing to verify, and no entry may be there).
   */
  status: 'ok' | 'tampered' | 'not_digested' | 'before_history';
  entries: number;
  altered: string[];
  missing: string[];
  inserted: string[];
  /** Entries gone because their retention ended (not tampering). */
  expired: number;
  /** Problems with the digest itself: its hash, its leaves, its link to the day before. */
  digest_problems: string[];
}

/**
 * The day the organization's log begins: the day of its chain's first digest when that digest
 * starts the chain (an organization older than its log begins there), else the day the
 * organization was created (so a chain whose first days were deleted still shows them missing).
 */
async function historyBegins(db: Db, orgId: number): Promise<string | undefined> {
  const [first, org] = await Promise.all([
    // Day heads ("YYYY-MM-DD") sort before their chunks ("YYYY-MM-DD#0000") and the pointer ("head").
    db.doc.send(
      new QueryCommand({ TableName: db.table, KeyConditionExpression: 'PK = :pk AND SK < :head', ExpressionAttributeValues: { ':pk': keys.digest(orgId), ':head': 'head' }, Limit: 1, ConsistentRead: true }),
    ),
    db.doc.send(new GetCommand({ TableName: db.table, Key: keys.organization(orgId), ProjectionExpression: 'created_at', ConsistentRead: true })),
  ]);
  const head = first.Items?.[0];
  if (head?.type === 'digest' && head.prev === GENESIS) return String(head.day);
  const created = org.Item?.created_at;
  return typeof created === 'string' ? dayOf(created) : undefined;
}

/**
 * Recompute a range of days (at most 92) of the caller's organization against their digests (OW,
 * AD). Days before the organization's log begins are `before_history` and leave the range valid.
 */
export async function verifyRange(db: Db, p: Principal, from: string, to: string): Promise<{ valid: boolean; days: DayReport[] }> {
  requireLogReader(p);
  const orgId = p.orgId;
  if (to < from) throw new ValidationError('Validation error', { end_date: ['The end date is before the start date.'] });
  const span = (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000 + 1;
  if (span > 92) throw new ValidationError('Validation error', { end_date: ['Verify at most 92 days at a time.'] });
  const pk = keys.digest(orgId);
  const [digestItems, pointer, before, begins] = await Promise.all([
    queryAll(db, { KeyConditionExpression: 'PK = :pk AND SK BETWEEN :a AND :b', ExpressionAttributeValues: { ':pk': pk, ':a': from, ':b': `${to}#9999` }, ConsistentRead: true }),
    db.doc.send(new GetCommand({ TableName: db.table, Key: { PK: pk, SK: 'head' }, ConsistentRead: true })).then((r) => r.Item as Pointer | undefined),
    db.doc.send(new GetCommand({ TableName: db.table, Key: { PK: pk, SK: prevDay(from) }, ConsistentRead: true })).then((r) => r.Item),
    historyBegins(db, orgId),
  ]);
  const now = Math.floor(Date.now() / 1000);
  const days: DayReport[] = [];
  let previousDigest = before?.digest as string | undefined;
  for (let day = from; day <= to; day = nextDay(day)) {
    const entries = await dayEntries(db, orgId, day);
    const report: DayReport = { date: day, status: 'ok', entries: entries.length, altered: [], missing: [], inserted: [], expired: 0, digest_problems: [] };
    days.push(report);
    const head = digestItems.find((i) => i.SK === day);
    if (!head && begins !== undefined && day < begins) {
      // Nothing was logged before the log began: an entry there was put in afterwards.
      if (entries.length) {
        report.status = 'tampered';
        report.digest_problems.push("The day is before the organization's log begins, yet holds entries.");
        report.inserted = entries.map((e) => String(e.SK));
      } else report.status = 'before_history';
      previousDigest = undefined;
      continue;
    }
    if (!head) {
      if (pointer && day <= pointer.last_day) {
        report.status = 'tampered';
        report.digest_problems.push('The digest of this day is missing.');
        report.inserted = entries.map((e) => String(e.SK));
      } else report.status = 'not_digested';
      previousDigest = undefined;
      continue;
    }
    const lines = digestItems
      .filter((i) => typeof i.SK === 'string' && i.SK.startsWith(`${day}#`))
      .sort((a, b) => (String(a.SK) < String(b.SK) ? -1 : 1))
      .flatMap((c) => (c.leaves ? String(c.leaves).split('\n') : []));
    if (sha(lines.join('\n')) !== head.leaves_hash || lines.length !== head.count) report.digest_problems.push('The leaves do not match the digest.');
    if (headDigest(String(head.prev), day, Number(head.count), String(head.leaves_hash)) !== head.digest) report.digest_problems.push('The digest does not match its own contents.');
    if (previousDigest !== undefined && head.prev !== previousDigest) report.digest_problems.push('The digest does not follow from the day before.');
    previousDigest = String(head.digest);

    const stored = new Map(lines.map(parseLeaf).map((l) => [l.sk, l]));
    for (const e of entries) {
      const leaf = leafOf(e);
      const was = stored.get(leaf.sk);
      if (!was) report.inserted.push(leaf.sk);
      else if (was.hash !== leaf.hash) report.altered.push(leaf.sk);
      stored.delete(leaf.sk);
    }
    for (const l of stored.values()) {
      if (l.expiresAt && l.expiresAt <= now) report.expired++;
      else report.missing.push(l.sk);
    }
    if (report.altered.length || report.missing.length || report.inserted.length || report.digest_problems.length) report.status = 'tampered';
  }
  return { valid: days.every((d) => d.status !== 'tampered'), days };
}
