/**
 * Property: for any membership state, the access-check API and the API's own behaviour agree.
 * Each generated state is a fresh user and project written to the table (organization role, soft
 * deletion, the project's workspace, workspace membership — of that workspace or another — direct
 * membership, project role, authorship); then the user's own requests (GET and PATCH the project)
 * are compared with the access-check answers for the same user, project and actions.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, createDb } from '../../lib/db.js';
import { nextId } from '../../lib/ids.js';
import { ROLES } from '../../lib/roles.js';
import { keys } from '../../lib/table.js';
import { addMember, softDelete } from '../support/db.js';
import { OWNER_TOKEN, client, startTestRoster } from '../support/roster.js';

let roster: Awaited<ReturnType<typeof startTestRoster>>;
let call: ReturnType<typeof client>;
let db: Db;
let workspaces: number[];

beforeAll(async () => {
  roster = await startTestRoster();
  call = client(roster.url);
  db = createDb(process.env.TABLE_NAME!, roster.dynamodbEndpoint);
  workspaces = await Promise.all(['W1', 'W2'].map(async (title) => (await call('POST', '/api/workspaces/', { token: OWNER_TOKEN, body: { title } })).body.id as number));
});
afterAll(() => roster?.stop());

const put = (item: Record<string, unknown>) => db.doc.send(new PutCommand({ TableName: db.table, Item: item }));

const state = fc.record({
  role: fc.constantFrom(...ROLES.filter((r) => r !== 'OW')),
  deleted: fc.boolean(),
  workspace: fc.constantFrom(0, 1, null),
  wsMember: fc.constantFrom('none', 'same', 'other'),
  direct: fc.boolean(),
  projectRole: fc.constantFrom(undefined, 'AN', 'RE'),
  creator: fc.boolean(),
});

describe('access-check model', () => {
  it('agrees with what the API allows, over 1,000 generated membership states', async () => {
    let agreed = 0;
    await fc.assert(
      fc.asyncProperty(state, async (s) => {
        const user = await addMember(db, 1, s.role);
        if (s.deleted) await softDelete(db, 1, user.userId);
        const ws = s.workspace === null ? null : workspaces[s.workspace]!;
        const projectId = await nextId(db, 'project');
        await put({
          ...keys.project(1, projectId),
          ...(ws ? keys.projectInWorkspace(1, ws, projectId) : {}),
          type: 'project',
          id: projectId,
          title: 'p',
          description: null,
          workspace: ws,
          published: false,
          annotator_instructions: 'a',
          reviewer_instructions: 'r',
          created_by: s.creator ? user.userId : 1,
          created_at: new Date().toISOString(),
        });
        const memberOf = s.wsMember === 'same' ? ws : s.wsMember === 'other' ? workspaces.find((w) => w !== ws)! : null;
        if (memberOf) await put({ ...keys.workspaceMember(1, memberOf, user.userId), ...keys.workspaceMemberByUser(user.userId, 1, memberOf), type: 'workspace_member', workspace: memberOf, user_id: user.userId });
        if (s.direct) await put({ ...keys.projectMember(1, projectId, user.userId), ...keys.projectMemberByUser(user.userId, 1, projectId), type: 'project_member', project: projectId, user_id: user.userId });
        if (s.projectRole) await put({ ...keys.projectRole(1, projectId, user.userId), type: 'project_role', id: 0, project: projectId, user: user.userId, role: s.projectRole, role_source: 'api' });

        const [read, update, checks] = await Promise.all([
          call('GET', `/api/projects/${projectId}/`, { token: user.token }),
          call('PATCH', `/api/projects/${projectId}/`, { token: user.token, body: { title: 'p' } }),
          call('POST', '/api/access/check', {
            token: OWNER_TOKEN,
            body: { checks: ['project.read', 'project.update'].map((action) => ({ user_id: user.userId, action, project_id: projectId })) },
          }),
        ]);
        const [canRead, canUpdate] = checks.body.results as { allowed: boolean; effective_role: string | null }[];
        expect(read.status === 200, JSON.stringify({ s, read: read.status, canRead })).toBe(canRead!.allowed);
        expect(update.status === 200, JSON.stringify({ s, update: update.status, canUpdate })).toBe(canUpdate!.allowed);
        if (read.status === 200) expect(read.body.effective_role).toBe(canRead!.effective_role);
        // Refusals are the right kind: inactive people are not authenticated, others do not see or may not change it.
        if (!canRead!.allowed) expect([401, 404]).toContain(read.status);
        if (canRead!.allowed && !canUpdate!.allowed) expect(update.status).toBe(403);
        agreed++;
      }),
      { numRuns: 1000 },
    );
    expect(agreed).toBe(1000);
  }, 240_000);
});
