/**
 * Microsoft's SCIM reference Postman collection (../shared/conformance/, AzureAD/SCIMReferenceCode,
 * MIT), run with newman's library API against the local runtime: every request it runs must pass
 * all of its tests. Left out, and why (README, "SCIM 2.0"): the folder "Get Token" (it targets the
 * reference server's own token endpoint; Roster's SCIM tokens come from POST /api/scim/tokens), and
 * the two requests whose paths are not SCIM's — `GET /users` (lower-case; SCIM's endpoint is
 * /Users, and API Gateway routes are case-sensitive) and `GET /serviceConfiguration` (the standard
 * name is /ServiceProviderConfig, which discovery tests cover). The collection is read from
 * shared/, never copied; without it this file says so in one line and skips.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OWNER_TOKEN, client, startTestRoster } from '../support/roster.js';

const COLLECTION = process.env.ROSTER_SCIM_CONFORMANCE || fileURLToPath(new URL('../../../shared/conformance/entra-scim-reference.postman_collection.json', import.meta.url));
const present = existsSync(COLLECTION);
if (!present) console.log(`skipped: Microsoft's SCIM Postman collection run with newman (no collection at ${COLLECTION})`);

type Item = { name: string; item?: Item[]; request?: { url: { path?: string[] } | string } };
const NON_STANDARD_PATHS = new Set(['users', 'serviceConfiguration']);

/** The collection without the "Get Token" folder and the requests on non-standard paths; what was left out. */
function selection(collection: { item: Item[] }): { collection: { item: Item[] }; left: string[]; requests: number } {
  const left: string[] = [];
  let requests = 0;
  const keep = (items: Item[]): Item[] =>
    items.flatMap((it) => {
      if (it.item) {
        if (it.name === 'Get Token') {
          left.push(`folder ${it.name}`);
          return [];
        }
        return [{ ...it, item: keep(it.item) }];
      }
      const path = typeof it.request?.url === 'object' ? it.request.url.path ?? [] : [];
      if (path.some((p) => NON_STANDARD_PATHS.has(p))) {
        left.push(`${it.name} (/${path.slice(1).join('/')})`);
        return [];
      }
      requests++;
      return [it];
    });
  return { collection: { ...collection, item: keep(collection.item) }, left, requests };
}

describe.skipIf(!present)("Microsoft's SCIM reference collection (newman)", () => {
  let roster: Awaited<ReturnType<typeof startTestRoster>>;
  beforeAll(async () => {
    roster = await startTestRoster();
  });
  afterAll(async () => roster?.stop());

  it('passes every test of every request it runs', async () => {
    const t = await client(roster.url)('POST', '/api/scim/tokens', { token: OWNER_TOKEN });
    const { collection, left, requests } = selection(JSON.parse(readFileSync(COLLECTION, 'utf8')));
    expect(left).toEqual(['folder Get Token', 'Get empty Users (/users)', 'Get ServiceProviderConfig (/serviceConfiguration)']);
    const newman = createRequire(import.meta.url)('newman') as { run: (o: unknown, cb: (err: Error | null, summary: any) => void) => void };
    const port = new URL(roster.url).port;
    const summary = await new Promise<any>((resolve, reject) =>
      newman.run(
        {
          collection,
          reporters: [],
          envVar: [
            { key: 'Protocol', value: 'http' },
            { key: 'Server', value: '127.0.0.1' },
            { key: 'Port', value: `:${port}` },
            { key: 'Api', value: 'scim/v2' },
            { key: 'token', value: t.body.token },
          ],
        },
        (err, s) => (err ? reject(err) : resolve(s)),
      ),
    );
    const failures = (summary.run.failures as { source?: { name?: string }; error: { test?: string; message: string } }[]).map((f) => `${f.source?.name}: ${f.error.test ?? ''} ${f.error.message}`);
    expect(failures).toEqual([]);
    expect(summary.run.executions).toHaveLength(requests);
    expect(summary.run.stats.assertions.total).toBeGreaterThan(100);
  }, 180_000);
});
