/**
 * LSE's seat report (GET /api/organizations/{id}/seat-report, SPEC §9): one row per member of the
 * organization (deleted ones included: their leftover assignments are what the report is for), with
 * the role, what set it, whether the membership occupies a paid seat (not NO, DI or deleted), and the
 * IdP assignments behind their access with their mapping status, read for the whole page at once
 * (lib/reviews/assignments.ts), never per row.
 *
 * Filters that live on the membership are DynamoDB filters on the one Query of the page;
 * `has_stale_role_assignments` depends on the assignment records, so with it the report walks the
 * members in chunks (each one Query of members, one of their records, one BatchGet) and counts as it goes.
 */
import { QueryCommand, type QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import { type Db, countAll } from '../core/db.js';
import { ForbiddenError } from '../core/errors.js';
import { asMembership } from '../core/items.js';
import type { Membership, Principal } from '../core/model.js';
import { type Filter, type Page, type PageRequest, checkPage, invalidPage, queryPrefixPage } from '../core/pagination.js';
import type { RoleSource } from '../core/roles.js';
import { keys } from '../core/table.js';
import { authorize } from '../org/organizations.js';
import { type ResolvedAssignment, resolveAssignments } from './assignments.js';

export const SEAT_ORDERINGS = ['user_id', '-user_id', 'id', '-id'] as const;
export type SeatOrdering = (typeof SEAT_ORDERINGS)[number];

export interface SeatQuery {
  counts_toward_seat_limit?: boolean;
  email?: string;
  has_stale_role_assignments?: boolean;
  include_seat_usage?: boolean;
  role_source?: RoleSource[];
  search?: string;
  ordering?: SeatOrdering;
}

export interface SeatRow {
  membership: Membership;
  counts_toward_seat_limit: boolean;
  has_stale_role_assignments: boolean;
  assignments: ResolvedAssignment[];
}

export interface SeatUsage {
  count: number;
  total: number;
  limit: number | null;
  reached: boolean;
  scope: 'organization';
}

/** The seat predicate (the same as billing's): a membership that is not deleted, Not Activated or Deactivated. */
export const countsTowardSeat = (m: Pick<Membership, 'role' | 'deleted_at'>) => m.deleted_at === null && m.role !== 'NO' && m.role !== 'DI';

/** Stale: a role assignment (organization or project role: the kinds LSE gives a mapping status) that is orphaned or has lost its membership. */
export const isStale = (a: ResolvedAssignment[]) => a.some((x) => x.kind !== 'workspace' && x.mapping_status !== 'configured');

function seatFilter(q: SeatQuery): Filter | undefined {
  const parts: string[] = [];
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  if (q.counts_toward_seat_limit !== undefined) {
    names['#role'] = 'role';
    Object.assign(values, { ':null': null, ':no': 'NO', ':di': 'DI' });
    parts.push(q.counts_toward_seat_limit ? '(deleted_at = :null AND NOT #role IN (:no, :di))' : '(deleted_at <> :null OR #role IN (:no, :di))');
  }
  if (q.email) {
    names['#user'] = 'user';
    names['#email'] = 'email';
    values[':email'] = q.email.toLowerCase();
    parts.push('#user.#email = :email');
  }
  if (q.role_source?.length) {
    names['#rs'] = 'role_source';
    // Older memberships may hold invite/system, which LSE's values answer as manual.
    const stored = q.role_source.flatMap((s) => (s === 'manual' ? ['manual', 'invite', 'system'] : [s]));
    parts.push(`#rs IN (${stored.map((s, i) => ((values[`:rs${i}`] = s), `:rs${i}`)).join(', ')})`);
  }
  if (q.search) {
    names['#search'] = 'search';
    values[':q'] = q.search.toLowerCase();
    parts.push('contains(#search, :q)');
  }
  return parts.length ? { expression: parts.join(' AND '), names, values } : undefined;
}

async function rowsOf(db: Db, orgId: number, members: Membership[]): Promise<SeatRow[]> {
  const assignments = await resolveAssignments(db, orgId, new Map(members.map((m) => [m.user_id, m])));
  return members.map((m) => {
    const a = (assignments.get(m.user_id) ?? []).sort((x, y) => x.assignment_id - y.assignment_id);
    return { membership: m, counts_toward_seat_limit: countsTowardSeat(m), has_stale_role_assignments: isStale(a), assignments: a };
  });
}

/** The seat report of an organization, for its Owner and Administrators. */
export async function seatReport(db: Db, p: Principal, orgId: number, page: PageRequest, q: SeatQuery): Promise<Page<SeatRow> & { seat_usage?: SeatUsage }> {
  await authorize(db, p, orgId, 'organization.access_review.run', { activeOnly: true });
  if (p.role !== 'OW' && p.role !== 'AD') throw new ForbiddenError();
  const pk = keys.organization(orgId).PK;
  const forward = !(q.ordering ?? 'user_id').startsWith('-');
  const filter = seatFilter(q);
  const usage = q.include_seat_usage ? seatUsage(db, orgId) : undefined;
  let result: Page<SeatRow>;
  if (q.has_stale_role_assignments === undefined) {
    const members = await queryPrefixPage<Record<string, unknown>>(db, pk, 'MEMBER#', page, { filter, forward });
    result = { ...members, items: await rowsOf(db, orgId, members.items.map(asMembership)) };
  } else {
    result = await staleWalk(db, orgId, page, filter, forward, q.has_stale_role_assignments);
  }
  return usage ? { ...result, seat_usage: await usage } : result;
}

/** Chunks of members read while walking for `has_stale_role_assignments`. */
const WALK_CHUNK = 200;

/**
 * Every member (filtered) in chunks, keeping the rows whose staleness is `stale`: the count is the
 * number of such rows, the page the requested slice of them (pages by number: the count needs the
 * whole walk anyway).
 */
async function staleWalk(db: Db, orgId: number, page: PageRequest, filter: Filter | undefined, forward: boolean, stale: boolean): Promise<Page<SeatRow>> {
  const pk = keys.organization(orgId).PK;
  const skip = (page.page - 1) * page.pageSize;
  const rows: SeatRow[] = [];
  let count = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const r: QueryCommandOutput = await db.doc.send(
      new QueryCommand({
        TableName: db.table,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :m)',
        ExpressionAttributeValues: { ':pk': pk, ':m': 'MEMBER#', ...filter?.values },
        ...(filter ? { FilterExpression: filter.expression, ExpressionAttributeNames: filter.names } : {}),
        ScanIndexForward: forward,
        Limit: WALK_CHUNK,
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    start = r.LastEvaluatedKey;
    const chunk = (await rowsOf(db, orgId, (r.Items ?? []).map(asMembership))).filter((row) => row.has_stale_role_assignments === stale);
    for (const row of chunk) {
      if (count >= skip && rows.length < page.pageSize) rows.push(row);
      count++;
    }
  } while (start);
  if (page.page < 1) throw invalidPage();
  checkPage(page.page, page.pageSize, count);
  return { items: rows, count };
}

/** The organization's seat counters: seats taken, memberships in all, and the limit (ROSTER_SEAT_LIMIT, if set). */
async function seatUsage(db: Db, orgId: number): Promise<SeatUsage> {
  const base = { KeyConditionExpression: 'PK = :pk AND begins_with(SK, :m)', ExpressionAttributeValues: { ':pk': keys.organization(orgId).PK, ':m': 'MEMBER#' } };
  const [count, total] = await Promise.all([
    countAll(db, {
      ...base,
      FilterExpression: 'deleted_at = :null AND NOT #role IN (:no, :di)',
      ExpressionAttributeNames: { '#role': 'role' },
      ExpressionAttributeValues: { ...base.ExpressionAttributeValues, ':null': null, ':no': 'NO', ':di': 'DI' },
    }),
    countAll(db, { ...base, FilterExpression: 'deleted_at = :null', ExpressionAttributeValues: { ...base.ExpressionAttributeValues, ':null': null } }),
  ]);
  const raw = Number(process.env.ROSTER_SEAT_LIMIT);
  const limit = Number.isSafeInteger(raw) && raw > 0 ? raw : null;
  return { count, total, limit, reached: limit !== null && count >= limit, scope: 'organization' };
}
