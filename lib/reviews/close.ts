/**
 * Closing a review and applying its decisions, in slices (as bulk jobs and exports run): a run item
 * (`REVRUN#<inst>#close` or `#apply`) that the table's stream consumer carries out phase by phase,
 * each slice moving the run on conditionally on the step it read, which brings the next slice.
 *
 *   end_action  undecided items take the definition's end action (keep, revoke, or nothing)
 *   apply       each revoke goes through the API's own services (lib/access, lib/org) with the
 *               authority of the person who closed the review, read fresh, in the change context
 *               `access_review`; the grant is read again and the item records what the table holds:
 *               applied | failed (why) | not_found (already gone) | idp_managed (left alone: the
 *               IdP would restore it; the report says what to change there)
 *   report      CSV and JSON parts, the summary folded up (report-files.ts)
 *   finish      the HTML page, every file hashed back from storage, the manifest
 *
 * A slice replayed by a redelivered stream record finds the run moved on and does nothing; an item
 * applied is recorded at once, conditionally, so a replayed apply never applies or counts twice.
 */
import { QueryCommand, type QueryCommandOutput, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type ChangeContext, changeContext, withChangeContext } from '../core/context.js';
import { type Db, batchGet, cancellationReasons, getItem, isConditionFailure, transactWrite } from '../core/db.js';
import { ConflictError, DomainError, NotFoundError } from '../core/errors.js';
import { asMembership, asOrganization } from '../core/items.js';
import type { Principal } from '../core/model.js';
import { keys } from '../core/table.js';
import { now } from '../core/util.js';
import { removeProjectMember, deleteProjectRole } from '../access/projects.js';
import { removeWorkspaceMember } from '../access/workspaces.js';
import { authorize, assignRole } from '../org/organizations.js';
import { directory } from '../identity/directory.js';
import { type ApplyResult, type ReviewInstance, type ReviewItem, reviewKeys } from './model.js';
import { instanceOf } from './decisions.js';
import { idpInstruction, idpManaged } from './grants.js';
import { finishReport, reportSlice } from './report-files.js';
import { type Advance, type ReviewRun, type RunKind, runKey, runView } from './runs.js';

/** Items per end-action slice, and per apply slice (each revoke is a few calls to the services). */
export const END_ACTION_SLICE = 500;
export const APPLY_SLICE = 100;
/** Revokes applied at once within a slice. */
const APPLY_PARALLEL = 8;

const isAdmin = (p: Principal) => p.role === 'OW' || p.role === 'AD';

// ---------------------------------------------------------------------------------------------
// Starting a run (the API)

/**
 * Close an open review: no decision is taken after this (the instance leaves `open` in the same
 * transaction that creates the run). `apply` defaults to the definition's auto-apply.
 */
export async function closeReview(db: Db, p: Principal, instId: number, opts: { apply?: boolean } = {}): Promise<{ instance: ReviewInstance; run: ReviewRun }> {
  await authorize(db, p, p.orgId, 'organization.access_review.run');
  const instance = await instanceOf(db, p.orgId, instId);
  return close(db, instance, p.userId, p.userId, opts.apply ?? instance.settings.auto_apply);
}

/**
 * Close: the instance leaves `open` (and the due-date index) in the same transaction that creates
 * its run. `by` is who closed it (null: the sweep, at the due date); `actor` whose authority applies.
 */
async function close(db: Db, instance: ReviewInstance, by: number | null, actor: number, apply: boolean): Promise<{ instance: ReviewInstance; run: ReviewRun }> {
  if (instance.status === 'building') throw new ConflictError('The review is still taking its snapshot.');
  if (instance.status !== 'open') throw new ConflictError(`The review is already ${instance.status}.`);
  const run = newRun(actor, instance, 'close', apply);
  const at = now();
  try {
    await transactWrite(db, [
      {
        Update: {
          TableName: db.table,
          Key: reviewKeys.instance(instance.organization, instance.id),
          UpdateExpression: 'SET #s = :closed, closed_at = :at, closed_by = :by REMOVE GSI2PK, GSI2SK',
          ConditionExpression: '#s = :open',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':closed': 'closed', ':open': 'open', ':at': at, ':by': by },
        },
      },
      { Put: { TableName: db.table, Item: { ...runKey(instance.organization, instance.id, 'close'), type: 'review_run', ...run }, ConditionExpression: 'attribute_not_exists(PK)' } },
    ]);
  } catch (err) {
    if (cancellationReasons(err)) throw new ConflictError('The review was closed meanwhile.');
    throw err;
  }
  return { instance: { ...instance, status: 'closed' }, run };
}

