/**
 * A run: closing a review or applying its decisions, carried out in slices by the table's stream
 * consumer (close.ts). Its item is `REVRUN#<pad inst>#close` or `#apply` in the organization's
 * partition; one of each per instance at most.
 */
import { keys, pad } from '../core/table.js';
import type { ApplyResult } from './model.js';
import type { Summary } from './report.js';

export type RunKind = 'close' | 'apply';
export type RunPhase = 'end_action' | 'apply' | 'report' | 'finish' | 'done';

/** The report being written: the two multipart uploads, the rows written and the summary so far. */
export interface ReportState {
  csv: { upload_id: string; etags: string[] };
  json: { upload_id: string; etags: string[] };
  rows: number;
  summary: Summary;
}

export interface ReviewRun {
  organization: number;
  instance: number;
  kind: RunKind;
  /** Whether this run applies the revokes (a close with auto-apply or `apply: true`, or an apply run). */
  apply: boolean;
  /** Whose authority the revokes are applied with (read fresh for each slice). */
  actor: number;
  phase: RunPhase;
  /** The last item sort key handled in the phase. */
  cursor: string | null;
  /** Moves on with every slice: a slice only advances the run from the step it read. */
  step: number;
  status: 'pending' | 'running' | 'done';
  end_action: { keep: number; revoke: number; nothing: number };
  applied: Record<ApplyResult, number>;
  report: ReportState | null;
  created_by: number;
  created_at: string;
  finished_at: string | null;
}

/** What a slice changes on its run. */
export type Advance = Partial<ReviewRun> & Pick<ReviewRun, 'phase' | 'cursor'>;

export const runKey = (orgId: number, instId: number, kind: RunKind) => ({ PK: keys.organization(orgId).PK, SK: `REVRUN#${pad(instId)}#${kind}` });

export const runView = (item: Record<string, unknown>): ReviewRun => {
  const { PK: _pk, SK: _sk, type: _t, _ctx: _c, ...rest } = item;
  return rest as unknown as ReviewRun;
};

/**
 * The due-date index of open instances (GSI2 `REVDUE`, sorted by due date): set when an instance
 * opens, removed when it closes; the review sweep closes the ones past due (closeDue in close.ts).
 */
export const dueIndex = (orgId: number, instId: number, dueAt: string) => ({ GSI2PK: 'REVDUE', GSI2SK: `${dueAt}#${pad(orgId)}#${pad(instId)}` });
