import SwaggerParser from '@apidevtools/swagger-parser';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { api, ok } from '../../functions/http.js';
import { documented, openApiDocument } from '../../functions/openapi/document.js';
import { document } from '../../functions/openapi/index.js';
import { modules } from '../../functions/openapi/modules.js';
import { type Route, routes } from '../../functions/routes.js';
import { memberShape, userShape } from '../../functions/shapes.js';
import type { Membership, User } from '../../lib/core/model.js';
import { ROLES } from '../../lib/core/roles.js';
import { documentValidator } from '../support/openapi.js';

const doc = document();
const check = documentValidator(doc);

const user: User = {
  id: 7,
  email: 'ann@example.com',
  username: 'ann',
  first_name: 'Ann',
  last_name: 'Lee',
  phone: '',
  allow_newsletters: null,
  date_joined: '2026-01-01T00:00:00.000Z',
  last_activity: '2026-01-02T00:00:00.000Z',
  active_organization: 1,
};
const membership: Membership = {
  organization: 1,
  user_id: 7,
  role: 'AN',
  role_source: 'manual',
  user_type: 'standard',
  created_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-01T00:00:00.000Z',
  deleted_at: null,
  user: { id: 7, email: user.email, username: user.username, first_name: user.first_name, last_name: user.last_name, last_activity: user.last_activity },
};
const json = (body: unknown, status = 200) => ({ status, contentType: 'application/json', body });

describe("Roster's OpenAPI document", () => {
  it('is a valid OpenAPI 3.1 document whose $refs all resolve', async () => {
    expect(doc.openapi).toBe('3.1.0');
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeTruthy();
  });

  it('has one operation per route of the route table, with unique operation ids and documented successes', () => {
    const ops = Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, op })));
    expect(ops.map((o) => o.key).sort()).toEqual(routes.filter(documented).map((r) => `${r.method} ${r.path}`).sort());
    // The SCIM protocol is described by its own discovery endpoints; its tokens' routes are here.
    expect(ops.some((o) => o.key.includes('/scim/v2'))).toBe(false);
    expect(ops.map((o) => o.key)).toContain('POST /api/scim/tokens');
    expect(new Set(ops.map((o) => o.op.operationId)).size).toBe(ops.length);
    for (const { key, op } of ops) expect(Object.keys(op.responses as object).some((s) => /^2\d\d$/.test(s)), key).toBe(true);
  });

  it("describes requests from the handlers' own zod schemas: path and query parameters, bodies, credentials", () => {
    const list = doc.paths['/api/organizations/{id}/memberships']!.get!;
    const params = list.parameters as { name: string; in: string; required: boolean; schema: { maximum?: number; type?: string } }[];
    expect(params.find((p) => p.name === 'id')).toMatchObject({ in: 'path', required: true });
    expect(params.find((p) => p.name === 'page_size')).toMatchObject({ in: 'query', required: false, schema: { type: 'integer', maximum: 1000 } });
    const patch = doc.paths['/api/organizations/{id}/memberships']!.patch!;
    const body = (patch.requestBody as { content: Record<string, { schema: { required: string[]; properties: Record<string, unknown> } }> }).content['application/json']!.schema;
    expect(body.required).toEqual(expect.arrayContaining(['user_id', 'role']));
    expect(body.properties.role).toMatchObject({ type: 'string', enum: [...ROLES] });
    expect(patch.security).toEqual([{ Token: [] }, { Bearer: [] }]);
    expect(doc.paths['/api/schema/']!.get!.security).toEqual([]);
    expect(doc.paths['/api/token/refresh/']!.post!.security).toEqual([]);
    expect(doc.paths['/api/invite/signup']!.post!.security).toEqual([{}, { Token: [] }, { Bearer: [] }]);
  });

  it('refuses to describe a route whose handler declares no responses, or whose module it cannot read', () => {
    const route: Route = { method: 'GET', path: '/api/x/', handler: 'x/index#get', table: 'read' };
    const bare = api({}, async () => ok({}));
    expect(() => openApiDocument({ 'x/index': { get: bare } }, [route])).toThrow(/declares no responses/);
    expect(() => openApiDocument({}, [route])).toThrow(/not in functions\/openapi\/modules.ts/);
    const described = api({ responses: { 200: z.strictObject({ a: z.number() }) } }, async () => ok({ a: 1 }));
    expect(openApiDocument({ 'x/index': { get: described } }, [route]).paths['/api/x/']!.get!.responses).toHaveProperty('200');
    // Every module of the real route table is there.
    expect(() => openApiDocument(modules, routes.filter((r) => !r.handler.startsWith('openapi/')))).not.toThrow();
  });
});

