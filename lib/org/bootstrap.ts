import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { type Db, cancellationReasons, transactWrite } from '../core/db.js';
import type { Organization } from '../core/model.js';
import { keys } from '../core/table.js';
import { membershipItem, newUserItem, orgInviteLookup, userPuts } from '../core/items.js';
import { hashToken, newToken, now } from '../core/util.js';
import { locateLegacyToken, newLegacyToken } from '../identity/legacy-tokens.js';

export interface BootstrapResult {
  created: boolean;
  /** The Owner's legacy token, present only when it was created now. */
  token?: string;
}

/**
 * On an empty table, create organization 1 and its Owner (user 1) with a legacy API token, in one
 * transaction guarded by the organization counter: concurrent or repeated starts create it once.
 * The token is one Roster makes (it names the membership), or the string the operator chose, which
 * is found through a lookup item.
 */
export async function bootstrap(db: Db, opts: { email: string; token?: string; title?: string }): Promise<BootstrapResult> {
  const existing = await db.doc.send(new GetCommand({ TableName: db.table, Key: keys.counter('organization'), ConsistentRead: true }));
  if (existing.Item) return { created: false };

  const at = now();
  const token = opts.token ?? newLegacyToken(1, 1);
  const tokenHash = hashToken(token);
  const org: Organization = {
    id: 1,
    title: opts.title ?? 'Roster',
    created_at: at,
    created_by: 1,
    contact_info: opts.email.toLowerCase(),
    default_role: 'AN',
    token: newToken(),
  };
  const owner = newUserItem(1, { email: opts.email }, org.id, at);
  const create = (key: Record<string, string>, item: Record<string, unknown>) => ({
    Put: { TableName: db.table, Item: { ...key, ...item }, ConditionExpression: 'attribute_not_exists(PK)' },
  });
  try {
    await transactWrite(db, [
      create(keys.counter('organization'), { value: 1 }),
      create(keys.counter('user'), { value: 1 }),
      create(keys.organization(org.id), { type: 'organization', ...org }),
      ...userPuts(db.table, owner),
      create({}, { ...membershipItem(org.id, owner, 'OW', 'manual', at), tokenHash }),
      ...(locateLegacyToken(token) ? [] : [create(keys.token(tokenHash), { type: 'legacy_token', userId: owner.id, orgId: org.id, created_at: at })]),
      create({}, orgInviteLookup(org.id, org.token)),
    ]);
  } catch (err) {
    if (cancellationReasons(err)?.[0]?.code === 'ConditionalCheckFailed') return { created: false };
    throw err;
  }
  return { created: true, token };
}