/** Past-due instances closed per sweep at most (the rest wait for the next). */
export const DUE_LIMIT = 200;

/**
 * The sweep's part for due dates (functions/schedule/reviews.ts): every open instance past its due
 * date is closed, found with one index Query. Nobody closes it, so its revokes (auto-apply) run
 * with the authority of whoever started it, or else of the definition's creator, read fresh.
 */
export async function closeDue(db: Db, at = new Date()): Promise<{ closed: { organization: number; instance: number }[] }> {
  const r = await db.doc.send(
    new QueryCommand({
      TableName: db.table,
      IndexName: 'GSI2',
      KeyConditionExpression: 'GSI2PK = :k AND GSI2SK <= :at',
      ExpressionAttributeValues: { ':k': 'REVDUE', ':at': `${at.toISOString()}~` },
      ProjectionExpression: 'PK, SK',
      Limit: DUE_LIMIT,
    }),
  );
  const closed: { organization: number; instance: number }[] = [];
  for (const key of (r.Items ?? []) as { PK: string; SK: string }[]) {
    // The index is eventually consistent: the instance itself says whether it is still open and due.
    const instance = (await getItem(db, key)) as ReviewInstance | undefined;
    if (!instance || instance.status !== 'open' || instance.due_at > at.toISOString()) continue;
    const def = instance.started_by === null ? await getItem(db, reviewKeys.definition(instance.organization, instance.definition)) : undefined;
    const actor = instance.started_by ?? (def?.created_by as number | undefined);
    if (actor === undefined) continue;
    try {
      await close(db, instance, null, actor, instance.settings.auto_apply);
      closed.push({ organization: instance.organization, instance: instance.id });
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
    }
  }
  return { closed };
}

/** Apply the decisions of a review that was closed without applying them (once its reports are written). */
export async function applyReview(db: Db, p: Principal, instId: number): Promise<{ instance: ReviewInstance; run: ReviewRun }> {
  await authorize(db, p, p.orgId, 'organization.access_review.run');
  const instance = await instanceOf(db, p.orgId, instId);
  if (instance.status === 'open' || instance.status === 'building') throw new ConflictError('Close the review first; its decisions are applied once it is closed.');
  if (instance.status !== 'closed') throw new ConflictError(`The review is already ${instance.status}.`);
  const run = newRun(p.userId, instance, 'apply', true);
  try {
    await transactWrite(db, [
      {
        ConditionCheck: {
          TableName: db.table,
          Key: reviewKeys.instance(p.orgId, instId),
          ConditionExpression: '#s = :closed AND attribute_exists(report)',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':closed': 'closed' },
        },
      },
      { Put: { TableName: db.table, Item: { ...runKey(p.orgId, instId, 'apply'), type: 'review_run', ...run }, ConditionExpression: 'attribute_not_exists(PK)' } },
    ]);
  } catch (err) {
    const reasons = cancellationReasons(err);
    if (!reasons) throw err;
    if (reasons[1]?.code === 'ConditionalCheckFailed') throw new ConflictError('The decisions of this review are already being applied.');
    throw new ConflictError('The review is still closing (its reports are being written); retry in a moment.');
  }
  return { instance, run };
}

function newRun(actor: number, instance: ReviewInstance, kind: RunKind, apply: boolean): ReviewRun {
  return {
    organization: instance.organization,
    instance: instance.id,
    kind,
    apply,
    actor,
    phase: kind === 'close' ? 'end_action' : 'apply',
    cursor: null,
    step: 0,
    status: 'pending',
    end_action: { keep: 0, revoke: 0, nothing: 0 },
    applied: { applied: 0, failed: 0, not_found: 0, idp_managed: 0 },
    report: null,
    created_by: actor,
    created_at: now(),
    finished_at: null,
  };
}

