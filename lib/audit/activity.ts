/**
 * What a table change means for the activity log (SPEC §6): the pure translation of one stream
 * record (old and new image) into one entry, or into none when the change is not a state change of
 * anything a person manages (lookups, counters, job progress, copies of user fields on memberships,
 * a stamp written before a delete).
 *
 * The kinds are data: which items are resources, what identifies them, which of their fields are
 * copies or secrets, and how a change of a field is named.
 */
import { type ChangeContext, SYSTEM, type Source, type Stamp } from '../core/context.js';
import { type HistoryStream, idOf } from '../core/table.js';

type Item = Record<string, unknown>;

export interface Change {
  eventId: string;
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  oldImage?: Item;
  newImage?: Item;
  /** Seconds since the epoch, as the stream gives it (used when no stamp says when). */
  approximateTime?: number;
  /** True when DynamoDB's TTL removed the item. */
  expired?: boolean;
}

/** An activity entry before it is stored (the consumer adds the numeric id and the keys). */
export interface Entry {
  event_id: string;
  at: string;
  organization: number;
  action: string;
  resource_type: string;
  resource_id: number | null;
  workspace: number | null;
  project: number | null;
  /** The user the change is about (a member, a token's owner), when there is one. */
  subject_user: number | null;
  actor_id: number | null;
  actor_email: string | null;
  source: Source;
  request_id: string | null;
  ip: string | null;
  user_agent: string | null;
  method: string | null;
  path: string | null;
  status: number | null;
  before: Item | null;
  after: Item | null;
  /** The membership or role history this change belongs to (only changes of its state). */
  history: { stream: HistoryStream; scope: number; state: string; previous_state: string | null; role_source: string | null } | null;
}

export const REDACTED = '[redacted]';

/** Attributes that are never content: keys, index keys, stamps, the item type, TTL. */
const STRUCTURAL = new Set(['PK', 'SK', 'GSI1PK', 'GSI1SK', 'GSI2PK', 'GSI2SK', 'GSI3PK', 'GSI3SK', 'GSI4PK', 'GSI4SK', '_ctx', 'type', 'expiresAt']);

interface Kind {
  resource: string;
  /** The resource's id (null when it has no public one). */
  id: (i: Item, key: { PK: string; SK: string }) => number | null;
  /** Copies of other records, derived counters and timestamps that are no change of their own. */
  ignore?: string[];
  /** Fields whose values never leave the table; a change to one shows as `[redacted]`. */
  secret?: string[];
  workspace?: (i: Item) => number | null;
  project?: (i: Item) => number | null;
  subject?: (i: Item, key: { PK: string; SK: string }) => number | null;
  history?: (i: Item) => { stream: HistoryStream; scope: number };
  /** The state the history records (a role, MEMBER, DELETED); a removed item's state is REMOVED. */
  state?: (i: Item) => string;
  /** The action's name for a modification, from the changed fields and both images. */
  modified?: (changed: Set<string>, before: Item, after: Item) => string;
  /** The action's name for a removal (default `deleted`). */
  removed?: (ctx: ChangeContext, expired: boolean) => string;
  /** The action's name for an insertion (default `created`). */
  created?: string;
}

const num = (v: unknown) => (typeof v === 'number' ? v : null);

