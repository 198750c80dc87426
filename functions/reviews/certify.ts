/**
 * Certification routes (SPEC §9): reviewers decide, Owners and Administrators close and apply, and
 * the report files are listed and downloaded. The organization is the caller's active one.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { applyReview, closeReview, runsOf } from '../../lib/reviews/close.js';
import { DECISIONS_PER_REQUEST, JUSTIFICATION_MAX, decide, instanceOf } from '../../lib/reviews/decisions.js';
import { type Manifest, REPORT_FILES, reportFile } from '../../lib/reviews/report-files.js';
import type { ReviewRun as Run } from '../../lib/reviews/runs.js';
import { NotFoundError } from '../../lib/core/errors.js';
import { api, apiBase, idParam, ok, routed } from '../http.js';
import { ReviewDecisions, ReviewReports, ReviewRun } from './certify-schemas.js';

const instance = z.object({ id: idParam });
const grant = z.string().regex(/^(R|W#\d{10}|P#\d{10}|PR#\d{10})$/, 'A grant id: R, W#<10 digits>, P#<10 digits> or PR#<10 digits>.');
const one = z.object({
  user_id: z.number().int().positive(),
  grant,
  decision: z.enum(['keep', 'revoke']),
  justification: z.string().max(JUSTIFICATION_MAX).nullable().optional(),
});
const decisionsBody = z.union([one.strict(), z.strictObject({ decisions: z.array(one.strict()).min(1).max(DECISIONS_PER_REQUEST) })]);

const view = (r: Run) => ({
  organization: r.organization,
  instance: r.instance,
  kind: r.kind,
  apply: r.apply,
  actor: r.actor,
  phase: r.phase,
  status: r.status,
  end_action: r.end_action,
  applied: r.applied,
  rows: r.report?.rows ?? 0,
  created_by: r.created_by,
  created_at: r.created_at,
  finished_at: r.finished_at,
});

/** POST …/decisions: one decision `{user_id, grant, decision, justification}` or up to 50 `{decisions: […]}` (all or nothing). */
export const decisions = api({ status: 200, responses: { 200: ReviewDecisions }, params: instance, body: decisionsBody }, async ({ principal, params, body, db }) => {
  const items = 'decisions' in body ? await decide(db, principal, params.id, body.decisions, 'decisions') : await decide(db, principal, params.id, [body], '');
  const shown = items.map((i) => ({ user_id: i.user_id, grant: i.grant, decision: i.decision as 'keep' | 'revoke', justification: i.justification, decided_by: i.decided_by!, decided_at: i.decided_at!, decided_via: 'reviewer' as const }));
  return ok({ decided: shown.length, items: shown });
});

/** POST …/close `{apply?}`: no decision after this; undecided items take the end action; revokes applied when asked (or auto-apply). */
export const close = api({ status: 202, responses: { 202: ReviewRun }, params: instance, body: z.strictObject({ apply: z.boolean().optional() }) }, async ({ principal, params, body, db }) =>
  ok(view((await closeReview(db, principal, params.id, body)).run), 202),
);

/** POST …/apply: apply the revokes of a review closed without applying them. */
export const apply = api({ status: 202, responses: { 202: ReviewRun }, params: instance }, async ({ principal, params, db }) => ok(view((await applyReview(db, principal, params.id)).run), 202));

/** GET …/runs: how closing and applying went. */
export const runs = api({ responses: { 200: z.array(ReviewRun) }, params: instance }, async ({ principal, params, db }) => ok((await runsOf(db, principal, params.id)).map(view)));

const admin = (role: string) => role === 'OW' || role === 'AD';

/** GET …/reports/: the report files with their SHA-256, and the manifest's own. */
export const reports = api({ responses: { 200: ReviewReports }, params: instance }, async ({ principal, params, event, db }) => {
  if (!admin(principal.role)) throw new NotFoundError('No such review.');
  const inst = (await instanceOf(db, principal.orgId, params.id)) as Awaited<ReturnType<typeof instanceOf>> & { report?: Manifest };
  const manifest = await reportFile(principal.orgId, inst, 'manifest.json');
  const url = (name: string) => `${apiBase(event)}/api/access-reviews/instances/${params.id}/reports/${name}`;
  const m = inst.report!;
  return ok({
    ...m,
    files: m.files.map((f) => ({ ...f, url: url(f.name) })),
    manifest: { name: 'manifest.json', media_type: 'application/json', bytes: manifest.body.length, sha256: createHash('sha256').update(manifest.body).digest('hex'), url: url('manifest.json') },
  });
});

const MEDIA = [...new Set(REPORT_FILES.map((f) => f.media_type.split(';')[0]!))];

/** GET …/reports/{name}: one file as stored (report.csv, report.json, report.html, manifest.json). */
export const report = api(
  { responses: { 200: { mediaType: MEDIA, description: 'the file, byte for byte as the manifest hashed it' } }, params: z.object({ id: idParam, name: z.enum(REPORT_FILES.map((f) => f.name) as [string, ...string[]]) }) },
  async ({ principal, params, db }) => {
    if (!admin(principal.role)) throw new NotFoundError('No such review.');
    const inst = await instanceOf(db, principal.orgId, params.id);
    const file = await reportFile(principal.orgId, inst, params.name);
    return {
      statusCode: 200,
      headers: { 'content-type': file.media_type, 'content-disposition': `attachment; filename="review-${params.id}-${params.name}"`, 'x-content-sha256': createHash('sha256').update(file.body).digest('hex') },
      body: file.body.toString('base64'),
      isBase64Encoded: true,
    };
  },
);

export const handler = routed('reviews/certify', { apply, close, decisions, report, reports, runs });
