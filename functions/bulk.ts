import { z } from 'zod';
import type { BulkResult } from '../lib/access/jobs.js';
import { type ApiEvent, type ApiResult, apiBase, csvIds, ok } from './http.js';

/** LSE's bulk selection in a body: `{all, included, excluded}`. */
export const selectionBody = z.object({
  all: z.boolean(),
  included: z.array(z.number().int().positive()).max(100_000).default([]),
  excluded: z.array(z.number().int().positive()).max(100_000).default([]),
});

/** The same selection in a DELETE's query string (`all=true&excluded=1,2`). */
export const selectionQuery = z.object({
  all: z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1').default(false),
  included: csvIds.default([]),
  excluded: csvIds.default([]),
});

/** What a bulk route answers: 200 when applied at once, 202 when it became a job (its changes are stamped so). */
export const BULK_STATUS = [200, 202] as const;

/** 200 with LSE's counts when the change was applied at once; 202 with the job to poll when it went asynchronous. */
export function bulkReply(r: BulkResult, counted: 'assignments' | 'unassignments', event: ApiEvent): ApiResult {
  if (r.done) return ok({ [counted]: r.count, ...(counted === 'assignments' ? { skipped_user_ids: r.skipped } : {}) });
  return ok({ job_id: r.job.id, status: r.job.status, status_url: `${apiBase(event)}/api/jobs/${r.job.id}` }, BULK_STATUS[1]);
}