describe('checking replies against the document', () => {
  it('accepts what the shapes build, and rejects an added field, a missing field or a wrong type', () => {
    const body = userShape(user, [membership]);
    expect(check('GET', '/api/users/7/', json(body))).toEqual([]);
    expect(check('GET', '/api/users/7/', json({ ...body, extra: 1 })).join()).toMatch(/additional properties.*extra/);
    const { email: _e, ...missing } = body;
    expect(check('GET', '/api/users/7/', json(missing)).join()).toMatch(/must have required property 'email'/);
    expect(check('GET', '/api/users/7/', json({ ...body, id: '7' })).join()).toMatch(/\/id must be integer/);
  });

  it("rejects enum values the document does not allow (a member's role_source)", () => {
    const page = { count: 1, next: null, previous: null, results: [memberShape(membership)] };
    expect(check('GET', '/api/organizations/1/memberships?page=1', json(page))).toEqual([]);
    const bad = { ...page, results: [{ ...memberShape(membership), role_source: 'telepathy' }] };
    expect(check('GET', '/api/organizations/1/memberships', json(bad)).join()).toMatch(/role_source must be equal to one of the allowed values/);
  });

  it('rejects an undocumented status, a 500, a body on a 204, and an error not in LSE shape', () => {
    expect(check('DELETE', '/api/users/7/', { status: 204, contentType: null, body: undefined })).toEqual([]);
    expect(check('DELETE', '/api/users/7/', json({ detail: 'x' }, 204)).join()).toMatch(/without a body/);
    expect(check('GET', '/api/users/7/', json({ detail: 'Internal server error.' }, 500)).join()).toMatch(/status not documented/);
    expect(check('GET', '/api/users/7/', json({ detail: 'Not found.' }, 404))).toEqual([]);
    expect(check('GET', '/api/users/7/', json({ error: 'Not found.' }, 404)).join()).toMatch(/required property 'detail'/);
    expect(check('POST', '/api/users/', json({ detail: 'Validation error', validation_errors: { email: ['Invalid email address'] } }, 400))).toEqual([]);
  });

  it('matches paths as API Gateway does (trailing slash optional, exact segments before parameters), and unknown paths as 404/405', () => {
    expect(check('GET', '/api/projects/roles', json([]))).toEqual([]);
    expect(check('GET', '/api/projects/roles/', json([]))).toEqual([]);
    expect(check('GET', '/api/nothing-here', json({ detail: 'Not found.' }, 404))).toEqual([]);
    expect(check('PUT', '/api/users/', json({ detail: 'Method "PUT" not allowed.' }, 405))).toEqual([]);
    expect(check('GET', '/api/nothing-here', json({}, 200)).join()).toMatch(/no operation/);
  });

  it('checks the media type of non-JSON replies', () => {
    expect(check('GET', '/api/projects/3/members/export/', { status: 200, contentType: 'text/csv; charset=utf-8', body: 'id\r\n' })).toEqual([]);
    expect(check('GET', '/api/projects/3/members/export/', json([])).join()).toMatch(/content-type application\/json not documented/);
    expect(check('GET', '/api/docs/', { status: 200, contentType: 'text/html; charset=utf-8', body: '<html>' })).toEqual([]);
  });
});
