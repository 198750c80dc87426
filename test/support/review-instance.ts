/**
 * A review instance and its items, written by part A's documented shape (lib/reviews/model.ts):
 * what the snapshot would have taken at this moment, for tests of decisions, close, apply and
 * reports.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { type Db, batchWrite } from '../../lib/core/db.js';
import { nextId } from '../../lib/core/ids.js';
import type { ActiveRole } from '../../lib/core/roles.js';
import { now } from '../../lib/core/util.js';
import { dueIndex } from '../../lib/reviews/runs.js';
import { type EndAction, type Flag, type GrantKind, type Reason, type ReviewInstance, type ReviewItem, grantId, reviewKeys, snapshotHasher } from '../../lib/reviews/model.js';

export interface Grant {
  user_id: number;
  email: string;
  kind: GrantKind;
  organization_role: ActiveRole;
  workspace_id?: number;
  project_id?: number;
  role?: string | null;
  role_source?: string;
  reason?: Reason;
  flags?: Flag[];
  reviewer_ids: number[];
}

export const grantOf = (g: Pick<Grant, 'kind' | 'workspace_id' | 'project_id'>) =>
  g.kind === 'organization_role' ? grantId.organization_role()
  : g.kind === 'workspace_membership' ? grantId.workspace_membership(g.workspace_id!)
  : g.kind === 'project_membership' ? grantId.project_membership(g.project_id!)
  : grantId.project_role(g.project_id!);

/** The snapshot's bytes and SHA-256, as part A's builder computes them (items in key order). */
function hashOf(items: ReviewItem[]) {
  const h = snapshotHasher();
  for (const i of [...items].sort((a, b) => (a.user_id - b.user_id) || (a.grant < b.grant ? -1 : 1))) h.add(i);
  return h.done();
}

export function itemOf(orgId: number, instId: number, g: Grant): ReviewItem {
  return {
    instance: instId,
    organization: orgId,
    user_id: g.user_id,
    email: g.email,
    first_name: '',
    last_name: '',
    kind: g.kind,
    grant: grantOf(g),
    workspace_id: g.workspace_id ?? null,
    project_id: g.project_id ?? null,
    role: (g.role ?? (g.kind === 'organization_role' ? g.organization_role : null)) as ReviewItem['role'],
    organization_role: g.organization_role,
    role_source: g.role_source ?? 'manual',
    last_activity: now(),
    reason: g.reason ?? { kind: 'granted', by_user_id: 1, by_email: 'owner@example.com', at: now(), via: 'api' },
    flags: g.flags ?? [],
    previous: null,
    reviewer_ids: g.reviewer_ids.filter((r) => r !== g.user_id),
    decision: 'undecided',
    justification: null,
    decided_by: null,
    decided_at: null,
    apply_result: null,
    apply_detail: null,
    applied_at: null,
  };
}

/** An open instance with these items (their snapshot hash computed as part A's builder does). */
export async function seedInstance(db: Db, orgId: number, grants: Grant[], opts: { due_at?: string; end_action?: EndAction; auto_apply?: boolean; reviewer_ids?: number[]; manager_ids?: number[]; status?: ReviewInstance['status'] } = {}): Promise<ReviewInstance> {
  const id = await nextId(db, 'review_instance');
  const items = grants.map((g) => itemOf(orgId, id, g));
  const at = now();
  const instance: ReviewInstance = {
    id,
    organization: orgId,
    definition: 1,
    settings: {
      title: `Quarterly review ${id}`,
      description: '',
      scope: { grants: ['organization_role', 'workspace_membership', 'project_membership', 'project_role'], population: 'all' },
      reviewers: { mode: 'administrators', user_ids: [], fallback_user_ids: [] },
      duration_days: 14,
      inactivity_days: 90,
      end_action: opts.end_action ?? 'nothing',
      auto_apply: opts.auto_apply ?? false,
      confirm_revoke_by_default: true,
    },
    status: opts.status ?? 'open',
    trigger: 'manual',
    started_by: 1,
    started_at: at,
    due_at: opts.due_at ?? new Date(Date.now() + 14 * 86_400_000).toISOString(),
    previous_instance: null,
    reviewer_ids: opts.reviewer_ids ?? [],
    fallback_reviewer_ids: [],
    admin_ids: [1],
    manager_ids: opts.manager_ids ?? [],
    manager_scopes: [],
    phase: 'done',
    cursor: '',
    snapshot: {
      items: items.length,
      people: new Set(items.map((i) => i.user_id)).size,
      ...hashOf(items),
      completed_at: at,
      flags: { privileged: 0, inactive: 0, unexplained: 0, new: 0, changed: 0, idp_managed: 0 },
      removed_since_previous: null,
    },
  };
  // An open instance is in the due-date index, as part A's snapshot leaves it.
  const due = instance.status === 'open' ? dueIndex(orgId, id, instance.due_at) : {};
  await db.doc.send(new PutCommand({ TableName: db.table, Item: { ...reviewKeys.instance(orgId, id), ...due, type: 'review_instance', ...instance } }));
  await batchWrite(db, items.map((i) => ({ PutRequest: { Item: { ...reviewKeys.item(orgId, id, i.user_id, i.grant), type: 'review_item', ...i } } })), 4);
  return instance;
}