/** The runs of an instance (close, apply), for its Owner and Administrators. */
export async function runsOf(db: Db, p: Principal, instId: number): Promise<ReviewRun[]> {
  if (!isAdmin(p)) throw new NotFoundError('No such review.');
  const items = await batchGet(db, [runKey(p.orgId, instId, 'close'), runKey(p.orgId, instId, 'apply')], true);
  return items.map(runView).sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'close' ? -1 : 1));
}

// ---------------------------------------------------------------------------------------------
// Slices (the stream consumer)

/** One slice of a run, for a run item that is not done (the stream consumer calls it). */
export async function runReviewRun(db: Db, seen: ReviewRun): Promise<void> {
  const key = runKey(seen.organization, seen.instance, seen.kind);
  // The stream may deliver an older image again: work from the run as it is now.
  const r = await getItem(db, key);
  const run = r ? runView(r) : undefined;
  if (!run || run.status === 'done' || run.step !== seen.step) return;
  const next = await slice(db, run);
  await advance(db, key, run.step, next);
}

async function slice(db: Db, run: ReviewRun): Promise<Advance> {
  switch (run.phase) {
    case 'end_action':
      return endActionSlice(db, run);
    case 'apply':
      return applySlice(db, run);
    case 'report':
      return reportSlice(db, run);
    case 'finish': {
      await finishReport(db, run);
      return { phase: 'done', cursor: null, status: 'done', finished_at: now() };
    }
    case 'done':
      return { phase: 'done', cursor: null, status: 'done' };
  }
}

async function advance(db: Db, key: { PK: string; SK: string }, step: number, next: Advance): Promise<void> {
  const sets = Object.entries({ status: 'running', ...next }).filter(([, v]) => v !== undefined);
  try {
    await db.doc.send(
      new UpdateCommand({
        TableName: db.table,
        Key: key,
        UpdateExpression: `SET #step = #step + :one, ${sets.map((_, i) => `#f${i} = :v${i}`).join(', ')}`,
        ConditionExpression: '#step = :was',
        ExpressionAttributeNames: { '#step': 'step', ...Object.fromEntries(sets.map(([k], i) => [`#f${i}`, k])) },
        ExpressionAttributeValues: { ':one': 1, ':was': step, ...Object.fromEntries(sets.map(([, v], i) => [`:v${i}`, v])) },
      }),
    );
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
  }
}

/** Items a filtered Query evaluates at a time: most items need nothing, so a slice looks far ahead for the few that do. */
const EVALUATE = 2000;

/**
 * Up to `limit` items of the instance after `cursor` (keys in order) that the filter keeps, and the
 * key to go on from: the last item taken when the slice is full, else the last one evaluated.
 */
async function itemsAfter(db: Db, run: ReviewRun, cursor: string | null, limit: number, filter?: { expression: string; values: Record<string, unknown> }) {
  const prefix = reviewKeys.itemPrefix(run.instance);
  const pk = keys.organization(run.organization).PK;
  const out: ReviewItem[] = [];
  let start: Record<string, unknown> | undefined = cursor ? { PK: pk, SK: cursor } : undefined;
  let last = cursor;
  do {
    const r: QueryCommandOutput = await db.doc.send(
      new QueryCommand({
        TableName: db.table,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
        ExpressionAttributeValues: { ':pk': pk, ':prefix': prefix, ...filter?.values },
        ...(filter ? { FilterExpression: filter.expression } : {}),
        ExclusiveStartKey: start,
        Limit: filter ? EVALUATE : limit,
        ConsistentRead: true,
      }),
    );
    for (const item of (r.Items ?? []) as unknown as (ReviewItem & { SK: string })[]) {
      // Full: the next slice starts after the last item taken.
      if (out.length === limit) return { items: out, last, done: false };
      out.push(item);
      last = item.SK;
    }
    start = r.LastEvaluatedKey;
    if (start) last = String(start.SK);
  } while (start && out.length === 0);
  return { items: out, last, done: !start };
}

