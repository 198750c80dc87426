/**
 * Access reviews (issue 13, SPEC §9): the records and their keys. A review definition says what is
 * reviewed, by whom, when, and what happens to undecided items; each run of it is an instance, whose
 * items are a frozen snapshot of the population taken at its start: one item per person × grant.
 *
 * All three live in the organization's partition:
 *   definition  SK `REVDEF#<pad def>`
 *   instance    SK `REVINST#<pad inst>`
 *   item        SK `REVITEM#<pad inst>#<pad user>#<grant>`   grant = R | W#<pad ws> | P#<pad project> | PR#<pad project>
 * Items of one instance sort by person, then grant; an instance's items are one key prefix.
 */
import { createHash } from 'node:crypto';
import type { ActiveRole, ProjectRole, Role } from '../core/roles.js';
import { keys, pad } from '../core/table.js';

// ---------------------------------------------------------------------------------------------
// Definitions

/** The kinds of grant a review covers (one item per person × grant of these kinds). */
export const GRANT_KINDS = ['organization_role', 'workspace_membership', 'project_membership', 'project_role'] as const;
export type GrantKind = (typeof GRANT_KINDS)[number];

/** Whose grants: every active member, or only the privileged ones (Owner, Administrators). */
export const POPULATIONS = ['all', 'privileged'] as const;
export type Population = (typeof POPULATIONS)[number];

/**
 * Who reviews: the organization's Owner and Administrators (at the instance's start), named members,
 * or the Managers of each workspace/project for its members (org-role items and scopes without a
 * Manager go to the fallback).
 */
export const REVIEWER_MODES = ['administrators', 'members', 'managers'] as const;
export type ReviewerMode = (typeof REVIEWER_MODES)[number];

/** What happens to items nobody decided when the instance ends. */
export const END_ACTIONS = ['keep', 'revoke', 'nothing'] as const;
export type EndAction = (typeof END_ACTIONS)[number];

export const SCHEDULE_FREQUENCIES = ['once', 'weekly', 'monthly', 'quarterly', 'semiannually', 'annually'] as const;
export type ScheduleFrequency = (typeof SCHEDULE_FREQUENCIES)[number];

export interface Schedule {
  frequency: ScheduleFrequency;
  /** When the first instance starts (ISO time); later ones follow at the frequency. */
  start_at: string;
  /** The next start the scheduler will run (null: none, e.g. a `once` that ran, or disabled). */
  next_run_at: string | null;
}

export interface ReviewDefinition {
  id: number;
  organization: number;
  title: string;
  description: string;
  scope: { grants: GrantKind[]; population: Population };
  reviewers: { mode: ReviewerMode; user_ids: number[]; fallback_user_ids: number[] };
  /** null: started by hand only (`POST …/start`). */
  schedule: Schedule | null;
  /** Days an instance stays open (its due date is start + duration). */
  duration_days: number;
  /** Days without activity past which an item is flagged `inactive` (default 90). */
  inactivity_days: number;
  end_action: EndAction;
  /** Apply the decisions (and the end action) when the instance closes, without a person's call. */
  auto_apply: boolean;
  /** Must be true when end_action is `revoke` and auto_apply is on (one silent reviewer would strip everyone). */
  confirm_revoke_by_default: boolean;
  created_by: number;
  created_at: string;
  updated_at: string;
  /** The last instance started from this definition (null: none yet). */
  last_instance: number | null;
}

export const DEFAULT_INACTIVITY_DAYS = 90;
export const DEFAULT_DURATION_DAYS = 14;

// ---------------------------------------------------------------------------------------------
// Instances

/**
 * building: the snapshot is being taken (slices); open: reviewers decide; part B adds the rest
 * (closed → applying → applied). Decisions are taken only while `open`.
 */
export const INSTANCE_STATUSES = ['building', 'open', 'closed', 'applying', 'applied'] as const;
export type InstanceStatus = (typeof INSTANCE_STATUSES)[number];

/**
 * The phases of the snapshot, in order; each walks one key range in slices: the members (who reviews,
 * how many people), the Managers' workspaces and projects (managers mode), each kind of grant, the
 * previous instance's items (what was removed since), then the items written, in one streaming pass
 * (their count, flags, size and SHA-256).
 */
export const PHASES = ['reviewers', 'managers', 'organization_role', 'workspace_membership', 'project_membership', 'project_role', 'compare', 'hash', 'done'] as const;
export type Phase = (typeof PHASES)[number];

export interface ReviewInstance {
  id: number;
  organization: number;
  definition: number;
  /** The definition as it was at start (so later edits do not change this instance). */
  settings: Omit<ReviewDefinition, 'id' | 'organization' | 'created_by' | 'created_at' | 'updated_at' | 'last_instance' | 'schedule'>;
  status: InstanceStatus;
  /** 'manual' (POST …/start) or 'schedule'. */
  trigger: 'manual' | 'schedule';
  started_by: number | null;
  started_at: string;
  due_at: string;
  /** The instance before this one of the same definition (null: the first); items are compared with it. */
  previous_instance: number | null;
  /** Reviewers frozen at start: administrators mode → the OW/AD members; members mode → the named ones. */
  reviewer_ids: number[];
  fallback_reviewer_ids: number[];
  /** The Owner and Administrators at the start (the `reviewers` phase collects them). */
  admin_ids: number[];
  /** Managers at the start (managers mode), and their workspaces and projects as `<MA id>:W<ws>` / `<MA id>:P<project>`. */
  manager_ids: number[];
  manager_scopes: string[];
  /** Snapshot progress: the phase and the last key handled within it ('' at a phase's start). */
  phase: Phase;
  cursor: string;
  /** Snapshot totals (complete when status leaves `building`). */
  snapshot: {
    items: number;
    people: number;
    /** Bytes of the canonical snapshot: NDJSON of `snapshotRecord` of every item, in key order. */
    bytes: number;
    /** SHA-256 (hex) of those bytes (null until the snapshot is complete). */
    sha256: string | null;
    completed_at: string | null;
    /** Counts of items per flag. */
    flags: Record<Flag, number>;
    /** Items of the previous instance that are gone from this one (changes: removed grants). */
    removed_since_previous: number | null;
  };
}

