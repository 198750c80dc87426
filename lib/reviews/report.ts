/**
 * An access review's report, as files an auditor keeps: one row per person × grant in CSV and JSON,
 * and a self-contained HTML page (no script, no CDN: its charts are inline SVG drawn here) with the
 * role distribution, the flags, the decisions and their apply results, and the changes since the
 * previous review. Pure text: what writes the files (and hashes them) is report-files.ts.
 *
 * The CSV and JSON are written row by row, in slices; the summary the HTML page draws is folded up
 * row by row too (`tally`), so no slice holds more than its own rows.
 */
import { csvCell } from '../core/csv.js';

/** One row of a report: a review item as it stands once the review is closed and applied. */
export interface ReportRow {
  item_id: string;
  user_id: number;
  email: string;
  name: string;
  /** The member's organization role when the snapshot was taken. */
  organization_role: string;
  grant: string;
  target_type: string;
  target_id: number | null;
  target_title: string | null;
  /** The role the grant gives (the organization role, a project role), when it gives one. */
  grant_role: string | null;
  source: string;
  reason: string;
  idp_group: string | null;
  flags: string[];
  last_activity: string | null;
  reviewers: string;
  decision: 'keep' | 'revoke' | null;
  /** Who decided: a reviewer, or the definition's end action for an item nobody decided. */
  decided_via: 'reviewer' | 'end_action' | null;
  justification: string | null;
  decided_by: number | null;
  decided_at: string | null;
  apply_result: string | null;
  apply_detail: string | null;
  /** For a grant an IdP manages: what to change in the IdP instead. */
  idp_instruction: string | null;
}

export const CSV_COLUMNS: readonly (keyof ReportRow)[] = [
  'item_id', 'user_id', 'email', 'name', 'organization_role', 'grant', 'target_type', 'target_id', 'target_title', 'grant_role',
  'source', 'reason', 'idp_group', 'flags', 'last_activity', 'reviewers', 'decision', 'decided_via', 'justification', 'decided_by',
  'decided_at', 'apply_result', 'apply_detail', 'idp_instruction',
];

export const csvHeader = () => `${CSV_COLUMNS.join(',')}\r\n`;

/** One CSV line; every cell guarded against formula injection (lib/core/csv.ts), as the project-members export is. */
export const csvLine = (row: ReportRow) => `${CSV_COLUMNS.map((c) => csvCell(c === 'flags' ? row.flags.join(';') : row[c])).join(',')}\r\n`;

/** The JSON report is one document, `{"review": …, "items": [ … ], "summary": …}`, written in pieces. */
export const jsonOpen = (review: Record<string, unknown>) => `{"review":${JSON.stringify(review)},"items":[\n`;
export const jsonLine = (row: ReportRow, first: boolean) => `${first ? '' : ',\n'}${JSON.stringify(row)}`;
export const jsonClose = (summary: Summary) => `\n],"summary":${JSON.stringify(summary)}}\n`;

/** The most rows of each kind the HTML page lists by name (the CSV and JSON hold them all). */
export const LISTED = 100;

/** What the HTML page draws, folded up row by row. Small: counts, and at most LISTED rows of each list. */
export interface Summary {
  items: number;
  members: number;
  roles: Record<string, number>;
  grants: Record<string, number>;
  flags: Record<string, number>;
  decisions: Record<string, number>;
  applied: Record<string, number>;
  changes: Record<string, number>;
  revoked: ListedRow[];
  idp_tasks: ListedRow[];
  failures: ListedRow[];
}

export type ListedRow = Pick<ReportRow, 'email' | 'grant' | 'target_title' | 'grant_role' | 'apply_result' | 'apply_detail' | 'idp_instruction' | 'justification'>;

export const emptySummary = (): Summary => ({
  items: 0,
  members: 0,
  roles: {},
  grants: {},
  flags: {},
  decisions: {},
  applied: {},
  changes: {},
  revoked: [],
  idp_tasks: [],
  failures: [],
});

