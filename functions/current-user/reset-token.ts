import { resetOwnLegacyToken } from '../../lib/org/tokens.js';
import { api, ok } from '../http.js';

export const handler = api({}, async ({ principal, db }) => ok({ token: await resetOwnLegacyToken(db, principal) }, 201));
