/**
 * Review definitions (SPEC §9, issue 13 §2): what a review covers, who reviews, when it runs and
 * what happens to undecided items. For the organization's Owner and Administrators. A definition
 * with a schedule carries the scheduler's index attributes (GSI2 `REVSCHED`, sorted by its next
 * run), so the sweeper finds due definitions with one index Query, never a Scan.
 */
import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { type Db, batchGet, getItem, isConditionFailure } from '../core/db.js';
import { ConflictError, NotFoundError, ValidationError } from '../core/errors.js';
import { nextId } from '../core/ids.js';
import { asMembership } from '../core/items.js';
import type { Principal } from '../core/model.js';
import { type Page, type PageRequest, queryPrefixPage } from '../core/pagination.js';
import { keys, stripKeys } from '../core/table.js';
import { now } from '../core/util.js';
import { authorize } from '../org/organizations.js';
import {
  DEFAULT_DURATION_DAYS,
  DEFAULT_INACTIVITY_DAYS,
  type EndAction,
  GRANT_KINDS,
  type GrantKind,
  type Population,
  type ReviewDefinition,
  type ReviewerMode,
  type ScheduleFrequency,
  reviewKeys,
} from './model.js';

/** What a client sends to create a definition (the handler's zod schema gives it this shape). */
export interface DefinitionInput {
  title: string;
  description?: string;
  scope?: { grants?: GrantKind[]; population?: Population };
  reviewers?: { mode?: ReviewerMode; user_ids?: number[]; fallback_user_ids?: number[] };
  schedule?: { frequency: ScheduleFrequency; start_at: string } | null;
  duration_days?: number;
  inactivity_days?: number;
  end_action?: EndAction;
  auto_apply?: boolean;
  confirm_revoke_by_default?: boolean;
}

export const MAX_NAMED_REVIEWERS = 50;

/** Months between runs of each frequency (weeks for weekly). */
const STEP: Record<ScheduleFrequency, { months?: number; days?: number } | null> = {
  once: null,
  weekly: { days: 7 },
  monthly: { months: 1 },
  quarterly: { months: 3 },
  semiannually: { months: 6 },
  annually: { months: 12 },
};

/** The run after `at` for a frequency (null: no further run). */
export function followingRun(frequency: ScheduleFrequency, at: string): string | null {
  const step = STEP[frequency];
  if (!step) return null;
  const d = new Date(at);
  if (step.days) d.setUTCDate(d.getUTCDate() + step.days);
  if (step.months) d.setUTCMonth(d.getUTCMonth() + step.months);
  return d.toISOString();
}

const requireManager = (db: Db, p: Principal) => authorize(db, p, p.orgId, 'organization.access_review.run');

const asDefinition = (i: Record<string, unknown>) => {
  const { type: _t, GSI2PK: _a, GSI2SK: _b, ...rest } = stripKeys(i) as Record<string, unknown>;
  return rest as unknown as ReviewDefinition;
};

/** Named reviewers must be live members of the organization: a 400 naming the field and the ids that are not. */
async function checkMembers(db: Db, orgId: number, field: string, ids: number[]): Promise<void> {
  if (!ids.length) return;
  const found = (await batchGet(db, ids.map((u) => keys.membership(orgId, u)), true)).map(asMembership).filter((m) => m.deleted_at === null && m.role !== 'NO' && m.role !== 'DI');
  const live = new Set(found.map((m) => m.user_id));
  const missing = ids.filter((u) => !live.has(u));
  if (missing.length) throw new ValidationError('Validation error', { [field]: [`Not active members of this organization: ${missing.join(', ')}.`] });
}

/** The whole definition from an input over a base (create: defaults; update: the stored one), checked. */
async function resolve(db: Db, p: Principal, base: ReviewDefinition, input: Partial<DefinitionInput>): Promise<ReviewDefinition> {
  const at = now();
  const d: ReviewDefinition = {
    ...base,
    ...(input.title !== undefined ? { title: input.title } : {}),
    ...(input.description !== undefined ? { description: input.description } : {}),
    scope: { ...base.scope, ...input.scope },
    reviewers: { ...base.reviewers, ...input.reviewers },
    ...(input.duration_days !== undefined ? { duration_days: input.duration_days } : {}),
    ...(input.inactivity_days !== undefined ? { inactivity_days: input.inactivity_days } : {}),
    ...(input.end_action !== undefined ? { end_action: input.end_action } : {}),
    ...(input.auto_apply !== undefined ? { auto_apply: input.auto_apply } : {}),
    ...(input.confirm_revoke_by_default !== undefined ? { confirm_revoke_by_default: input.confirm_revoke_by_default } : {}),
    updated_at: at,
  };
  if (input.schedule !== undefined) d.schedule = input.schedule ? { ...input.schedule, start_at: new Date(input.schedule.start_at).toISOString(), next_run_at: new Date(input.schedule.start_at).toISOString() } : null;
  d.scope.grants = GRANT_KINDS.filter((g) => d.scope.grants.includes(g));
  d.reviewers.user_ids = [...new Set(d.reviewers.user_ids)];
  d.reviewers.fallback_user_ids = [...new Set(d.reviewers.fallback_user_ids)];
  const errors: Record<string, string[]> = {};
  if (!d.scope.grants.length) errors['scope.grants'] = [`Choose at least one of: ${GRANT_KINDS.join(', ')}.`];
  if (d.reviewers.mode === 'members' && !d.reviewers.user_ids.length) errors['reviewers.user_ids'] = ['Name at least one reviewer when reviewers.mode is members.'];
  if (d.reviewers.mode !== 'members' && d.reviewers.user_ids.length) errors['reviewers.user_ids'] = ['Named reviewers are taken only when reviewers.mode is members.'];
  if (d.end_action === 'revoke' && d.auto_apply && !d.confirm_revoke_by_default) {
    errors.confirm_revoke_by_default = ['Revoking undecided items with auto_apply removes everyone no reviewer kept: set confirm_revoke_by_default to true to confirm.'];
  }
  if (Object.keys(errors).length) throw new ValidationError('Validation error', errors);
  await checkMembers(db, p.orgId, 'reviewers.user_ids', d.reviewers.user_ids);
  await checkMembers(db, p.orgId, 'reviewers.fallback_user_ids', d.reviewers.fallback_user_ids);
  return d;
}

