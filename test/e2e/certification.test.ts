/**
 * Access certification end to end (issue 13, points 4–5): reviewers decide over HTTP, an Owner
 * closes and applies, the revokes go through the API's own services and show on the very next
 * request, the activity log names `access_review`, IdP-managed grants are left alone, and the
 * report files match their manifest (the HTML one opened in a real browser).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { db as tableDb, getItem } from '../../lib/core/db.js';
import { keys } from '../../lib/core/table.js';
import { reviewKeys } from '../../lib/reviews/model.js';
import { objectKey } from '../../lib/reviews/report-files.js';
import { addMember } from '../support/db.js';
import { OWNER_TOKEN, client, startTestRoster } from '../support/roster.js';
import { type Grant, grantOf, seedInstance } from '../support/review-instance.js';
import { hasChromium, launchChromium } from '../support/browser.js';
import { colouredPixels, decodePng, inkedPixels } from '../support/png.js';

let roster: Awaited<ReturnType<typeof startTestRoster>>;
let call: ReturnType<typeof client>;
const owner = (method: string, path: string, body?: unknown) => call(method, path, { token: OWNER_TOKEN, body });
const base = (id: number) => `/api/access-reviews/instances/${id}`;

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 120_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const runDone = (id: number, kind: 'close' | 'apply') =>
  until(`the ${kind} run`, async () => {
    const r = await owner('GET', `${base(id)}/runs`);
    expect(r.status).toBe(200);
    const run = r.body.find((x: { kind: string }) => x.kind === kind);
    return run?.status === 'done' ? run : undefined;
  });

const itemOf = async (instId: number, userId: number, grant: string) => (await getItem(tableDb(), reviewKeys.item(1, instId, userId, grant)))!;

interface World {
  admin: { userId: number; token: string };
  admin2: { userId: number; token: string };
  manager: { userId: number; token: string };
  ann: { userId: number; email: string; token: string };
  scimAnn: { userId: number; email: string; token: string };
  reviewer: { userId: number; email: string; token: string };
  ws: number;
  project: number;
}
let w: World;

beforeAll(async () => {
  roster = await startTestRoster();
  call = client(roster.url);
  const db = tableDb();
  const admin = await addMember(db, 1, 'AD', 'admin@example.com');
  const admin2 = await addMember(db, 1, 'AD', 'admin2@example.com');
  const manager = await addMember(db, 1, 'MA', 'manager@example.com');
  const ann = await addMember(db, 1, 'AN', 'ann@example.com');
  const scimAnn = await addMember(db, 1, 'AN', 'scim.ann@example.com');
  const reviewer = await addMember(db, 1, 'RE', 'rita@example.com');
  const ws = (await owner('POST', '/api/workspaces/', { title: 'Labeling' })).body.id;
  const project = (await owner('POST', '/api/projects/', { title: 'Cats', workspace: ws })).body.id;
  for (const u of [ann, scimAnn]) expect((await owner('POST', `/api/workspaces/${ws}/memberships/`, { user: u.userId })).status).toBe(200);
  expect((await owner('POST', `/api/projects/${project}/members/`, { user: reviewer.userId })).status).toBe(201);
  expect((await owner('POST', '/api/projects/roles/', { project, user: reviewer.userId, role: 'AN' })).status).toBe(201);
  w = { admin, admin2, manager, ann, scimAnn, reviewer, ws, project };
});
afterAll(async () => roster?.stop());

/** The grants of the world as the snapshot would take them. */
function grants(): Grant[] {
  const reviewers = [1, w.admin.userId, w.admin2.userId];
  return [
    { user_id: w.admin.userId, email: 'admin@example.com', kind: 'organization_role', organization_role: 'AD', flags: ['privileged'], reviewer_ids: reviewers },
    { user_id: w.ann.userId, email: w.ann.email, kind: 'organization_role', organization_role: 'AN', reviewer_ids: reviewers },
    { user_id: w.ann.userId, email: w.ann.email, kind: 'workspace_membership', organization_role: 'AN', workspace_id: w.ws, reviewer_ids: [...reviewers, w.manager.userId] },
    {
      user_id: w.scimAnn.userId,
      email: w.scimAnn.email,
      kind: 'workspace_membership',
      organization_role: 'AN',
      workspace_id: w.ws,
      role_source: 'scim',
      reason: { kind: 'idp', source: 'scim', group: 'labelers', assignment_id: 7, mapping_status: 'configured' },
      flags: ['idp_managed'],
      reviewer_ids: reviewers,
    },
    { user_id: w.reviewer.userId, email: w.reviewer.email, kind: 'project_membership', organization_role: 'RE', project_id: w.project, reviewer_ids: reviewers },
    { user_id: w.reviewer.userId, email: w.reviewer.email, kind: 'project_role', organization_role: 'RE', project_id: w.project, role: 'AN', reviewer_ids: reviewers },
    { user_id: w.reviewer.userId, email: w.reviewer.email, kind: 'organization_role', organization_role: 'RE', flags: ['inactive'], reviewer_ids: reviewers },
  ];
}