const bump = (m: Record<string, number>, k: string) => void (m[k] = (m[k] ?? 0) + 1);
/** Listed rows are kept in the summary between slices: their free text is cut short there. */
const cut = (v: string | null) => (v && v.length > 300 ? `${v.slice(0, 299)}…` : v);
const listed = (r: ReportRow): ListedRow => ({
  email: r.email,
  grant: r.grant,
  target_title: cut(r.target_title),
  grant_role: r.grant_role,
  apply_result: r.apply_result,
  apply_detail: cut(r.apply_detail),
  idp_instruction: cut(r.idp_instruction),
  justification: cut(r.justification),
});

/** Fold one row into the summary. */
export function tally(s: Summary, r: ReportRow): Summary {
  s.items++;
  bump(s.grants, r.grant);
  if (r.grant === 'organization_role') {
    s.members++;
    bump(s.roles, r.organization_role);
  }
  for (const f of r.flags) bump(s.flags, f);
  bump(s.decisions, r.decision ?? 'undecided');
  if (r.apply_result) bump(s.applied, r.apply_result);
  if (r.flags.includes('new')) bump(s.changes, 'new');
  else if (r.flags.includes('changed')) bump(s.changes, 'changed');
  else bump(s.changes, 'unchanged');
  if (r.decision === 'revoke' && s.revoked.length < LISTED) s.revoked.push(listed(r));
  if (r.apply_result === 'idp_managed' && s.idp_tasks.length < LISTED) s.idp_tasks.push(listed(r));
  if (r.apply_result === 'failed' && s.failures.length < LISTED) s.failures.push(listed(r));
  return s;
}

// ---------------------------------------------------------------------------------------------
// The HTML page

const esc = (v: unknown) =>
  String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const PALETTE = ['#2f6fde', '#e0673a', '#2a9d6f', '#b8488f', '#d1a21d', '#5a5fc7', '#6b7b8c', '#c23b3b'];

/**
 * A horizontal bar chart as inline SVG: one bar per entry, its value at the end. An empty chart
 * still draws its frame and says "none", so a chart is never an empty box.
 */
export function barChart(id: string, title: string, data: Record<string, number>, order: readonly string[] = []): string {
  const keysInOrder = [...order.filter((k) => k in data), ...Object.keys(data).filter((k) => !order.includes(k)).sort()];
  const entries = keysInOrder.map((k) => [k, data[k]!] as const);
  const max = Math.max(1, ...entries.map(([, v]) => v));
  const rowH = 26;
  const labelW = 150;
  const barW = 300;
  const height = Math.max(1, entries.length) * rowH + 16;
  const bars = entries
    .map(([k, v], i) => {
      const w = v === 0 ? 0 : Math.max(2, Math.round((v / max) * barW));
      const y = 8 + i * rowH;
      return (
        `<text x="${labelW - 8}" y="${y + 15}" text-anchor="end" font-size="12">${esc(k)}</text>` +
        `<rect class="bar" data-label="${esc(k)}" data-value="${v}" x="${labelW}" y="${y}" width="${w}" height="${rowH - 8}" fill="${PALETTE[i % PALETTE.length]}"/>` +
        `<text x="${labelW + w + 6}" y="${y + 15}" font-size="12">${v}</text>`
      );
    })
    .join('');
  const none = entries.length ? '' : `<text x="${labelW}" y="24" font-size="12" fill="#6b7b8c">none</text>`;
  return (
    `<figure class="chart" id="${esc(id)}"><figcaption>${esc(title)}</figcaption>` +
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${esc(title)}" width="${labelW + barW + 60}" height="${height}" viewBox="0 0 ${labelW + barW + 60} ${height}">` +
    `<line x1="${labelW}" y1="4" x2="${labelW}" y2="${height - 4}" stroke="#333"/>${bars}${none}</svg></figure>`
  );
}

