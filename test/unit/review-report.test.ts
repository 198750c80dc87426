import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { type ReportRow, CSV_COLUMNS, csvHeader, csvLine, emptySummary, jsonClose, jsonLine, jsonOpen, renderHtml, tally } from '../../lib/reviews/report.js';
import { colouredPixels, decodePng, inkedPixels } from '../support/png.js';
import { hasChromium, launchChromium } from '../support/browser.js';

const row = (over: Partial<ReportRow> = {}): ReportRow => ({
  item_id: 'i1',
  user_id: 7,
  email: 'ann@example.com',
  name: 'Ann Example',
  organization_role: 'AN',
  grant: 'workspace_membership',
  target_type: 'workspace',
  target_id: 3,
  target_title: 'Labeling',
  grant_role: null,
  source: 'manual',
  reason: 'added by owner@example.com at 2026-01-01T00:00:00Z',
  idp_group: null,
  flags: ['inactive'],
  last_activity: '2025-01-01T00:00:00Z',
  reviewers: 'administrators',
  decision: 'revoke',
  decided_via: 'reviewer',
  justification: 'left the team',
  decided_by: 1,
  decided_at: '2026-01-02T00:00:00Z',
  apply_result: 'applied',
  apply_detail: null,
  idp_instruction: null,
  ...over,
});

describe('review report files', () => {
  it('guards every CSV cell against formula injection, as the project-members export does', () => {
    const line = csvLine(row({ name: '=HYPERLINK("http://evil")', justification: '+1 cmd', email: '@x' }));
    expect(line).toContain(`"'=HYPERLINK(""http://evil"")"`);
    expect(line).toContain("'+1 cmd");
    expect(line).toContain("'@x");
    expect(csvHeader().trim().split(',')).toEqual([...CSV_COLUMNS]);
    expect(line.endsWith('\r\n')).toBe(true);
  });

  it('writes the JSON report in pieces that make one document', () => {
    const s = emptySummary();
    const rows = [row(), row({ item_id: 'i2', decision: 'keep', apply_result: null })];
    const text = jsonOpen({ id: 'r1' }) + rows.map((r, i) => jsonLine(r, i === 0)).join('') + jsonClose(rows.reduce(tally, s));
    const doc = JSON.parse(text);
    expect(doc.review).toEqual({ id: 'r1' });
    expect(doc.items.map((r: ReportRow) => r.item_id)).toEqual(['i1', 'i2']);
    expect(doc.summary.decisions).toEqual({ revoke: 1, keep: 1 });
    expect(JSON.parse(jsonOpen({}) + jsonClose(emptySummary())).items).toEqual([]);
  });

  it('escapes what members typed in the HTML page', () => {
    const s = tally(emptySummary(), row({ email: '<script>alert(1)</script>' }));
    const html = renderHtml({ id: 'r', name: '<b>x</b>', organization: 1, started_at: 'a', closed_at: 'b', snapshot_sha256: null, snapshot_size: null, previous: null }, s);
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;');
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });
});

describe.skipIf(!hasChromium())('review report HTML in a real browser', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => browser?.close());

  it('renders its five charts as SVG bars that paint coloured pixels', async () => {
    let s = emptySummary();
    for (const r of [
      row({ grant: 'organization_role', organization_role: 'OW', flags: ['privileged'], decision: 'keep', apply_result: null }),
      row({ grant: 'organization_role', organization_role: 'AN', flags: ['new'], decision: null, apply_result: null }),
      row({ grant: 'workspace_membership', flags: ['inactive', 'changed'] }),
      row({ grant: 'project_membership', source: 'scim', flags: ['idp_managed'], apply_result: 'idp_managed', idp_instruction: 'Remove from group X' }),
    ])
      s = tally(s, r);
    const html = renderHtml({ id: 'r', name: 'Q1', organization: 1, started_at: 'a', closed_at: 'b', snapshot_sha256: 'ab', snapshot_size: 4, previous: null }, s);
    const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.setContent(html, { waitUntil: 'load' });
    expect(requests.filter((u) => !u.startsWith('data:') && u !== 'about:blank')).toEqual([]);
    for (const id of ['chart-roles', 'chart-flags', 'chart-decisions', 'chart-applied', 'chart-changes']) {
      const chart = page.locator(`#${id}`);
      expect(await chart.locator('svg rect.bar').count(), id).toBeGreaterThan(0);
      const img = decodePng(await chart.locator('svg').screenshot());
      expect(img.width, id).toBeGreaterThan(100);
      expect(inkedPixels(img), id).toBeGreaterThan(200);
      expect(colouredPixels(img), id).toBeGreaterThan(100);
    }
    // The roles chart draws one bar per role present, in the house order.
    expect(await page.locator('#chart-roles rect.bar').evaluateAll((els) => els.map((e) => `${e.getAttribute('data-label')}=${e.getAttribute('data-value')}`))).toEqual(['OW=1', 'AN=1']);
    await page.close();
  });
});