describe('decisions', () => {
  it('refuses a revoke without a justification (400 naming the field) and writes nothing', async () => {
    const inst = await seedInstance(tableDb(), 1, grants());
    const r = await owner('POST', `${base(inst.id)}/decisions`, { user_id: w.ann.userId, grant: 'R', decision: 'revoke' });
    expect(r.status).toBe(400);
    expect(r.body.validation_errors).toEqual({ justification: ['A justification is required to revoke.'] });
    const blank = await owner('POST', `${base(inst.id)}/decisions`, { user_id: w.ann.userId, grant: 'R', decision: 'revoke', justification: '   ' });
    expect(blank.status).toBe(400);
    const bulk = await owner('POST', `${base(inst.id)}/decisions`, {
      decisions: [
        { user_id: w.ann.userId, grant: 'R', decision: 'keep' },
        { user_id: w.reviewer.userId, grant: 'R', decision: 'revoke' },
      ],
    });
    expect(bulk.status).toBe(400);
    expect(bulk.body.validation_errors).toEqual({ 'decisions.1.justification': ['A justification is required to revoke.'] });
    expect((await itemOf(inst.id, w.ann.userId, 'R')).decision).toBe('undecided');
    const bad = await owner('POST', `${base(inst.id)}/decisions`, { user_id: w.ann.userId, grant: 'X#1', decision: 'maybe' });
    expect(bad.status).toBe(400);
    expect(bad.body.validation_errors).toMatchObject({ decision: ['Expected one of: keep, revoke.'], grant: [expect.stringMatching(/^A grant id/)] });
    const long = await owner('POST', `${base(inst.id)}/decisions`, { user_id: w.ann.userId, grant: 'R', decision: 'revoke', justification: 'x'.repeat(1001) });
    expect(long.status).toBe(400);
    expect(Object.keys(long.body.validation_errors)).toEqual(['justification']);
    expect((await owner('POST', `${base(9999)}/decisions`, { user_id: w.ann.userId, grant: 'R', decision: 'keep' })).status).toBe(404);
  });

  it('refuses self-review, even to an Administrator, and anyone who is not a reviewer of the item', async () => {
    const inst = await seedInstance(tableDb(), 1, grants(), { manager_ids: [w.manager.userId] });
    const self = await call('POST', `${base(inst.id)}/decisions`, { token: w.admin.token, body: { user_id: w.admin.userId, grant: 'R', decision: 'keep' } });
    expect(self.status).toBe(403);
    expect(self.body.detail).toMatch(/own access/);
    // The Manager is named on Ann's workspace item only.
    const mine = await call('POST', `${base(inst.id)}/decisions`, { token: w.manager.token, body: { user_id: w.ann.userId, grant: grantOf({ kind: 'workspace_membership', workspace_id: w.ws }), decision: 'keep' } });
    expect(mine.status).toBe(200);
    const notMine = await call('POST', `${base(inst.id)}/decisions`, { token: w.manager.token, body: { user_id: w.ann.userId, grant: 'R', decision: 'keep' } });
    expect(notMine.status).toBe(403);
    expect(notMine.body.detail).toMatch(/not a reviewer/);
    // A member the instance does not name at all does not see it.
    const stranger = await call('POST', `${base(inst.id)}/decisions`, { token: w.ann.token, body: { user_id: w.reviewer.userId, grant: 'R', decision: 'keep' } });
    expect(stranger.status).toBe(404);
    const unknown = await owner('POST', `${base(inst.id)}/decisions`, { user_id: w.ann.userId, grant: 'P#0000009999', decision: 'keep' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.validation_errors).toEqual({ grant: ['No such item in this review.'] });
  });

  it('lets exactly one of two reviewers racing on an item win; the decision is final', async () => {
    const inst = await seedInstance(tableDb(), 1, grants());
    for (let round = 0; round < 3; round++) {
      const userId = [w.ann.userId, w.reviewer.userId, w.ann.userId][round]!;
      const grant = ['R', 'R', grantOf({ kind: 'workspace_membership', workspace_id: w.ws })][round]!;
      const [a, b] = await Promise.all([
        call('POST', `${base(inst.id)}/decisions`, { token: w.admin.token, body: { user_id: userId, grant, decision: 'keep' } }),
        call('POST', `${base(inst.id)}/decisions`, { token: w.admin2.token, body: { user_id: userId, grant, decision: 'revoke', justification: 'no longer needed' } }),
      ]);
      expect([a.status, b.status].sort()).toEqual([200, 409]);
      const winner = a.status === 200 ? a : b;
      const stored = await itemOf(inst.id, userId, grant);
      expect(stored.decision).toBe(winner.body.items[0].decision);
      expect(stored.decided_by).toBe(winner === a ? w.admin.userId : w.admin2.userId);
    }
    const again = await owner('POST', `${base(inst.id)}/decisions`, { user_id: w.ann.userId, grant: 'R', decision: 'revoke', justification: 'changed my mind' });
    expect(again.status).toBe(409);
  });

  it('takes up to 50 decisions at once, all or nothing', async () => {
    const inst = await seedInstance(tableDb(), 1, grants());
    const wsGrant = grantOf({ kind: 'workspace_membership', workspace_id: w.ws });
    await owner('POST', `${base(inst.id)}/decisions`, { user_id: w.ann.userId, grant: wsGrant, decision: 'keep' });
    const mixed = await owner('POST', `${base(inst.id)}/decisions`, {
      decisions: [
        { user_id: w.ann.userId, grant: 'R', decision: 'keep' },
        { user_id: w.ann.userId, grant: wsGrant, decision: 'keep' },
      ],
    });
    expect(mixed.status).toBe(409);
    expect(mixed.body.detail).toMatch(/decisions\.1/);
    expect((await itemOf(inst.id, w.ann.userId, 'R')).decision).toBe('undecided');
    const ok = await owner('POST', `${base(inst.id)}/decisions`, {
      decisions: [
        { user_id: w.ann.userId, grant: 'R', decision: 'keep' },
        { user_id: w.reviewer.userId, grant: 'R', decision: 'revoke', justification: 'inactive' },
      ],
    });
    expect(ok.status).toBe(200);
    expect(ok.body.decided).toBe(2);
    const tooMany = await owner('POST', `${base(inst.id)}/decisions`, { decisions: Array.from({ length: 51 }, () => ({ user_id: w.ann.userId, grant: 'R', decision: 'keep' })) });
    expect(tooMany.status).toBe(400);
  });
});

describe('close, apply and reports', () => {
  let instId: number;
  let browser: Browser | undefined;
  afterAll(async () => browser?.close());

  it('applies revokes through the API\'s services: access ends on the next request, the item says applied, the log says access_review', async () => {
    const inst = await seedInstance(tableDb(), 1, grants(), { end_action: 'keep' });
    instId = inst.id;
    const wsGrant = grantOf({ kind: 'workspace_membership', workspace_id: w.ws });
    // Before: Ann reaches the project through its workspace.
    const before = await owner('POST', '/api/access/check', { user_id: w.ann.userId, action: 'project.read', project_id: w.project });
    expect(before.body).toMatchObject({ allowed: true, reason: 'workspace_membership' });
    const decided = await owner('POST', `${base(inst.id)}/decisions`, {
      decisions: [
        { user_id: w.ann.userId, grant: wsGrant, decision: 'revoke', justification: 'moved to another team' },
        { user_id: w.scimAnn.userId, grant: wsGrant, decision: 'revoke', justification: 'contract ended' },
        { user_id: w.reviewer.userId, grant: grantOf({ kind: 'project_role', project_id: w.project }), decision: 'revoke', justification: 'reviews now' },
        { user_id: w.reviewer.userId, grant: grantOf({ kind: 'project_membership', project_id: w.project }), decision: 'revoke', justification: 'left the project' },
      ],
    });
    expect(decided.status).toBe(200);
    // Gone before the review applies: the project membership is removed by hand meanwhile.
    expect((await owner('DELETE', `/api/projects/${w.project}/members/?user=${w.reviewer.userId}`)).status).toBe(204);

    const closed = await owner('POST', `${base(inst.id)}/close`, { apply: true });
    expect(closed.status).toBe(202);
    expect(closed.body).toMatchObject({ kind: 'close', apply: true, status: 'pending' });
    const run = await runDone(inst.id, 'close');
    expect(run.applied).toEqual({ applied: 1 + 1, failed: 0, not_found: 1, idp_managed: 1 });
    // The undecided ones took the end action (keep): admin's and Ann's organization roles, Rita's.
    expect(run.end_action).toEqual({ keep: 3, revoke: 0, nothing: 0 });

    // The very next request: Ann no longer reaches the project.
    const after = await owner('POST', '/api/access/check', { user_id: w.ann.userId, action: 'project.read', project_id: w.project });
    expect(after.body).toMatchObject({ allowed: false });
    const annItem = await itemOf(inst.id, w.ann.userId, wsGrant);
    expect(annItem).toMatchObject({ apply_result: 'applied', applied_by: 1 });
    expect(await getItem(tableDb(), keys.workspaceMember(1, w.ws, w.ann.userId))).toBeUndefined();

    // The IdP's grant is untouched, and the item says what to change there.
    const scimItem = await itemOf(inst.id, w.scimAnn.userId, wsGrant);
    expect(scimItem.apply_result).toBe('idp_managed');
    expect(scimItem.apply_detail).toMatch(/group "labelers"/);
    expect(await getItem(tableDb(), keys.workspaceMember(1, w.ws, w.scimAnn.userId))).toBeDefined();
    const scimCheck = await owner('POST', '/api/access/check', { user_id: w.scimAnn.userId, action: 'project.read', project_id: w.project });
    expect(scimCheck.body.allowed).toBe(true);

    expect((await itemOf(inst.id, w.reviewer.userId, grantOf({ kind: 'project_membership', project_id: w.project }))).apply_result).toBe('not_found');
    expect((await itemOf(inst.id, w.reviewer.userId, grantOf({ kind: 'project_role', project_id: w.project }))).apply_result).toBe('applied');
    expect(await getItem(tableDb(), keys.projectRole(1, w.project, w.reviewer.userId))).toBeUndefined();
    expect((await itemOf(inst.id, w.ann.userId, 'R')).decided_via).toBe('end_action');

    const instance = await getItem(tableDb(), reviewKeys.instance(1, inst.id));
    expect(instance).toMatchObject({ status: 'applied', closed_by: 1 });

    // The activity log names the change's source.
    const entry = await until('the activity entry', async () => {
      const log = await owner('GET', `/api/activity-logs/?workspace=${w.ws}&page_size=100`);
      return log.body.data.find((e: { action: string; subject_user_id: number }) => e.action === 'workspace_membership.removed' && e.subject_user_id === w.ann.userId);
    });
    expect(entry).toMatchObject({ source: 'access_review', user_id: 1 });
    const roleEntry = await until('the project-role entry', async () => {
      const log = await owner('GET', `/api/activity-logs/?project=${w.project}&page_size=100`);
      return log.body.data.find((e: { action: string }) => e.action === 'project_role.removed');
    });
    expect(roleEntry.source).toBe('access_review');
  });

  it('refuses decisions after close (409) and a second close', async () => {
    const late = await owner('POST', `${base(instId)}/decisions`, { user_id: w.admin.userId, grant: 'R', decision: 'revoke', justification: 'late' });
    expect(late.status).toBe(409);
    expect(late.body.detail).toMatch(/final once it closes/);
    expect((await owner('POST', `${base(instId)}/close`, {})).status).toBe(409);
    expect((await owner('POST', `${base(instId)}/apply`)).status).toBe(409);
  });

  it('writes CSV, JSON and HTML reports whose bytes match the manifest\'s SHA-256, locally under the data folder', async () => {
    const list = await owner('GET', `${base(instId)}/reports/`);
    expect(list.status).toBe(200);
    expect(list.body.files.map((f: { name: string }) => f.name)).toEqual(['report.csv', 'report.json', 'report.html']);
    expect(list.body.rows).toBe(grants().length);
    const manifestFile = await owner('GET', `${base(instId)}/reports/manifest.json`);
    const manifest = typeof manifestFile.body === 'string' ? JSON.parse(manifestFile.body) : manifestFile.body;
    expect(manifest.files).toEqual(list.body.files.map(({ url: _u, ...f }: { url: string }) => f));
    for (const f of manifest.files) {
      const res = await fetch(`${roster.url}${base(instId)}/reports/${f.name}`, { headers: { authorization: `Token ${OWNER_TOKEN}` } });
      expect(res.status).toBe(200);
      const bytes = Buffer.from(await res.arrayBuffer());
      expect(createHash('sha256').update(bytes).digest('hex'), f.name).toBe(f.sha256);
      expect(bytes.length).toBe(f.bytes);
      expect(res.headers.get('content-type')).toContain(f.media_type.split(';')[0]);
      const local = join(roster.dataDir, 'reviews', objectKey(1, instId, f.name));
      expect(existsSync(local)).toBe(true);
      expect(createHash('sha256').update(readFileSync(local)).digest('hex')).toBe(f.sha256);
    }
    const csv = readFileSync(join(roster.dataDir, 'reviews', objectKey(1, instId, 'report.csv')), 'utf8').trim().split('\r\n');
    expect(csv).toHaveLength(1 + grants().length);
    const json = JSON.parse(readFileSync(join(roster.dataDir, 'reviews', objectKey(1, instId, 'report.json')), 'utf8'));
    expect(json.items).toHaveLength(grants().length);
    expect(json.summary.applied).toEqual({ applied: 2, not_found: 1, idp_managed: 1 });
    const idp = json.items.find((r: { user_id: number }) => r.user_id === w.scimAnn.userId);
    expect(idp.idp_instruction).toMatch(/labelers/);
    expect((await owner('GET', `${base(instId)}/reports/secrets.txt`)).status).toBe(404);
    expect((await call('GET', `${base(instId)}/reports/`, { token: w.manager.token })).status).toBe(404);
  });

  it.skipIf(!hasChromium())('shows the charts of the HTML report in a real browser (headless Chromium screenshot)', async () => {
    const res = await fetch(`${roster.url}${base(instId)}/reports/report.html`, { headers: { authorization: `Token ${OWNER_TOKEN}` } });
    const html = await res.text();
    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const outside: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith('data:') && r.url() !== 'about:blank') outside.push(r.url());
    });
    await page.setContent(html, { waitUntil: 'load' });
    expect(outside).toEqual([]);
    const charts = page.locator('figure.chart');
    expect(await charts.count()).toBe(5);
    const shot = decodePng(await page.locator('.charts').screenshot());
    expect(inkedPixels(shot)).toBeGreaterThan(2000);
    for (const id of ['chart-roles', 'chart-flags', 'chart-decisions', 'chart-applied', 'chart-changes']) {
      const svg = page.locator(`#${id} svg`);
      expect(await page.locator(`#${id} rect.bar`).count(), id).toBeGreaterThan(0);
      expect(colouredPixels(decodePng(await svg.screenshot())), id).toBeGreaterThan(100);
    }
    const decisions = await page.locator('#chart-decisions rect.bar').evaluateAll((els) => Object.fromEntries(els.map((e) => [e.getAttribute('data-label'), Number(e.getAttribute('data-value'))])));
    expect(decisions).toEqual({ keep: 3, revoke: 4 });
    await page.close();
  });
});