const END_ACTION_JUSTIFICATION: Record<'keep' | 'revoke', string> = {
  keep: 'No reviewer decided by the end of the review: kept by its end action.',
  revoke: 'No reviewer decided by the end of the review: revoked by its end action.',
};

async function endActionSlice(db: Db, run: ReviewRun): Promise<Advance> {
  const instance = await instanceOf(db, run.organization, run.instance);
  const action = instance.settings.end_action;
  const page = await itemsAfter(db, run, run.cursor, END_ACTION_SLICE, { expression: 'decision = :undecided', values: { ':undecided': 'undecided' } });
  const counts = { ...run.end_action };
  if (action === 'nothing') counts.nothing += page.items.length;
  else {
    const at = now();
    const results = await inParallel(page.items, 16, async (item) => {
      try {
        await db.doc.send(
          new UpdateCommand({
            TableName: db.table,
            Key: { PK: keys.organization(run.organization).PK, SK: (item as unknown as { SK: string }).SK },
            UpdateExpression: 'SET decision = :d, decided_via = :via, decided_at = :at, decided_by = :null, justification = :j',
            ConditionExpression: 'decision = :undecided',
            ExpressionAttributeValues: { ':d': action, ':via': 'end_action', ':at': at, ':null': null, ':j': END_ACTION_JUSTIFICATION[action], ':undecided': 'undecided' },
          }),
        );
        return true;
      } catch (err) {
        if (isConditionFailure(err)) return false;
        throw err;
      }
    });
    counts[action] += results.filter(Boolean).length;
  }
  if (!page.done) return { phase: 'end_action', cursor: page.last, end_action: counts };
  return { phase: run.apply ? 'apply' : 'report', cursor: null, end_action: counts };
}

async function applySlice(db: Db, run: ReviewRun): Promise<Advance> {
  if (run.cursor === null) await markInstance(db, run, 'applying');
  const page = await itemsAfter(db, run, run.cursor, APPLY_SLICE, { expression: 'decision = :revoke AND apply_result = :null', values: { ':revoke': 'revoke', ':null': null } });
  const counts = { ...run.applied };
  if (page.items.length) {
    const actor = await actingPrincipal(db, run);
    const ctx: ChangeContext = { ...changeContext(), source: 'access_review', actor_id: run.actor, actor_email: actor.email, organization: run.organization, status: undefined };
    const results = await withChangeContext(ctx, () => inParallel(page.items, APPLY_PARALLEL, (item) => applyAndRecord(db, actor, item)));
    for (const r of results) if (r) counts[r]++;
  }
  if (!page.done) return { phase: 'apply', cursor: page.last, applied: counts };
  return { phase: 'report', cursor: null, applied: counts };
}

/** Move the instance on (closed → applying → applied), never back. */
export async function markInstance(db: Db, run: Pick<ReviewRun, 'organization' | 'instance'>, status: 'applying' | 'applied', extra: Record<string, unknown> = {}): Promise<void> {
  const from = status === 'applying' ? ['closed'] : ['closed', 'applying'];
  const sets = Object.entries({ status, ...(status === 'applied' ? { applied_at: now() } : {}), ...extra });
  try {
    await db.doc.send(
      new UpdateCommand({
        TableName: db.table,
        Key: reviewKeys.instance(run.organization, run.instance),
        UpdateExpression: `SET ${sets.map((_, i) => `#f${i} = :v${i}`).join(', ')}`,
        ConditionExpression: `#f0 IN (${from.map((_, i) => `:from${i}`).join(', ')})`,
        ExpressionAttributeNames: Object.fromEntries(sets.map(([k], i) => [`#f${i}`, k])),
        ExpressionAttributeValues: { ...Object.fromEntries(sets.map(([, v], i) => [`:v${i}`, v])), ...Object.fromEntries(from.map((f, i) => [`:from${i}`, f])) },
      }),
    );
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
  }
}

