/**
 * Validation errors say what to send, over HTTP: `400 {"detail", "validation_errors"}` keyed by the
 * offending field (`checks.1.action` in a batch), an enum's message listing its allowed values,
 * for the access check's single and batch forms and for every other body or query field whose
 * type is a union (enums, literals, nullable enums, arrays of enums).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTIONS } from '../../lib/core/permissions.js';
import { ROLES } from '../../lib/core/roles.js';
import { OWNER_TOKEN, client, startTestRoster } from '../support/roster.js';

let roster: Awaited<ReturnType<typeof startTestRoster>>;
let call: ReturnType<typeof client>;

beforeAll(async () => {
  roster = await startTestRoster();
  call = client(roster.url);
});
afterAll(() => roster?.stop());

const oneOf = (values: readonly string[]) => `Expected one of: ${values.join(', ')}.`;
const refused = async (method: string, path: string, body?: unknown) => {
  const r = await call(method, path, { token: OWNER_TOKEN, body });
  expect(r.status, JSON.stringify(r.body)).toBe(400);
  expect(typeof r.body.detail).toBe('string');
  return r.body.validation_errors as Record<string, string[]>;
};
const check = { user_id: 1, action: 'project.read', project_id: 1 };

describe('POST /api/access/check', () => {
  it('names `action` and lists the allowed actions for an unknown action (single form)', async () => {
    expect(await refused('POST', '/api/access/check', { ...check, action: 'project.fly' })).toEqual({ action: [oneOf(ACTIONS)] });
  });

  it('names `checks.<i>.action` and lists the allowed actions for an unknown action (batch form)', async () => {
    expect(await refused('POST', '/api/access/check', { checks: [check, { ...check, action: 'project.fly' }] })).toEqual({ 'checks.1.action': [oneOf(ACTIONS)] });
  });

  it('names each missing or mistyped field of the form that was sent', async () => {
    expect(await refused('POST', '/api/access/check', { action: 'project.read', project_id: 1 })).toEqual({ user_id: ['This field is required.'] });
    expect(await refused('POST', '/api/access/check', { checks: [check, { ...check, user_id: 'me' }] })).toEqual({ 'checks.1.user_id': ['Invalid input: expected number, received string'] });
    expect(Object.keys(await refused('POST', '/api/access/check', { checks: 'all' }))).toEqual(['checks']);
  });

  it('still answers a valid check in either form', async () => {
    const one = await call('POST', '/api/access/check', { token: OWNER_TOKEN, body: { user_id: 1, action: 'organization.read', workspace_id: 1 } });
    expect(one.status, JSON.stringify(one.body)).toBeLessThan(400);
    expect(one.body.results).toBeUndefined();
    const batch = await call('POST', '/api/access/check', { token: OWNER_TOKEN, body: { checks: [{ user_id: 1, action: 'organization.read', workspace_id: 1 }, check] } });
    expect(batch.status, JSON.stringify(batch.body)).toBeLessThan(400);
    expect(batch.body.results).toHaveLength(2);
  });
});

describe('other bodies and queries with union-typed fields', () => {
  it.each([
    { label: 'PATCH memberships role (enum)', method: 'PATCH', path: '/api/organizations/1/memberships', body: { user_id: 1, role: 'XX' }, field: 'role', message: oneOf(ROLES) },
    { label: 'PATCH memberships user_type (literal)', method: 'PATCH', path: '/api/organizations/1/memberships', body: { user_id: 1, role: 'AD', user_type: 'flex' }, field: 'user_type', message: 'Expected standard.' },
    { label: 'PATCH set-default-role default_role (enum)', method: 'PATCH', path: '/api/organizations/1/set-default-role', body: { default_role: 'XX' }, field: 'default_role', message: oneOf(ROLES) },
    { label: 'POST invite role (nullable enum)', method: 'POST', path: '/api/invite/send-email', body: { emails: ['a@example.com'], role: 'XX' }, field: 'role', message: oneOf(ROLES) },
    { label: 'POST invite user_type (literal)', method: 'POST', path: '/api/invite/send-email', body: { emails: ['a@example.com'], user_type: 'flex' }, field: 'user_type', message: 'Expected standard.' },
    { label: 'POST permissions roles (array of enums)', method: 'POST', path: '/api/organizations/1/permissions', body: { permission: 'project.read', roles: ['AD', 'XX'] }, field: 'roles.1', message: oneOf(ROLES) },
    { label: 'PUT permission roles (array of enums)', method: 'PUT', path: '/api/organizations/1/permissions/project.read', body: { roles: ['XX'] }, field: 'roles.0', message: oneOf(ROLES) },
    { label: 'POST projects/roles role (enum)', method: 'POST', path: '/api/projects/roles/', body: { project: 1, user: 1, role: 'XX' }, field: 'role', message: oneOf(ROLES) },
    { label: 'POST activity export format (enum)', method: 'POST', path: '/api/activity-logs/export', body: { format: 'xml' }, field: 'format', message: oneOf(['ndjson', 'csv']) },
    { label: 'GET activity-logs ordering (enum query)', method: 'GET', path: '/api/activity-logs/?ordering=size', field: 'ordering', message: oneOf(['datetime', '-datetime', 'id', '-id']) },
    { label: 'GET activity-logs method (enum query)', method: 'GET', path: '/api/activity-logs/?method=TRACE', field: 'method', message: oneOf(['DELETE', 'GET', 'PATCH', 'POST', 'PUT', 'all']) },
    { label: 'GET membership history user_type (enum query)', method: 'GET', path: '/api/fsm/organizations/1/membership-history/?user_type=robot', field: 'user_type', message: oneOf(['flex', 'service', 'standard', 'viewonly']) },
    { label: 'GET memberships role (csv of enums)', method: 'GET', path: '/api/organizations/1/memberships?role=AD,ZZ', field: 'role.1', message: oneOf(ROLES) },
  ])('$label: names the field and its allowed values', async ({ method, path, body, field, message }) => {
    const errors = await refused(method, path, body);
    expect(errors[field], JSON.stringify(errors)).toEqual([message]);
  });
});
