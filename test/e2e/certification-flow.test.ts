/**
 * A review from start to proof, over HTTP only: a definition is started, the stream consumer takes
 * the snapshot, reviewers decide on the items the API lists, the Owner closes with apply, and the
 * report files match their manifest. The grants reviewed are the ones the snapshot took (part A).
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withChangeContext } from '../../lib/core/context.js';
import { db as tableDb } from '../../lib/core/db.js';
import { applyMappings } from '../../lib/federation/engine.js';
import { putScimMappings, resolveMappings } from '../../lib/federation/mappings.js';
import { provisionMember } from '../../lib/federation/provision.js';
import { pad } from '../../lib/core/table.js';
import { addMember } from '../support/db.js';
import { OWNER_TOKEN, client, startTestRoster } from '../support/roster.js';

let roster: Awaited<ReturnType<typeof startTestRoster>>;
let call: ReturnType<typeof client>;
const owner = (method: string, path: string, body?: unknown) => call(method, path, { token: OWNER_TOKEN, body });

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 150_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

beforeAll(async () => {
  roster = await startTestRoster();
  call = client(roster.url);
});
afterAll(async () => roster?.stop());

describe('an access review from start to proof', () => {
  it('snapshot → decisions → close with apply → access gone on the next request, IdP grant untouched, reports match their manifest', async () => {
    const db = tableDb();
    const admin = await addMember(db, 1, 'AD', 'flow.admin@example.com');
    const ann = await addMember(db, 1, 'AN', 'flow.ann@example.com');
    const ws = (await owner('POST', '/api/workspaces/', { title: 'W1' })).body.id;
    const project = (await owner('POST', '/api/projects/', { title: 'P1', workspace: ws })).body.id;
    expect((await owner('POST', `/api/workspaces/${ws}/memberships/`, { user: ann.userId })).status).toBe(200);
    // A member the SCIM engine provisioned, in the workspace through a mapped group (its assignment records).
    const mappings = await resolveMappings(db, 1, { roles_groups: [['Annotator', 'eng']], workspaces_groups: [['W1', 'eng']] });
    await putScimMappings(db, 1, mappings);
    const { user } = await withChangeContext({ source: 'scim' }, () => provisionMember(db, 1, { email: 'flow.scim@example.com' }, 'scim'));
    await withChangeContext({ source: 'scim' }, () => applyMappings(db, { orgId: 1, userId: user.id, groups: ['eng'], source: 'scim', mappings }));
    const scim = { userId: user.id };

    const def = await owner('POST', '/api/access-reviews/definitions/', { title: 'Quarterly', end_action: 'keep' });
    expect(def.status).toBe(201);
    const started = await owner('POST', `/api/access-reviews/definitions/${def.body.id}/start`);
    expect(started.status).toBe(201);
    const id = started.body.id;
    const inst = await until('the snapshot', async () => {
      const r = await owner('GET', `/api/access-reviews/instances/${id}/`);
      return r.body.status === 'open' ? r.body : undefined;
    });
    const items = (await owner('GET', `/api/access-reviews/instances/${id}/items/?page_size=1000`)).body.results as { user_id: number; grant: string; flags: string[]; apply_result: string | null; apply_detail: string | null }[];
    expect(items).toHaveLength(inst.snapshot.items);
    const wsGrant = `W#${pad(ws)}`;
    const find = (userId: number, grant: string) => items.find((i) => i.user_id === userId && i.grant === grant)!;
    expect(find(ann.userId, wsGrant)).toBeDefined();
    expect(find(scim.userId, wsGrant).flags).toContain('idp_managed');

    // Nobody reviews their own access; a revoke needs a reason.
    expect((await call('POST', `/api/access-reviews/instances/${id}/decisions`, { token: admin.token, body: { user_id: admin.userId, grant: 'R', decision: 'keep' } })).status).toBe(403);
    expect((await owner('POST', `/api/access-reviews/instances/${id}/decisions`, { user_id: ann.userId, grant: wsGrant, decision: 'revoke' })).status).toBe(400);
    const decided = await call('POST', `/api/access-reviews/instances/${id}/decisions`, {
      token: admin.token,
      body: { decisions: [
        { user_id: ann.userId, grant: wsGrant, decision: 'revoke', justification: 'moved teams' },
        { user_id: scim.userId, grant: wsGrant, decision: 'revoke', justification: 'contract ended' },
      ] },
    });
    expect(decided.status).toBe(200);

    expect((await owner('POST', '/api/access/check', { user_id: ann.userId, action: 'project.read', project_id: project })).body.allowed).toBe(true);
    expect((await owner('POST', `/api/access-reviews/instances/${id}/close`, { apply: true })).status).toBe(202);
    await until('the close run', async () => {
      const r = await owner('GET', `/api/access-reviews/instances/${id}/runs`);
      return r.body[0]?.status === 'done' ? true : undefined;
    });
    expect((await owner('POST', '/api/access/check', { user_id: ann.userId, action: 'project.read', project_id: project })).body.allowed).toBe(false);
    expect((await owner('POST', '/api/access/check', { user_id: scim.userId, action: 'project.read', project_id: project })).body.allowed).toBe(true);
    const after = (await owner('GET', `/api/access-reviews/instances/${id}/items/?page_size=1000`)).body.results as typeof items;
    expect(after.find((i) => i.user_id === ann.userId && i.grant === wsGrant)!.apply_result).toBe('applied');
    const idp = after.find((i) => i.user_id === scim.userId && i.grant === wsGrant)!;
    expect(idp.apply_result).toBe('idp_managed');
    expect(idp.apply_detail).toMatch(/group "eng"/);
    expect((await owner('GET', `/api/access-reviews/instances/${id}/`)).body.status).toBe('applied');
    expect((await owner('POST', `/api/access-reviews/instances/${id}/decisions`, { user_id: ann.userId, grant: 'R', decision: 'keep' })).status).toBe(409);

    const entry = await until('the activity entry', async () => {
      const log = await owner('GET', `/api/activity-logs/?workspace=${ws}&page_size=100`);
      return log.body.data.find((e: { action: string; subject_user_id: number }) => e.action === 'workspace_membership.removed' && e.subject_user_id === ann.userId);
    });
    expect(entry.source).toBe('access_review');

    const reports = (await owner('GET', `/api/access-reviews/instances/${id}/reports/`)).body;
    expect(reports.snapshot).toEqual({ items: inst.snapshot.items, sha256: inst.snapshot.sha256 });
    expect(reports.rows).toBe(inst.snapshot.items);
    for (const f of [...reports.files, reports.manifest]) {
      const res = await fetch(f.url.replace(/^https?:\/\/[^/]+/, roster.url), { headers: { authorization: `Token ${OWNER_TOKEN}` } });
      const bytes = Buffer.from(await res.arrayBuffer());
      expect(createHash('sha256').update(bytes).digest('hex'), f.name).toBe(f.sha256);
    }
  }, 300_000);
});
