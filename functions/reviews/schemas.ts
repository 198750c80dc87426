/** Request and response schemas of the access-review API (definitions, instances, items) and their shaping. */
import { z } from 'zod';
import { ROLES } from '../../lib/core/roles.js';
import {
  DECISIONS,
  END_ACTIONS,
  FLAGS,
  GRANT_KINDS,
  INSTANCE_STATUSES,
  POPULATIONS,
  REVIEWER_MODES,
  SCHEDULE_FREQUENCIES,
  APPLY_RESULTS,
  type ReviewDefinition,
  type ReviewInstance,
  type ReviewItem,
} from '../../lib/reviews/model.js';
import { MAX_NAMED_REVIEWERS } from '../../lib/reviews/definitions.js';
import { components, page } from '../schemas.js';

const named = <T extends z.ZodType>(id: string, schema: T, description?: string): T => {
  components.add(schema, { id, ...(description ? { description } : {}) });
  return schema;
};
const id = z.number().int();
const datetime = z.string().describe('ISO 8601 date and time');
const userIds = z.array(z.number().int().positive()).max(MAX_NAMED_REVIEWERS);

// ---------------------------------------------------------------------------------------------
// Requests

const definitionFields = {
  title: z.string().trim().min(1).max(200),
  description: z.string().max(2000),
  scope: z.strictObject({ grants: z.array(z.enum(GRANT_KINDS)).min(1).max(GRANT_KINDS.length).optional(), population: z.enum(POPULATIONS).optional() }),
  reviewers: z.strictObject({ mode: z.enum(REVIEWER_MODES).optional(), user_ids: userIds.optional(), fallback_user_ids: userIds.optional() }),
  schedule: z.strictObject({ frequency: z.enum(SCHEDULE_FREQUENCIES), start_at: z.iso.datetime({ offset: true }) }).nullable(),
  duration_days: z.number().int().min(1).max(365),
  inactivity_days: z.number().int().min(1).max(730),
  end_action: z.enum(END_ACTIONS),
  auto_apply: z.boolean(),
  confirm_revoke_by_default: z.boolean(),
};
export const DefinitionCreate = z.strictObject({
  ...Object.fromEntries(Object.entries(definitionFields).map(([k, v]) => [k, v.optional()])),
  title: definitionFields.title,
}) as unknown as z.ZodType<{ title: string } & Partial<{ [K in keyof typeof definitionFields]: z.output<(typeof definitionFields)[K]> }>>;
export const DefinitionPatch = z.strictObject(Object.fromEntries(Object.entries(definitionFields).map(([k, v]) => [k, v.optional()]))) as unknown as z.ZodType<
  Partial<{ [K in keyof typeof definitionFields]: z.output<(typeof definitionFields)[K]> }>
>;

// ---------------------------------------------------------------------------------------------
// Responses

export const ReviewDefinitionSchema = named(
  'AccessReviewDefinition',
  z.strictObject({
    id,
    organization: id,
    title: z.string(),
    description: z.string(),
    scope: z.strictObject({ grants: z.array(z.enum(GRANT_KINDS)), population: z.enum(POPULATIONS) }),
    reviewers: z.strictObject({ mode: z.enum(REVIEWER_MODES), user_ids: z.array(id), fallback_user_ids: z.array(id) }),
    schedule: z.strictObject({ frequency: z.enum(SCHEDULE_FREQUENCIES), start_at: datetime, next_run_at: datetime.nullable() }).nullable(),
    duration_days: id,
    inactivity_days: id,
    end_action: z.enum(END_ACTIONS),
    auto_apply: z.boolean(),
    confirm_revoke_by_default: z.boolean(),
    created_by: id,
    created_at: datetime,
    updated_at: datetime,
    last_instance: id.nullable(),
  }),
  'What an access review covers, who reviews, when it runs and what happens to undecided items.',
);

const Flags = z.strictObject(Object.fromEntries(FLAGS.map((f) => [f, z.number().int()])) as Record<(typeof FLAGS)[number], z.ZodNumber>);

export const ReviewInstanceSchema = named(
  'AccessReviewInstance',
  z.strictObject({
    id,
    definition: id,
    title: z.string(),
    status: z.enum(INSTANCE_STATUSES),
    trigger: z.enum(['manual', 'schedule']),
    started_by: id.nullable(),
    started_at: datetime,
    due_at: datetime,
    previous_instance: id.nullable(),
    settings: ReviewDefinitionSchema.pick({ title: true, description: true, scope: true, reviewers: true, duration_days: true, inactivity_days: true, end_action: true, auto_apply: true, confirm_revoke_by_default: true }),
    reviewer_ids: z.array(id),
    fallback_reviewer_ids: z.array(id),
    admin_ids: z.array(id),
    snapshot: z.strictObject({
      items: z.number().int(),
      people: z.number().int(),
      bytes: z.number().int(),
      sha256: z.string().nullable(),
      completed_at: datetime.nullable(),
      flags: Flags,
      removed_since_previous: z.number().int().nullable(),
    }),
    /** Which part of the snapshot is being taken while building. */
    phase: z.string(),
  }),
  'One run of an access review: its frozen snapshot (size and SHA-256) and status.',
);

