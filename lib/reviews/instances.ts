/**
 * Review instances: starting one (by hand or by the scheduler), reading them and their items. An
 * instance starts `building`: its snapshot is taken in slices by the stream consumer
 * (lib/reviews/snapshot.ts) and it opens when complete. Starting is one transaction: the instance
 * and the definition's `last_instance`, conditional on the one it read, so two starts at once make
 * one instance and a 409.
 */
import { type Db, cancellationReasons, getItem, transactWrite } from '../core/db.js';
import { ConflictError, ForbiddenError, NotFoundError } from '../core/errors.js';
import { nextId } from '../core/ids.js';
import type { Principal } from '../core/model.js';
import { type Filter, type Page, type PageRequest, queryPrefixPage } from '../core/pagination.js';
import { canInOrganization } from '../core/permissions.js';
import { keys, stripKeys } from '../core/table.js';
import { now } from '../core/util.js';
import { authorize } from '../org/organizations.js';
import { followingRun, readDefinition } from './definitions.js';
import { type Decision, type Flag, type GrantKind, type InstanceStatus, type ReviewInstance, type ReviewItem, reviewKeys } from './model.js';
import { emptySnapshot } from './snapshot.js';

const clean = <T>(i: Record<string, unknown>) => {
  const { type: _t, ...rest } = stripKeys(i) as Record<string, unknown>;
  return rest as unknown as T;
};

const isManager = (p: Principal) => canInOrganization(p.role, 'organization.access_review.run', p.overrides);

/**
 * Start an instance of a definition now. The previous one must have finished building (409
 * otherwise). `schedule`: the scheduler's start, which also moves the definition's next run on.
 */
export async function startInstance(db: Db, p: Principal | null, orgId: number, defId: number, trigger: 'manual' | 'schedule' = 'manual'): Promise<ReviewInstance> {
  if (p) await authorize(db, p, orgId, 'organization.access_review.run');
  const def = await readDefinition(db, orgId, defId);
  if (def.last_instance !== null) {
    const prev = await getItem(db, reviewKeys.instance(orgId, def.last_instance));
    if (prev?.status === 'building') throw new ConflictError('The previous instance of this review is still taking its snapshot.');
  }
  const id = await nextId(db, 'review_instance');
  const at = now();
  const { id: _i, organization: _o, created_by: _c, created_at: _ca, updated_at: _u, last_instance: _l, schedule: _s, ...settings } = def;
  const inst: ReviewInstance = {
    id,
    organization: orgId,
    definition: def.id,
    settings,
    status: 'building',
    trigger,
    started_by: p?.userId ?? null,
    started_at: at,
    due_at: new Date(Date.parse(at) + def.duration_days * 86_400_000).toISOString(),
    previous_instance: def.last_instance,
    reviewer_ids: def.reviewers.mode === 'members' ? def.reviewers.user_ids : [],
    fallback_reviewer_ids: def.reviewers.fallback_user_ids,
    admin_ids: [],
    manager_ids: [],
    manager_scopes: [],
    // 'reviewers' always applies: it is the first phase.
    phase: 'reviewers',
    cursor: '',
    snapshot: emptySnapshot(def.last_instance !== null),
  };
  const schedule = trigger === 'schedule' && def.schedule ? { ...def.schedule, next_run_at: followingRun(def.schedule.frequency, def.schedule.next_run_at ?? at) } : def.schedule;
  const defKey = reviewKeys.definition(orgId, defId);
  try {
    await transactWrite(db, [
      { Put: { TableName: db.table, Item: { ...reviewKeys.instance(orgId, id), type: 'review_instance', ...inst }, ConditionExpression: 'attribute_not_exists(PK)' } },
      {
        Update: {
          TableName: db.table,
          Key: defKey,
          UpdateExpression: schedule?.next_run_at
            ? 'SET last_instance = :id, schedule = :sched, GSI2PK = :gpk, GSI2SK = :gsk'
            : trigger === 'schedule'
              ? 'SET last_instance = :id, schedule = :sched REMOVE GSI2PK, GSI2SK'
              : 'SET last_instance = :id',
          ConditionExpression: def.last_instance === null ? 'attribute_exists(PK) AND last_instance = :null' : 'last_instance = :prev',
          ExpressionAttributeValues: {
            ':id': id,
            ...(def.last_instance === null ? { ':null': null } : { ':prev': def.last_instance }),
            ...(trigger === 'schedule' ? { ':sched': schedule } : {}),
            ...(schedule?.next_run_at && trigger === 'schedule' ? { ':gpk': reviewKeys.scheduleIndex(defId, schedule.next_run_at).GSI2PK, ':gsk': reviewKeys.scheduleIndex(defId, schedule.next_run_at).GSI2SK } : {}),
          },
        },
      },
    ]);
  } catch (err) {
    if (cancellationReasons(err)) throw new ConflictError('Another instance of this review started at the same time.');
    throw err;
  }
  return inst;
}