/** Kinds by item type; items of other types (lookups, counters, jobs, the log itself) are no resources. */
const KINDS: Record<string, Kind> = {
  user: {
    resource: 'user',
    id: (i) => num(i.id),
    ignore: ['last_activity'],
    subject: (i) => num(i.id),
  },
  membership: {
    resource: 'membership',
    id: (i) => num(i.user_id),
    ignore: ['user', 'search', 'updated_at'],
    secret: ['tokenHash'],
    subject: (i) => num(i.user_id),
    history: (i) => ({ stream: 'org_membership', scope: Number(i.organization) }),
    state: (i) => (i.deleted_at ? 'DELETED' : String(i.role)),
    modified: (c, b, a) =>
      c.has('deleted_at') ? (a.deleted_at ? 'deleted' : 'restored')
      : c.has('role') ? (a.role === 'DI' ? 'deactivated' : b.role === 'DI' ? 'activated' : 'role_changed')
      : c.has('tokenHash') ? 'token_reset'
      : 'updated',
  },
  organization: {
    resource: 'organization',
    id: (i) => num(i.id),
    secret: ['token'],
    modified: (c) =>
      c.has('token') ? 'invite_link_reset'
      : c.has('permission_overrides') ? 'permissions_changed'
      : c.has('token_policy') ? 'token_policy_changed'
      : c.has('default_role') ? 'default_role_changed'
      : 'updated',
  },
  workspace: {
    resource: 'workspace',
    id: (i) => num(i.id),
    ignore: ['projects_count'],
    workspace: (i) => num(i.id),
  },
  workspace_member: {
    resource: 'workspace_membership',
    id: (i) => num(i.user_id),
    created: 'added',
    removed: () => 'removed',
    workspace: (i) => num(i.workspace),
    subject: (i) => num(i.user_id),
    history: (i) => ({ stream: 'ws_membership', scope: Number(i.workspace) }),
    state: () => 'MEMBER',
  },
  project: {
    resource: 'project',
    id: (i) => num(i.id),
    workspace: (i) => num(i.workspace),
    project: (i) => num(i.id),
  },
  project_member: {
    resource: 'project_membership',
    id: (i) => num(i.user_id),
    created: 'added',
    removed: () => 'removed',
    project: (i) => num(i.project),
    subject: (i) => num(i.user_id),
    history: (i) => ({ stream: 'project_membership', scope: Number(i.project) }),
    state: () => 'MEMBER',
  },
  project_role: {
    resource: 'project_role',
    id: (i) => num(i.id),
    created: 'assigned',
    modified: () => 'changed',
    removed: () => 'removed',
    project: (i) => num(i.project),
    subject: (i) => num(i.user),
    history: (i) => ({ stream: 'project_role', scope: Number(i.project) }),
    state: (i) => String(i.role),
  },
  invite: {
    resource: 'invite',
    id: () => null,
    secret: ['tokenHash'],
    created: 'sent',
    modified: () => 'resent',
    removed: (ctx, expired) => (expired ? 'expired' : ctx.source === 'invite' ? 'accepted' : 'revoked'),
  },
  pat_listing: {
    resource: 'api_token',
    id: () => null,
    // The display form shows part of the token; the log needs none of it.
    secret: ['display'],
    subject: (_i, key) => idOf(key.SK.split('#').slice(0, 2).join('#')),
    removed: (_ctx, expired) => (expired ? 'expired' : 'revoked'),
  },
  saml_settings: {
    resource: 'saml_settings',
    id: () => null,
    // The XML shows as its hash (metadata_sha256); the certificates and the entity id follow from it.
    ignore: ['metadata_xml', 'certificates', 'entity_id', 'version', 'updated_at'],
    modified: (c, b, a) =>
      !(a.domains as unknown[] | undefined)?.length && !a.metadata_url && !a.metadata_sha256 && (b.enabled || (b.domains as unknown[] | undefined)?.length) ? 'reset'
      : c.has('enabled') ? (a.enabled ? 'enabled' : 'disabled')
      : 'updated',
  },
  saml_certificate_warning: {
    resource: 'saml_certificate',
    id: () => null,
    created: 'expiring',
    removed: () => '',
  },
  scim_settings: {
    resource: 'scim_settings',
    id: () => null,
    // The resolved workspace ids follow from the titles that are logged.
    ignore: ['workspace_ids', 'updated_at'],
  },
  scim_group: {
    resource: 'scim_group',
    id: () => null,
    // Member changes bump these; the member items are logged themselves.
    ignore: ['lastModified', 'version'],
  },
  scim_user: {
    resource: 'scim_user',
    id: (i) => num(i.user_id),
    // The version and time move with every write; the lower-case userName copies userName.
    ignore: ['lastModified', 'version', 'userNameLower'],
    subject: (i) => num(i.user_id),
  },
  scim_token_listing: {
    resource: 'scim_token',
    id: () => null,
    // The hash finds the token and the display shows part of it; the log needs neither.
    secret: ['hash', 'display'],
    removed: () => 'revoked',
  },
  scim_group_member: {
    resource: 'scim_group_membership',
    id: (i) => num(i.user_id),
    created: 'added',
    removed: () => 'removed',
    subject: (i) => num(i.user_id),
  },
  review_definition: {
    resource: 'access_review_definition',
    id: (i) => num(i.id),
    // Moved on by each start (and the scheduler's): the instance entries say so.
    ignore: ['last_instance', 'updated_at'],
  },
  review_instance: {
    resource: 'access_review',
    id: (i) => num(i.id),
    created: 'started',
    // The snapshot's progress is the system's business; its start and status changes are the auditable acts.
    ignore: ['phase', 'cursor', 'admin_ids', 'manager_ids', 'manager_scopes', 'snapshot'],
    modified: (c, _b, a) => (c.has('status') ? String(a.status) : 'updated'),
  },
  export: {
    resource: 'activity_log',
    id: () => null,
    created: 'export_started',
    // Progress of the export is the system's business; its start is the auditable act.
    modified: () => '',
    removed: () => '',
  },
};

/** The organization a tenant item belongs to (`ORG#…` partition), if it is one. */
const orgOfKey = (pk: string) => (pk.startsWith('ORG#') ? Number(pk.slice(4)) : null);

