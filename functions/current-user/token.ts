import { z } from 'zod';
import { legacyToken } from '../../lib/org/tokens.js';
import { api, ok } from '../http.js';
import { Detail, LegacyToken } from '../schemas.js';

export const handler = api({ responses: { 200: z.union([LegacyToken, Detail]) } }, async ({ principal, db }) => ok(await legacyToken(db, principal)));