// ---------------------------------------------------------------------------------------------
// Items

export const FLAGS = ['privileged', 'inactive', 'unexplained', 'new', 'changed', 'idp_managed'] as const;
export type Flag = (typeof FLAGS)[number];

/** Keep/revoke by a reviewer (part B writes decisions); `undecided` until then. */
export const DECISIONS = ['undecided', 'keep', 'revoke'] as const;
export type Decision = (typeof DECISIONS)[number];

/** Part B's apply results (Entra's applyResult, in Roster's words). */
export const APPLY_RESULTS = ['applied', 'failed', 'not_found', 'idp_managed'] as const;
export type ApplyResult = (typeof APPLY_RESULTS)[number];

/** Why the person holds the grant. */
export type Reason =
  | { kind: 'idp'; source: 'scim' | 'saml'; group: string; assignment_id: number; mapping_status: 'configured' | 'orphaned' | 'missing_membership' }
  | { kind: 'granted'; by_user_id: number | null; by_email: string | null; at: string; via: string }
  | { kind: 'none' };

export interface ReviewItem {
  instance: number;
  organization: number;
  user_id: number;
  email: string;
  first_name: string;
  last_name: string;
  kind: GrantKind;
  /** Stable grant id within the person: R | W#ws | P#project | PR#project (padded). */
  grant: string;
  workspace_id: number | null;
  project_id: number | null;
  /** The role the grant gives: the org role (R), the project role (PR), null for memberships. */
  role: Role | ProjectRole | null;
  /** The person's organization role at the snapshot. */
  organization_role: ActiveRole;
  role_source: string | null;
  /** The later of the member's `last_activity` and their newest activity entry as actor (a sign-in, a change they made). */
  last_activity: string | null;
  reason: Reason;
  flags: Flag[];
  /** What the previous instance held for this grant, when it changed (role before). */
  previous: { role: string | null } | null;
  /** Who may decide this item (never the person themselves). */
  reviewer_ids: number[];
  // Part B's fields (written after the snapshot; not part of its hash):
  decision: Decision;
  justification: string | null;
  decided_by: number | null;
  decided_at: string | null;
  apply_result: ApplyResult | null;
  apply_detail: string | null;
  applied_at: string | null;
}

// ---------------------------------------------------------------------------------------------
// Keys

const PK = (orgId: number) => keys.organization(orgId).PK;

export const reviewKeys = {
  definition: (orgId: number, defId: number) => ({ PK: PK(orgId), SK: `REVDEF#${pad(defId)}` }),
  definitionPrefix: 'REVDEF#',
  instance: (orgId: number, instId: number) => ({ PK: PK(orgId), SK: `REVINST#${pad(instId)}` }),
  instancePrefix: 'REVINST#',
  item: (orgId: number, instId: number, userId: number, grant: string) => ({ PK: PK(orgId), SK: `REVITEM#${pad(instId)}#${pad(userId)}#${grant}` }),
  itemPrefix: (instId: number) => `REVITEM#${pad(instId)}#`,
  /** The due-instance index of the scheduler: one item per definition with a next run (GSI2). */
  scheduleIndex: (defId: number, nextRunAt: string) => ({ GSI2PK: 'REVSCHED', GSI2SK: `${nextRunAt}#${pad(defId)}` }),
} as const;

export const grantId = {
  organization_role: () => 'R',
  workspace_membership: (wsId: number) => `W#${pad(wsId)}`,
  project_membership: (projectId: number) => `P#${pad(projectId)}`,
  project_role: (projectId: number) => `PR#${pad(projectId)}`,
};

/** The grant id from an item's sort key (`REVITEM#inst#user#W#000…1` → `W#000…1`). */
export const grantOfSk = (sk: string) => sk.split('#').slice(3).join('#');

// ---------------------------------------------------------------------------------------------
// The snapshot's canonical form (what its SHA-256 covers)

/** The snapshot fields of an item, in a fixed order: decisions and apply results are not part of it. */
export function snapshotRecord(i: ReviewItem): string {
  return JSON.stringify([i.user_id, i.grant, i.kind, i.workspace_id, i.project_id, i.role, i.organization_role, i.role_source, i.last_activity, i.reason, i.flags, i.reviewer_ids]);
}

/** A running SHA-256 of the canonical snapshot: feed items in key order, one line each. */
export function snapshotHasher() {
  const hash = createHash('sha256');
  let bytes = 0;
  return {
    add(i: ReviewItem) {
      const line = `${snapshotRecord(i)}\n`;
      bytes += Buffer.byteLength(line);
      hash.update(line);
    },
    done: () => ({ bytes, sha256: hash.digest('hex') }),
  };
}
