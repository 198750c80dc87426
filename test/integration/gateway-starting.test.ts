import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createGateway } from '../../infra/local/gateway.js';
import { fallback, routes } from '../../functions/routes.js';

describe('local API gateway while Roster starts', () => {
  it('answers 503 with {detail} and Retry-After until the runtime is ready, then serves routes', async () => {
    let ready = false;
    const loaded: string[] = [];
    const server = createGateway({
      routes,
      fallback: fallback.handler,
      ready: () => ready,
      load: async (module) => {
        loaded.push(module);
        return async () => ({ statusCode: 200, body: '{}' });
      },
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/current-user/whoami`;
    try {
      const starting = await fetch(url);
      expect(starting.status).toBe(503);
      expect(starting.headers.get('retry-after')).toBe('1');
      expect(await starting.json()).toEqual({ detail: expect.stringContaining('starting') });
      expect(loaded).toEqual([]);
      ready = true;
      const served = await fetch(url);
      expect(served.status).not.toBe(503);
      expect(loaded.length).toBeGreaterThan(0);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
