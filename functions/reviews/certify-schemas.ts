/** Response schemas of certification: decisions, close/apply runs, the report manifest. */
import { z } from 'zod';
import { APPLY_RESULTS } from '../../lib/reviews/model.js';
import { components } from '../schemas.js';

const named = <T extends z.ZodType>(id: string, schema: T, description?: string): T => {
  components.add(schema, { id, ...(description ? { description } : {}) });
  return schema;
};
const id = z.number().int();
const datetime = z.string().describe('ISO 8601 date and time');

export const ReviewDecision = named(
  'AccessReviewDecision',
  z.strictObject({
    user_id: id,
    grant: z.string(),
    decision: z.enum(['keep', 'revoke']),
    justification: z.string().nullable(),
    decided_by: id,
    decided_at: datetime,
    decided_via: z.literal('reviewer'),
  }),
  'A reviewer\'s decision on one item (person × grant). Final: an item is decided once.',
);
export const ReviewDecisions = z.strictObject({ decided: z.number().int(), items: z.array(ReviewDecision) });

const counts = (names: readonly string[]) => z.strictObject(Object.fromEntries(names.map((n) => [n, z.number().int()])));

export const ReviewRun = named(
  'AccessReviewRun',
  z.strictObject({
    organization: id,
    instance: id,
    kind: z.enum(['close', 'apply']),
    apply: z.boolean(),
    actor: id,
    phase: z.enum(['end_action', 'apply', 'report', 'finish', 'done']),
    status: z.enum(['pending', 'running', 'done']),
    end_action: counts(['keep', 'revoke', 'nothing']),
    applied: counts(APPLY_RESULTS),
    rows: z.number().int(),
    created_by: id,
    created_at: datetime,
    finished_at: datetime.nullable(),
  }),
  'Closing a review (undecided items take the end action) or applying its revokes, carried out in slices; then its reports are written.',
);

const ReportFile = z.strictObject({ name: z.string(), media_type: z.string(), bytes: z.number().int(), sha256: z.string(), url: z.string().describe('absolute URL') });

export const ReviewReports = named(
  'AccessReviewReports',
  z.strictObject({
    review: id,
    organization: id,
    definition: id,
    written_by: z.enum(['close', 'apply']),
    generated_at: datetime,
    snapshot: z.strictObject({ items: z.number().int(), sha256: z.string().nullable() }),
    rows: z.number().int(),
    files: z.array(ReportFile),
    manifest: ReportFile,
  }),
  'The report files of a review and their SHA-256 (as in manifest.json, which is listed with its own hash).',
);
