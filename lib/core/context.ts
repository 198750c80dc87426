/**
 * The change context: who is changing the table, from where, and through what. The HTTP layer (and
 * SCIM, SAML, the scheduler, the stream consumer) runs its work inside `withChangeContext`; the
 * database client stamps every item it writes with it (`_ctx`, see stamp.ts), so the stream consumer
 * can name the actor of an insert, an update and a delete alike.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export const SOURCES = ['api', 'scim', 'saml', 'invite', 'system', 'access_review'] as const;
export type Source = (typeof SOURCES)[number];

export interface ChangeContext {
  source: Source;
  /** The acting user, when a person or a service account acts. */
  actor_id?: number;
  actor_email?: string;
  /** The organization the actor acts in. */
  organization?: number;
  request_id?: string;
  ip?: string;
  user_agent?: string;
  method?: string;
  path?: string;
  /** The status the request answers with when its writes commit (the route's success status). */
  status?: number;
}

/** What is stamped on an item: the context plus the time and a unique id of this write. */
export interface Stamp extends ChangeContext {
  at: string;
  /** Unique per write: lets a delete check that the stamp it reads back is its own. */
  rid: string;
}

const storage = new AsyncLocalStorage<ChangeContext>();

export const SYSTEM: ChangeContext = { source: 'system' };

export const withChangeContext = <T>(ctx: ChangeContext, fn: () => T): T => storage.run(ctx, fn);

/** The context of the work in progress; writes outside any are the system's. */
export const changeContext = (): ChangeContext => storage.getStore() ?? SYSTEM;

/** Put the fields of a stamp that name a context back into one (a job carries on its creator's context). */
export function contextOf(stamp: Partial<Stamp> | undefined): ChangeContext {
  if (!stamp || typeof stamp !== 'object' || !stamp.source) return SYSTEM;
  const { at: _at, rid: _rid, ...ctx } = stamp;
  return ctx as ChangeContext;
}
