import SwaggerParser from '@apidevtools/swagger-parser';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import getAbsoluteFSPath from 'swagger-ui-dist/absolute-path.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documented } from '../../functions/openapi/document.js';
import { routes } from '../../functions/routes.js';
import { client, startTestRoster } from '../support/roster.js';

let roster: Awaited<ReturnType<typeof startTestRoster>>;
let call: ReturnType<typeof client>;

beforeAll(async () => {
  roster = await startTestRoster();
  call = client(roster.url);
});
afterAll(() => roster?.stop());

describe('GET /api/schema/', () => {
  it('answers the OpenAPI 3.1 document without credentials, valid, with every route and this server', async () => {
    const r = await call('GET', '/api/schema/');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('application/json');
    expect(r.body.openapi).toBe('3.1.0');
    await expect(SwaggerParser.validate(structuredClone(r.body))).resolves.toBeTruthy();
    const ops = Object.entries(r.body.paths as Record<string, object>).flatMap(([p, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${p}`));
    // Every route but the SCIM protocol's (/scim/v2/), which its own discovery endpoints describe.
    expect(ops.sort()).toEqual(routes.filter(documented).map((route) => `${route.method} ${route.path}`).sort());
    expect(r.body.servers).toEqual([{ url: roster.url }]);
  });

  it('answers the same with a bad credential (it takes none)', async () => {
    const r = await call('GET', '/api/schema/', { token: 'not-a-token' });
    expect(r.status).toBe(200);
    expect(r.body.openapi).toBe('3.1.0');
  });
});

describe('GET /api/docs/', () => {
  it('serves a reference page that loads only what Roster serves itself (no CDN)', async () => {
    const r = await call('GET', '/api/docs/');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/html');
    const page = r.body as string;
    const refs = [...page.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.sort()).toEqual(['/api/docs/init.js', '/api/docs/swagger-ui-bundle.js', '/api/docs/swagger-ui.css']);
    expect(r.headers.get('content-security-policy')).toContain("script-src 'self'");
    // Each file the page loads is there, with its type; the bundle and stylesheet are swagger-ui-dist's own.
    const dir = getAbsoluteFSPath();
    for (const [ref, type] of [['/api/docs/swagger-ui-bundle.js', 'text/javascript'], ['/api/docs/swagger-ui.css', 'text/css'], ['/api/docs/init.js', 'text/javascript']] as const) {
      const a = await call('GET', ref);
      expect(a.status, ref).toBe(200);
      expect(a.headers.get('content-type'), ref).toContain(type);
      if (!ref.endsWith('init.js')) expect(a.body, ref).toBe(readFileSync(join(dir, ref.slice('/api/docs/'.length)), 'utf8'));
    }
    // The start script points Swagger UI at the document, and asks no public validator about it.
    const init = (await call('GET', '/api/docs/init.js')).body as string;
    expect(init).toContain("url: '/api/schema/'");
    expect(init).toContain('validatorUrl: null');
  });

  it('answers 404 in LSE shape for a file it does not serve', async () => {
    for (const name of ['index.html', '..%2Fpackage.json', 'swagger-ui-bundle.js.map']) {
      const r = await call('GET', `/api/docs/${name}`);
      expect(r.status, name).toBe(404);
      expect(r.body).toEqual({ detail: 'Not found.' });
    }
  });
});