export async function getInstance(db: Db, p: Principal, id: number): Promise<ReviewInstance> {
  const r = await getItem(db, reviewKeys.instance(p.orgId, id));
  if (!r) throw new NotFoundError();
  const inst = clean<ReviewInstance>(r);
  // A reviewer who is not a manager of reviews sees the instances that name them.
  if (!isManager(p) && !reviewerOfInstance(inst, p.userId)) throw new NotFoundError();
  return inst;
}

/** Whether a person may have items to review in an instance (the items decide which). */
const reviewerOfInstance = (inst: ReviewInstance, userId: number) =>
  inst.reviewer_ids.includes(userId) || inst.fallback_reviewer_ids.includes(userId) || inst.manager_ids.includes(userId) || inst.admin_ids.includes(userId);

export interface InstanceFilters {
  definition?: number;
  status?: InstanceStatus;
}

/** The organization's instances, newest first (Owner and Administrators). */
export async function listInstances(db: Db, p: Principal, page: PageRequest, f: InstanceFilters): Promise<Page<ReviewInstance>> {
  await authorize(db, p, p.orgId, 'organization.access_review.run');
  const parts: string[] = [];
  const values: Record<string, unknown> = {};
  const names: Record<string, string> = {};
  if (f.definition !== undefined) {
    parts.push('#d = :d');
    names['#d'] = 'definition';
    values[':d'] = f.definition;
  }
  if (f.status) {
    parts.push('#s = :s');
    names['#s'] = 'status';
    values[':s'] = f.status;
  }
  const filter: Filter | undefined = parts.length ? { expression: parts.join(' AND '), names, values } : undefined;
  const r = await queryPrefixPage<Record<string, unknown>>(db, keys.organization(p.orgId).PK, reviewKeys.instancePrefix, page, { filter, forward: false });
  return { ...r, items: r.items.map((i) => clean<ReviewInstance>(i)) };
}

export interface ItemFilters {
  flag?: Flag[];
  decision?: Decision;
  reviewer?: number;
  kind?: GrantKind;
  user?: number;
}

/**
 * One page of an instance's items, by person then grant. Managers of reviews see all and may filter
 * by reviewer; anyone else sees only the items naming them as reviewer (an instance with none for
 * them is 404).
 */
export async function listItems(db: Db, p: Principal, instId: number, page: PageRequest, f: ItemFilters): Promise<Page<ReviewItem>> {
  const inst = await getInstance(db, p, instId);
  const manager = isManager(p);
  if (!manager && f.reviewer !== undefined && f.reviewer !== p.userId) throw new ForbiddenError('You may list only the items you review.');
  const reviewer = manager ? f.reviewer : p.userId;
  const parts: string[] = [];
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  f.flag?.forEach((flag, n) => {
    names['#flags'] = 'flags';
    values[`:f${n}`] = flag;
    parts.push(`contains(#flags, :f${n})`);
  });
  if (f.decision) {
    names['#dec'] = 'decision';
    values[':dec'] = f.decision;
    parts.push('#dec = :dec');
  }
  if (reviewer !== undefined) {
    names['#rev'] = 'reviewer_ids';
    values[':rev'] = reviewer;
    parts.push('contains(#rev, :rev)');
  }
  if (f.kind) {
    names['#kind'] = 'kind';
    values[':kind'] = f.kind;
    parts.push('#kind = :kind');
  }
  const filter: Filter | undefined = parts.length ? { expression: parts.join(' AND '), names, values } : undefined;
  // Items of one person are a narrower key prefix.
  const prefix = f.user !== undefined ? `${reviewKeys.itemPrefix(inst.id)}${reviewKeys.item(p.orgId, inst.id, f.user, '').SK.split('#')[2]}#` : reviewKeys.itemPrefix(inst.id);
  const r = await queryPrefixPage<Record<string, unknown>>(db, keys.organization(p.orgId).PK, prefix, page, { filter });
  return { ...r, items: r.items.map((i) => clean<ReviewItem>(i)) };
}