/** The person who closed the review, as the API would see them now: their membership and the organization's overrides, read fresh. */
async function actingPrincipal(db: Db, run: ReviewRun): Promise<Principal> {
  const items = await batchGet(db, [keys.membership(run.organization, run.actor), keys.organization(run.organization)], true);
  const m = items.find((i) => String(i.SK).startsWith('MEMBER#'));
  const org = items.find((i) => i.SK === 'ORG');
  const membership = m ? asMembership(m) : undefined;
  return {
    userId: run.actor,
    orgId: run.organization,
    // A deleted or missing member acts as nobody: every service refuses them.
    role: membership && membership.deleted_at === null ? membership.role : 'DI',
    via: 'token',
    overrides: org ? (asOrganization(org).permission_overrides ?? {}) : {},
    email: membership?.user.email,
  };
}

async function applyAndRecord(db: Db, actor: Principal, item: ReviewItem): Promise<ApplyResult | undefined> {
  const { result, detail } = await applyRevoke(db, actor, item);
  try {
    await db.doc.send(
      new UpdateCommand({
        TableName: db.table,
        Key: reviewKeys.item(item.organization, item.instance, item.user_id, item.grant),
        UpdateExpression: 'SET apply_result = :r, apply_detail = :d, applied_at = :at, applied_by = :by',
        ConditionExpression: 'apply_result = :null',
        ExpressionAttributeValues: { ':r': result, ':d': detail, ':at': now(), ':by': actor.userId, ':null': null },
      }),
    );
    return result;
  } catch (err) {
    // A replayed slice found the item recorded already: counted the first time.
    if (isConditionFailure(err)) return undefined;
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// One revoke

/** Does the table still hold the grant the item reviewed? (Read after applying: the result says what is there.) */
async function holds(db: Db, item: ReviewItem): Promise<{ held: boolean; now?: string }> {
  const org = item.organization;
  switch (item.kind) {
    case 'organization_role': {
      const m = await getItem(db, keys.membership(org, item.user_id));
      if (!m || m.deleted_at !== null) return { held: false, now: 'deleted' };
      return { held: m.role === item.role, now: String(m.role) };
    }
    case 'workspace_membership':
      return { held: !!(await getItem(db, keys.workspaceMember(org, item.workspace_id!, item.user_id))) };
    case 'project_membership':
      return { held: !!(await getItem(db, keys.projectMember(org, item.project_id!, item.user_id))) };
    case 'project_role': {
      const r = await getItem(db, keys.projectRole(org, item.project_id!, item.user_id));
      return r ? { held: r.role === item.role, now: String(r.role) } : { held: false };
    }
  }
}

/** Revoke one grant through the API's own services, then read it back. */
export async function applyRevoke(db: Db, p: Principal, item: ReviewItem): Promise<{ result: ApplyResult; detail: string | null }> {
  if (idpManaged(item)) return { result: 'idp_managed', detail: idpInstruction(item) };
  const before = await holds(db, item);
  if (!before.held) {
    return { result: 'not_found', detail: before.now && item.kind !== 'workspace_membership' && item.kind !== 'project_membership' ? `Already changed since the snapshot (now ${before.now}).` : 'Already gone since the snapshot.' };
  }
  try {
    switch (item.kind) {
      case 'organization_role':
        await assignRole(db, p, item.organization, item.user_id, 'DI', directory());
        break;
      case 'workspace_membership':
        await removeWorkspaceMember(db, p, item.workspace_id!, item.user_id);
        break;
      case 'project_membership':
        await removeProjectMember(db, p, item.project_id!, item.user_id);
        break;
      case 'project_role': {
        const r = await getItem(db, keys.projectRole(item.organization, item.project_id!, item.user_id));
        if (r) await deleteProjectRole(db, p, r.id as number);
        break;
      }
    }
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    const after = await holds(db, item);
    if (!after.held) return { result: 'not_found', detail: 'Gone before the change could be made.' };
    return { result: 'failed', detail: `${err.status}: ${err.detail}` };
  }
  const after = await holds(db, item);
  if (after.held) return { result: 'failed', detail: 'The grant is still held after the change (it was given again meanwhile).' };
  return { result: 'applied', detail: item.kind === 'organization_role' ? 'Deactivated (DI): every access in the organization ended.' : null };
}

/** Map over items, `n` at a time. */
async function inParallel<T, R>(items: T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i]!);
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}