describe('end actions, a later apply, organization roles, slices', () => {
  it('closes without applying, then applies on request: an organization role revoked deactivates the member (DI)', async () => {
    const db = tableDb();
    const leaver = await addMember(db, 1, 'MA', 'leaver@example.com');
    const stays = await addMember(db, 1, 'RE', 'stays@example.com');
    const reviewers = [1, w.admin.userId];
    const inst = await seedInstance(db, 1, [
      { user_id: leaver.userId, email: leaver.email, kind: 'organization_role', organization_role: 'MA', reviewer_ids: reviewers },
      { user_id: stays.userId, email: stays.email, kind: 'organization_role', organization_role: 'RE', reviewer_ids: reviewers },
      { user_id: 1, email: 'owner@example.com', kind: 'organization_role', organization_role: 'OW', flags: ['privileged'], reviewer_ids: [w.admin.userId] },
    ]);
    expect((await call('POST', `${base(inst.id)}/decisions`, { token: w.admin.token, body: { decisions: [
      { user_id: leaver.userId, grant: 'R', decision: 'revoke', justification: 'left the company' },
      { user_id: 1, grant: 'R', decision: 'revoke', justification: 'testing the Owner' },
    ] } })).status).toBe(200);
    const closed = await owner('POST', `${base(inst.id)}/close`, {});
    expect(closed.body.apply).toBe(false);
    const closeRun = await runDone(inst.id, 'close');
    expect(closeRun.applied).toEqual({ applied: 0, failed: 0, not_found: 0, idp_managed: 0 });
    expect(closeRun.end_action).toEqual({ keep: 0, revoke: 0, nothing: 1 });
    // Not applied yet: the Manager still works.
    expect((await call('GET', '/api/current-user/whoami', { token: leaver.token })).status).toBe(200);
    expect((await getItem(db, reviewKeys.instance(1, inst.id)))!.status).toBe('closed');
    expect((await owner('GET', `${base(inst.id)}/reports/`)).body.written_by).toBe('close');

    expect((await call('POST', `${base(inst.id)}/apply`, { token: w.manager.token })).status).toBe(403);
    // An Administrator applies: the revokes run with their authority.
    const applied = await call('POST', `${base(inst.id)}/apply`, { token: w.admin.token });
    expect(applied.status).toBe(202);
    expect(applied.body.actor).toBe(w.admin.userId);
    expect((await owner('POST', `${base(inst.id)}/apply`)).status).toBe(409);
    const run = await runDone(inst.id, 'apply');
    // The Owner is never deactivated: the service refuses, and the item says why.
    expect(run.applied).toEqual({ applied: 1, failed: 1, not_found: 0, idp_managed: 0 });
    expect((await call('GET', '/api/current-user/whoami', { token: leaver.token })).status).toBe(401);
    const member = await owner('GET', `/api/organizations/1/memberships/${leaver.userId}/`);
    expect(member.body.role).toBe('DI');
    expect((await itemOf(inst.id, 1, 'R')).apply_detail).toMatch(/^409: The Owner cannot be demoted/);
    expect((await itemOf(inst.id, stays.userId, 'R')).decision).toBe('undecided');
    expect((await getItem(db, reviewKeys.instance(1, inst.id)))!.status).toBe('applied');
    expect((await owner('GET', `${base(inst.id)}/reports/`)).body.written_by).toBe('apply');
    const roleEntry = await until('the deactivation entry', async () => {
      const log = await owner('GET', `/api/activity-logs/?page_size=200`);
      return log.body.data.find((e: { action: string; subject_user_id: number }) => e.action === 'membership.deactivated' && e.subject_user_id === leaver.userId);
    });
    expect(roleEntry.source).toBe('access_review');
  }, 180_000);

  it('runs a review of 1,200 items in slices: the end action revokes what nobody decided, each revoke is recorded once, the report comes in parts and still matches its hash', async () => {
    process.env.ROSTER_REVIEW_PART_BYTES = '20000';
    try {
      const grants: Grant[] = Array.from({ length: 1200 }, (_, i) => ({
        // People who were members at the snapshot and are gone now: every revoke finds nothing to remove.
        user_id: 100_000 + Math.floor(i / 3),
        email: `gone${i}@example.com`,
        kind: (['organization_role', 'workspace_membership', 'project_membership'] as const)[i % 3]!,
        organization_role: 'AN',
        workspace_id: w.ws,
        project_id: w.project,
        reviewer_ids: [1],
      }));
      const inst = await seedInstance(tableDb(), 1, grants, { end_action: 'revoke', auto_apply: true });
      expect((await owner('POST', `${base(inst.id)}/close`, {})).body.apply).toBe(true);
      const run = await runDone(inst.id, 'close');
      expect(run.end_action).toEqual({ keep: 0, revoke: 1200, nothing: 0 });
      expect(run.applied).toEqual({ applied: 0, failed: 0, not_found: 1200, idp_managed: 0 });
      expect(run.rows).toBe(1200);
      const list = await owner('GET', `${base(inst.id)}/reports/`);
      const csv = list.body.files.find((f: { name: string }) => f.name === 'report.csv');
      expect(csv.bytes).toBeGreaterThan(3 * 20000);
      const bytes = readFileSync(join(roster.dataDir, 'reviews', objectKey(1, inst.id, 'report.csv')));
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(csv.sha256);
      const lines = bytes.toString('utf8').trim().split('\r\n');
      expect(lines).toHaveLength(1201);
      expect(new Set(lines.slice(1).map((l) => l.split(',')[0])).size).toBe(1200);
      const json = JSON.parse(readFileSync(join(roster.dataDir, 'reviews', objectKey(1, inst.id, 'report.json')), 'utf8'));
      expect(json.items).toHaveLength(1200);
      expect(json.summary.decisions).toEqual({ revoke: 1200 });
    } finally {
      delete process.env.ROSTER_REVIEW_PART_BYTES;
    }
  }, 300_000);
});
