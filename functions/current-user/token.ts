import { legacyToken } from '../../lib/org/tokens.js';
import { api, ok } from '../http.js';

export const handler = api({}, async ({ principal, db }) => ok(await legacyToken(db, principal)));
