/**
 * Certification: reviewers keep or revoke items of an open review instance, one at a time or up to
 * DECISIONS_PER_REQUEST at once. A decision is final (as in Okta): an item is decided once, so two
 * reviewers racing on it cannot both win; and nothing is decided once the instance has closed.
 *
 * Both hold at write time: one transaction checks that the instance is still `open` and updates
 * each item on the condition that it is still `undecided`. A bulk request is all or nothing.
 */
import { type Db, batchGet, cancellationReasons, getItem, transactWrite } from '../core/db.js';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError, type FieldErrors } from '../core/errors.js';
import type { Principal } from '../core/model.js';
import { now } from '../core/util.js';
import { type ReviewInstance, type ReviewItem, reviewKeys } from './model.js';

/** Okta takes at most 50 reviewer actions per request; so does Roster (one transaction, with the instance check). */
export const DECISIONS_PER_REQUEST = 50;
/** A justification is free text for an auditor: bounded. */
export const JUSTIFICATION_MAX = 1000;

export interface DecisionInput {
  user_id: number;
  grant: string;
  decision: 'keep' | 'revoke';
  justification?: string | null;
}

const isAdmin = (p: Principal) => p.role === 'OW' || p.role === 'AD';

/** The instance of the caller's organization, or 404 (another organization's is never revealed). */
export async function instanceOf(db: Db, orgId: number, instId: number): Promise<ReviewInstance> {
  const r = await getItem(db, reviewKeys.instance(orgId, instId));
  if (!r) throw new NotFoundError('No such review.');
  return r as unknown as ReviewInstance;
}

/** Whether the caller may decide this item: its Owner/Administrators, or a reviewer it names; never the person themselves. */
export function mayDecide(p: Principal, item: Pick<ReviewItem, 'user_id' | 'reviewer_ids'>): 'yes' | 'self' | 'not_reviewer' {
  if (item.user_id === p.userId) return 'self';
  if (isAdmin(p) || item.reviewer_ids.includes(p.userId)) return 'yes';
  return 'not_reviewer';
}

/**
 * Record decisions (`path` names the body field errors are reported under: '' for a single decision,
 * 'decisions' for a bulk one). Returns the items as stored.
 */
export async function decide(db: Db, p: Principal, instId: number, inputs: DecisionInput[], path: '' | 'decisions'): Promise<ReviewItem[]> {
  const at = (i: number, field: string) => (path ? `${path}.${i}.${field}` : field);
  if (!inputs.length) throw new ValidationError('Validation error', { [path || 'non_field_errors']: ['At least one decision is required.'] });
  if (inputs.length > DECISIONS_PER_REQUEST) throw new ValidationError('Validation error', { [path || 'non_field_errors']: [`At most ${DECISIONS_PER_REQUEST} decisions per request.`] });
  const errors: FieldErrors = {};
  const seen = new Set<string>();
  inputs.forEach((d, i) => {
    const text = d.justification?.trim() ?? '';
    if (d.decision === 'revoke' && !text) errors[at(i, 'justification')] = ['A justification is required to revoke.'];
    if (text.length > JUSTIFICATION_MAX) errors[at(i, 'justification')] = [`At most ${JUSTIFICATION_MAX} characters.`];
    const id = `${d.user_id}#${d.grant}`;
    if (seen.has(id)) errors[at(i, 'grant')] = ['The same item is decided twice in this request.'];
    seen.add(id);
  });
  if (Object.keys(errors).length) throw new ValidationError('Validation error', errors);

  const instance = await instanceOf(db, p.orgId, instId);
  // The instance may be read only by its organization's admins and the reviewers it names.
  const named = [...(instance.reviewer_ids ?? []), ...(instance.fallback_reviewer_ids ?? []), ...(instance.manager_ids ?? [])];
  if (!isAdmin(p) && !named.includes(p.userId)) {
    throw new NotFoundError('No such review.');
  }
  if (instance.status !== 'open') throw closedError(instance);
  const keyList = inputs.map((d) => reviewKeys.item(p.orgId, instId, d.user_id, d.grant));
  const found = new Map((await batchGet(db, keyList, true)).map((i) => [String(i.SK), i as unknown as ReviewItem]));
  const items = keyList.map((k) => found.get(k.SK));
  inputs.forEach((_, i) => {
    if (!items[i]) errors[at(i, 'grant')] = ['No such item in this review.'];
  });
  if (Object.keys(errors).length) throw new ValidationError('Validation error', errors);
  for (const [i, item] of items.entries()) {
    const may = mayDecide(p, item!);
    const which = path ? ` (${path}.${i})` : '';
    if (may === 'self') throw new ForbiddenError(`Nobody reviews their own access${which}.`);
    if (may === 'not_reviewer') throw new ForbiddenError(`You are not a reviewer of this item${which}.`);
  }
  const decided = items.flatMap((item, i) => (item!.decision !== 'undecided' ? [i] : []));
  if (decided.length) throw alreadyDecided(decided, path, items as ReviewItem[]);

  const when = now();
  try {
    await transactWrite(db, [
      {
        ConditionCheck: {
          TableName: db.table,
          Key: reviewKeys.instance(p.orgId, instId),
          ConditionExpression: '#s = :open',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':open': 'open' },
        },
      },
      ...inputs.map((d, i) => ({
        Update: {
          TableName: db.table,
          Key: keyList[i]!,
          UpdateExpression: 'SET decision = :d, justification = :j, decided_by = :by, decided_at = :at, decided_via = :via',
          ConditionExpression: 'decision = :undecided',
          ExpressionAttributeValues: { ':d': d.decision, ':j': d.justification?.trim() || null, ':by': p.userId, ':at': when, ':via': 'reviewer', ':undecided': 'undecided' },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
        },
      })),
    ]);
  } catch (err) {
    const reasons = cancellationReasons(err);
    if (!reasons) throw err;
    if (reasons[0]?.code === 'ConditionalCheckFailed') throw closedError(await instanceOf(db, p.orgId, instId));
    const lost = reasons.slice(1).flatMap((r, i) => (r.code === 'ConditionalCheckFailed' ? [i] : []));
    if (lost.length) throw alreadyDecided(lost, path, reasons.slice(1).map((r) => r.item as unknown as ReviewItem));
    throw new ConflictError('A concurrent change to these items won; retry.');
  }
  return items.map((item, i) => ({ ...item!, decision: inputs[i]!.decision, justification: inputs[i]!.justification?.trim() || null, decided_by: p.userId, decided_at: when, decided_via: 'reviewer' }) as ReviewItem);
}

function closedError(instance: ReviewInstance): ConflictError {
  if (instance.status === 'building') return new ConflictError('The review is still taking its snapshot; decisions open when it is complete.');
  return new ConflictError(`The review is ${instance.status}: decisions are final once it closes.`);
}

function alreadyDecided(indexes: number[], path: string, items: (ReviewItem | undefined)[]): ConflictError {
  const which = indexes.map((i) => (path ? `${path}.${i}` : 'the item'));
  const by = [...new Set(indexes.map((i) => items[i]?.decided_by).filter((v): v is number => typeof v === 'number'))];
  return new ConflictError(`Already decided (decisions are final): ${which.join(', ')}${by.length ? `, by user ${by.join(', ')}` : ''}.`);
}
