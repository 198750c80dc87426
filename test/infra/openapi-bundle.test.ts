/**
 * The function serving /api/schema/ and /api/docs/ as Lambda runs it: bundled by esbuild as
 * RosterFunction bundles it (CommonJS, node22, minified, nothing external), then run by a plain
 * Node process from a folder with no node_modules, so Swagger UI's files must be in the bundle.
 */
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import getAbsoluteFSPath from 'swagger-ui-dist/absolute-path.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
let dir: string;
let answers: Record<string, { statusCode: number; headers?: Record<string, string>; body?: string }>;

const DRIVER = `
const { handler } = require('./index.js');
const event = (routeKey, rawPath, pathParameters) => ({
  version: '2.0', routeKey, rawPath, rawQueryString: '', headers: { host: 'abc.execute-api.eu-west-1.amazonaws.com' }, pathParameters,
  requestContext: { http: { method: 'GET', path: rawPath, sourceIp: '203.0.113.1', userAgent: 'test' }, requestId: 'r1', domainName: 'abc.execute-api.eu-west-1.amazonaws.com', routeKey },
  isBase64Encoded: false,
});
const context = { functionName: 'roster-openapi', awsRequestId: 'r1', getRemainingTimeInMillis: () => 10000 };
(async () => {
  const out = {};
  out.schema = await handler(event('GET /api/schema', '/api/schema/'), context);
  out.docs = await handler(event('GET /api/docs', '/api/docs/'), context);
  out.bundle = await handler(event('GET /api/docs/{asset}', '/api/docs/swagger-ui-bundle.js', { asset: 'swagger-ui-bundle.js' }), context);
  out.css = await handler(event('GET /api/docs/{asset}', '/api/docs/swagger-ui.css', { asset: 'swagger-ui.css' }), context);
  require('fs').writeFileSync('answers.json', JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'roster-openapi-bundle-'));
  await build({
    entryPoints: [join(root, 'functions/openapi/index.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    minify: true,
    outfile: join(dir, 'index.js'),
    logLevel: 'silent',
  });
  writeFileSync(join(dir, 'driver.cjs'), DRIVER);
  // No TABLE_NAME: the function has no table, and must not need one.
  const env = { PATH: process.env.PATH!, POWERTOOLS_SERVICE_NAME: 'roster', AWS_REGION: 'eu-west-1' };
  execFileSync(process.execPath, ['driver.cjs'], { cwd: dir, env, stdio: 'pipe' });
  answers = JSON.parse(readFileSync(join(dir, 'answers.json'), 'utf8'));
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the OpenAPI function as bundled for Lambda', () => {
  it('answers the document, without a table or credentials', () => {
    expect(answers.schema!.statusCode).toBe(200);
    const doc = JSON.parse(answers.schema!.body!);
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.servers).toEqual([{ url: 'https://abc.execute-api.eu-west-1.amazonaws.com' }]);
    expect(Object.keys(doc.paths).length).toBeGreaterThan(50);
  });

  it("serves the reference page and Swagger UI's bundle and stylesheet from the bundle itself", () => {
    expect(answers.docs!.statusCode).toBe(200);
    expect(answers.docs!.body).toContain('/api/docs/swagger-ui-bundle.js');
    const files = getAbsoluteFSPath();
    expect(answers.bundle!.statusCode).toBe(200);
    expect(answers.bundle!.headers!['content-type']).toContain('text/javascript');
    expect(answers.bundle!.body).toBe(readFileSync(join(files, 'swagger-ui-bundle.js'), 'utf8'));
    expect(answers.css!.body).toBe(readFileSync(join(files, 'swagger-ui.css'), 'utf8'));
  });
});