const definitionItem = (d: ReviewDefinition) => ({
  ...reviewKeys.definition(d.organization, d.id),
  type: 'review_definition',
  ...d,
  ...(d.schedule?.next_run_at ? reviewKeys.scheduleIndex(d.id, d.schedule.next_run_at) : {}),
});

export async function createDefinition(db: Db, p: Principal, input: DefinitionInput): Promise<ReviewDefinition> {
  await requireManager(db, p);
  const at = now();
  const base: ReviewDefinition = {
    id: 0,
    organization: p.orgId,
    title: input.title,
    description: '',
    scope: { grants: [...GRANT_KINDS], population: 'all' },
    reviewers: { mode: 'administrators', user_ids: [], fallback_user_ids: [] },
    schedule: null,
    duration_days: DEFAULT_DURATION_DAYS,
    inactivity_days: DEFAULT_INACTIVITY_DAYS,
    end_action: 'nothing',
    auto_apply: false,
    confirm_revoke_by_default: false,
    created_by: p.userId,
    created_at: at,
    updated_at: at,
    last_instance: null,
  };
  const d = await resolve(db, p, base, input);
  d.id = await nextId(db, 'review_definition');
  await db.doc.send(new PutCommand({ TableName: db.table, Item: definitionItem(d), ConditionExpression: 'attribute_not_exists(PK)' }));
  return d;
}

/** A definition of the caller's organization (404 otherwise), with its stored item's version. */
export async function readDefinition(db: Db, orgId: number, id: number): Promise<ReviewDefinition> {
  const r = await getItem(db, reviewKeys.definition(orgId, id));
  if (!r) throw new NotFoundError();
  return asDefinition(r);
}

export async function getDefinition(db: Db, p: Principal, id: number): Promise<ReviewDefinition> {
  await requireManager(db, p);
  return readDefinition(db, p.orgId, id);
}

export async function listDefinitions(db: Db, p: Principal, page: PageRequest): Promise<Page<ReviewDefinition>> {
  await requireManager(db, p);
  const r = await queryPrefixPage<Record<string, unknown>>(db, keys.organization(p.orgId).PK, reviewKeys.definitionPrefix, page);
  return { ...r, items: r.items.map(asDefinition) };
}

/**
 * Change a definition: the merged result is checked as a whole (the revoke + auto-apply
 * confirmation included), and written only if nobody changed it meanwhile (409 otherwise).
 * Instances already started keep the settings they started with.
 */
export async function updateDefinition(db: Db, p: Principal, id: number, input: Partial<DefinitionInput>): Promise<ReviewDefinition> {
  await requireManager(db, p);
  const current = await readDefinition(db, p.orgId, id);
  const d = await resolve(db, p, current, input);
  try {
    await db.doc.send(
      new PutCommand({
        TableName: db.table,
        Item: definitionItem(d),
        // A start (or the scheduler) meanwhile moved last_instance and the schedule on: not overwritten.
        ConditionExpression: 'updated_at = :u AND last_instance = :li',
        ExpressionAttributeValues: { ':u': current.updated_at, ':li': current.last_instance },
      }),
    );
  } catch (err) {
    if (isConditionFailure(err)) throw new ConflictError('The definition changed meanwhile (or was deleted); read it again.');
    throw err;
  }
  return d;
}

/** Delete a definition; its instances and their items stay (they are evidence). */
export async function deleteDefinition(db: Db, p: Principal, id: number): Promise<void> {
  await requireManager(db, p);
  try {
    await db.doc.send(new DeleteCommand({ TableName: db.table, Key: reviewKeys.definition(p.orgId, id), ConditionExpression: 'attribute_exists(PK)' }));
  } catch (err) {
    if (isConditionFailure(err)) throw new NotFoundError();
    throw err;
  }
}
