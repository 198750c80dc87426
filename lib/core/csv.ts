/**
 * A CSV cell (RFC 4180): quoted when it holds a comma, quote or line break, objects as JSON, and
 * never read as a formula by a spreadsheet: names, paths and user agents are anyone's text.
 */
export function csvCell(v: unknown): string {
  let s = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