const Reason = z.union([
  z.strictObject({ kind: z.literal('idp'), source: z.enum(['scim', 'saml']), group: z.string(), assignment_id: id, mapping_status: z.enum(['configured', 'orphaned', 'missing_membership']) }),
  z.strictObject({ kind: z.literal('granted'), by_user_id: id.nullable(), by_email: z.string().nullable(), at: z.string(), via: z.string() }),
  z.strictObject({ kind: z.literal('none') }),
]);

export const ReviewItemSchema = named(
  'AccessReviewItem',
  z.strictObject({
    instance: id,
    user_id: id,
    email: z.string(),
    first_name: z.string(),
    last_name: z.string(),
    kind: z.enum(GRANT_KINDS),
    grant: z.string(),
    workspace_id: id.nullable(),
    project_id: id.nullable(),
    role: z.enum(ROLES).nullable(),
    organization_role: z.enum(ROLES),
    role_source: z.string().nullable(),
    last_activity: datetime.nullable(),
    reason: Reason,
    flags: z.array(z.enum(FLAGS)),
    previous: z.strictObject({ role: z.string().nullable() }).nullable(),
    reviewer_ids: z.array(id),
    decision: z.enum(DECISIONS),
    justification: z.string().nullable(),
    decided_by: id.nullable(),
    decided_at: datetime.nullable(),
    apply_result: z.enum(APPLY_RESULTS).nullable(),
    apply_detail: z.string().nullable(),
    applied_at: datetime.nullable(),
  }),
  'One person × one grant of a review instance, with its source, reason, flags and (later) decision.',
);

export const DefinitionPage = named('PaginatedAccessReviewDefinitionList', page(ReviewDefinitionSchema));
export const InstancePage = named('PaginatedAccessReviewInstanceList', page(ReviewInstanceSchema));
export const ItemPage = named('PaginatedAccessReviewItemList', page(ReviewItemSchema));

export const definitionShape = (d: ReviewDefinition) => ({
  id: d.id,
  organization: d.organization,
  title: d.title,
  description: d.description,
  scope: d.scope,
  reviewers: d.reviewers,
  schedule: d.schedule,
  duration_days: d.duration_days,
  inactivity_days: d.inactivity_days,
  end_action: d.end_action,
  auto_apply: d.auto_apply,
  confirm_revoke_by_default: d.confirm_revoke_by_default,
  created_by: d.created_by,
  created_at: d.created_at,
  updated_at: d.updated_at,
  last_instance: d.last_instance,
});

export const instanceShape = (i: ReviewInstance) => ({
  id: i.id,
  definition: i.definition,
  title: i.settings.title,
  status: i.status,
  trigger: i.trigger,
  started_by: i.started_by,
  started_at: i.started_at,
  due_at: i.due_at,
  previous_instance: i.previous_instance,
  settings: {
    title: i.settings.title,
    description: i.settings.description,
    scope: i.settings.scope,
    reviewers: i.settings.reviewers,
    duration_days: i.settings.duration_days,
    inactivity_days: i.settings.inactivity_days,
    end_action: i.settings.end_action,
    auto_apply: i.settings.auto_apply,
    confirm_revoke_by_default: i.settings.confirm_revoke_by_default,
  },
  reviewer_ids: i.reviewer_ids,
  fallback_reviewer_ids: i.fallback_reviewer_ids,
  admin_ids: i.admin_ids,
  snapshot: i.snapshot,
  phase: i.phase,
});

export const itemShape = (i: ReviewItem) => ({
  instance: i.instance,
  user_id: i.user_id,
  email: i.email,
  first_name: i.first_name,
  last_name: i.last_name,
  kind: i.kind,
  grant: i.grant,
  workspace_id: i.workspace_id,
  project_id: i.project_id,
  role: i.role,
  organization_role: i.organization_role,
  role_source: i.role_source,
  last_activity: i.last_activity,
  reason: i.reason,
  flags: i.flags,
  previous: i.previous,
  reviewer_ids: i.reviewer_ids,
  decision: i.decision,
  justification: i.justification,
  decided_by: i.decided_by,
  decided_at: i.decided_at,
  apply_result: i.apply_result,
  apply_detail: i.apply_detail,
  applied_at: i.applied_at,
});