function table(title: string, rows: ListedRow[], total: number, columns: [keyof ListedRow, string][]): string {
  if (!total) return `<section><h2>${esc(title)}</h2><p>None.</p></section>`;
  const more = total > rows.length ? `<p>${rows.length} of ${total} listed; the CSV and JSON reports hold them all.</p>` : '';
  return (
    `<section><h2>${esc(title)} (${total})</h2><table><thead><tr>${columns.map(([, h]) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>` +
    rows.map((r) => `<tr>${columns.map(([c]) => `<td>${esc(r[c])}</td>`).join('')}</tr>`).join('') +
    `</tbody></table>${more}</section>`
  );
}

export interface HtmlReview {
  id: string;
  name: string;
  organization: number;
  started_at: string;
  closed_at: string;
  snapshot_sha256: string | null;
  snapshot_size: number | null;
  previous: string | null;
}

/** The whole page: self-contained (inline CSS and SVG, nothing fetched). */
export function renderHtml(review: HtmlReview, s: Summary): string {
  const revokedTotal = s.decisions.revoke ?? 0;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Access review ${esc(review.name)}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<style>
body{font-family:system-ui,sans-serif;margin:24px;color:#1d2733;background:#fff}
h1{font-size:22px}h2{font-size:17px;margin-top:28px}
.charts{display:flex;flex-wrap:wrap;gap:24px}
figure.chart{margin:0;padding:12px;border:1px solid #d5dbe1;border-radius:6px}
figcaption{font-weight:600;margin-bottom:6px}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #d5dbe1;padding:4px 8px;text-align:left}
dl{display:grid;grid-template-columns:max-content auto;gap:4px 16px}dt{font-weight:600}
</style></head><body>
<h1>Access review: ${esc(review.name)}</h1>
<dl>
<dt>Review</dt><dd>${esc(review.id)}</dd>
<dt>Organization</dt><dd>${esc(review.organization)}</dd>
<dt>Started (snapshot)</dt><dd>${esc(review.started_at)}</dd>
<dt>Closed</dt><dd>${esc(review.closed_at)}</dd>
<dt>Snapshot</dt><dd>${esc(review.snapshot_size ?? '')} items, SHA-256 ${esc(review.snapshot_sha256 ?? '')}</dd>
<dt>Previous review</dt><dd>${esc(review.previous ?? 'none')}</dd>
<dt>Members reviewed</dt><dd>${s.members}</dd>
<dt>Items (person × grant)</dt><dd>${s.items}</dd>
</dl>
<div class="charts">
${barChart('chart-roles', 'Organization roles', s.roles, ['OW', 'AD', 'MA', 'RE', 'AN', 'NO', 'DI'])}
${barChart('chart-flags', 'Flags', s.flags, ['privileged', 'inactive', 'unexplained', 'new', 'changed', 'idp_managed'])}
${barChart('chart-decisions', 'Decisions', s.decisions, ['keep', 'revoke', 'undecided'])}
${barChart('chart-applied', 'Apply results', s.applied, ['applied', 'failed', 'not_found', 'idp_managed'])}
${barChart('chart-changes', 'Changes since the last review', s.changes, ['new', 'changed', 'unchanged'])}
</div>
${table('Revoked', s.revoked, revokedTotal, [['email', 'Member'], ['grant', 'Grant'], ['target_title', 'On'], ['grant_role', 'Role'], ['justification', 'Justification'], ['apply_result', 'Result'], ['apply_detail', 'Detail']])}
${table('To change in the identity provider', s.idp_tasks, s.applied.idp_managed ?? 0, [['email', 'Member'], ['grant', 'Grant'], ['target_title', 'On'], ['idp_instruction', 'What to change']])}
${table('Not applied', s.failures, s.applied.failed ?? 0, [['email', 'Member'], ['grant', 'Grant'], ['target_title', 'On'], ['apply_detail', 'Why']])}
</body></html>
`;
}
