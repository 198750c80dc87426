import { expect } from 'vitest';

export const ERROR_URN = 'urn:ietf:params:scim:api:messages:2.0:Error';
export const PATCH_URN = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const USER_URN = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE_URN = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

export interface ScimReply<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/**
 * A SCIM client as an IdP is one: `Authorization: Bearer <token>`, bodies as application/scim+json
 * (or `contentType`). Every reply is checked for what RFC 7644 and the IdPs want of any reply: never a
 * 5xx; a body in application/scim+json; an error in the Error shape, its status a string equal to
 * the HTTP status, with a detail.
 */
export function scimClient(base: string, token: string) {
  return async function call<T = any>(method: string, path: string, opts: { body?: unknown; raw?: string; headers?: Record<string, string>; token?: string | null; contentType?: string } = {}): Promise<ScimReply<T>> {
    const headers: Record<string, string> = { accept: 'application/scim+json', ...opts.headers };
    const credential = opts.token === undefined ? token : opts.token;
    if (credential !== null) headers.authorization ??= `Bearer ${credential}`;
    let payload = opts.raw;
    if (opts.body !== undefined) payload = JSON.stringify(opts.body);
    if (payload !== undefined) headers['content-type'] ??= opts.contentType ?? 'application/scim+json';
    const res = await fetch(`${base}/scim/v2${path}`, { method, headers, body: payload });
    const text = await res.text();
    expect(res.status, `${method} ${path} answered ${res.status}: ${text.slice(0, 500)}`).toBeLessThan(500);
    const body = text ? JSON.parse(text) : undefined;
    if (text) expect(res.headers.get('content-type'), `${method} ${path}`).toMatch(/^application\/scim\+json/);
    if (res.status >= 400) {
      expect(body, `${method} ${path}: an RFC 7644 error body`).toMatchObject({ schemas: [ERROR_URN], status: String(res.status) });
      expect(typeof body.detail === 'string' && body.detail.length > 0, 'the error has a detail').toBe(true);
    }
    return { status: res.status, body, headers: res.headers };
  };
}

export const patchOp = (...ops: unknown[]) => ({ schemas: [PATCH_URN], Operations: ops });

export const oktaUser = (userName: string, extra: Record<string, unknown> = {}) => ({
  schemas: [USER_URN],
  userName,
  name: { givenName: 'Given', familyName: 'Family' },
  emails: [{ primary: true, value: userName, type: 'work' }],
  displayName: 'Given Family',
  locale: 'en-US',
  externalId: `00u${Math.random().toString(36).slice(2, 12)}`,
  groups: [],
  password: 'Sup3rSecret!',
  active: true,
  ...extra,
});
