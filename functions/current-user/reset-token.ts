import { resetOwnLegacyToken } from '../../lib/org/tokens.js';
import { api, ok } from '../http.js';
import { LegacyToken } from '../schemas.js';

export const handler = api({ responses: { 201: LegacyToken } }, async ({ principal, db }) => ok({ token: await resetOwnLegacyToken(db, principal) }, 201));