function sanitize(kind: Kind, item: Item): Item {
  const out: Item = {};
  const ignore = new Set(kind.ignore);
  for (const [k, v] of Object.entries(item)) {
    if (STRUCTURAL.has(k) || ignore.has(k)) continue;
    out[k] = kind.secret?.includes(k) ? REDACTED : v;
  }
  return out;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** The entry a change makes, or null when it is no state change of a resource. */
export function entryOf(change: Change): Entry | null {
  const image = change.newImage ?? change.oldImage;
  if (!image || typeof image.PK !== 'string' || typeof image.SK !== 'string') return null;
  const key = { PK: image.PK, SK: image.SK };
  // Lookups keyed by a token hash share types with real records; they are never resources.
  if (key.PK.startsWith('TOKEN#')) return null;
  if (image.type === 'security_event') return securityEntry(change);
  const kind = KINDS[String(image.type)];
  if (!kind) return null;

  let verb: string;
  let before: Item | null = null;
  let after: Item | null = null;
  const stampImage = change.eventName === 'REMOVE' ? change.oldImage : change.newImage;
  const stamp = (change.expired ? undefined : (stampImage?._ctx as Stamp | undefined)) ?? undefined;
  const ctx: ChangeContext = stamp ?? SYSTEM;
  if (change.eventName === 'INSERT') {
    verb = kind.created ?? 'created';
    after = sanitize(kind, change.newImage!);
  } else if (change.eventName === 'REMOVE') {
    verb = kind.removed ? kind.removed(ctx, !!change.expired) : 'deleted';
    before = sanitize(kind, change.oldImage!);
  } else {
    const b = sanitize(kind, change.oldImage ?? {});
    const a = sanitize(kind, change.newImage ?? {});
    const changed = new Set([...Object.keys(b), ...Object.keys(a)].filter((k) => !same(b[k], a[k])));
    // Secrets redact to the same text: compare the raw values for them.
    for (const k of kind.secret ?? []) if (!same(change.oldImage?.[k], change.newImage?.[k])) changed.add(k);
    if (!changed.size) return null;
    verb = kind.modified ? kind.modified(changed, change.oldImage ?? {}, change.newImage ?? {}) : 'updated';
    before = Object.fromEntries([...changed].map((k) => [k, b[k] ?? null]));
    after = Object.fromEntries([...changed].map((k) => [k, a[k] ?? null]));
  }
  if (!verb) return null;

  const organization = orgOfKey(key.PK) ?? ctx.organization ?? num(image.active_organization) ?? 0;
  const at = stamp?.at ?? new Date((change.approximateTime ?? 0) * 1000).toISOString();
  return {
    event_id: change.eventId,
    at,
    organization,
    action: `${kind.resource}.${verb}`,
    resource_type: kind.resource,
    resource_id: kind.id(image, key),
    workspace: kind.workspace?.(image) ?? null,
    project: kind.project?.(image) ?? null,
    subject_user: kind.subject?.(image, key) ?? null,
    actor_id: ctx.actor_id ?? null,
    actor_email: ctx.actor_email ?? null,
    source: ctx.source,
    request_id: ctx.request_id ?? null,
    ip: ctx.ip ?? null,
    user_agent: ctx.user_agent ?? null,
    method: ctx.method ?? null,
    path: ctx.path ?? null,
    status: ctx.status ?? null,
    before,
    after,
    history: historyOf(kind, change, image),
  };
}

function historyOf(kind: Kind, change: Change, image: Item): Entry['history'] {
  if (!kind.history || !kind.state) return null;
  const state = change.newImage ? kind.state(change.newImage) : 'REMOVED';
  const previous = change.oldImage ? kind.state(change.oldImage) : null;
  if (state === previous) return null;
  const roleSource = (change.newImage ?? change.oldImage)?.role_source;
  return { ...kind.history(image), state, previous_state: previous, role_source: typeof roleSource === 'string' ? roleSource : null };
}

/**
 * Security events (sign-ins, refused credentials, refused requests) are counted per key and minute
 * in one item (see security.ts); the first few of each minute become entries, the next one an entry
 * saying the rest of that minute is not recorded, and the others nothing: a flood cannot fill the log.
 */
export const SECURITY_EVENTS_PER_MINUTE = 10;

export interface SecurityEvent {
  action: string;
  organization: number | null;
  actor_id?: number | null;
  actor_email?: string | null;
  ip?: string | null;
  user_agent?: string | null;
  method?: string | null;
  path?: string | null;
  status?: number | null;
  request_id?: string | null;
  detail?: string | null;
}

function securityEntry(change: Change): Entry | null {
  const image = change.newImage;
  if (!image || change.eventName === 'REMOVE') return null;
  const hits = Number(image.hits);
  if (!(hits <= SECURITY_EVENTS_PER_MINUTE + 1)) return null;
  const e = image.event as SecurityEvent;
  const limited = hits === SECURITY_EVENTS_PER_MINUTE + 1;
  return {
    event_id: change.eventId,
    at: String(image.at),
    organization: e.organization ?? 0,
    action: limited ? `${e.action}_rate_limited` : e.action,
    resource_type: 'security',
    resource_id: null,
    workspace: null,
    project: null,
    subject_user: e.actor_id ?? null,
    actor_id: e.actor_id ?? null,
    actor_email: e.actor_email ?? null,
    source: 'api',
    request_id: e.request_id ?? null,
    ip: e.ip ?? null,
    user_agent: e.user_agent ?? null,
    method: e.method ?? null,
    path: e.path ?? null,
    status: e.status ?? null,
    before: null,
    after: limited ? { detail: `More than ${SECURITY_EVENTS_PER_MINUTE} in a minute; the rest of this minute is not recorded.` } : e.detail ? { detail: e.detail } : null,
    history: null,
  };
}
