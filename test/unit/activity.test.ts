import { describe, expect, it } from 'vitest';
import { type Change, REDACTED, SECURITY_EVENTS_PER_MINUTE, type SecurityEvent, entryOf } from '../../lib/audit/activity.js';
import type { Stamp } from '../../lib/core/context.js';
import { membershipItem, newUserItem, orgInviteLookup, projectMemberItem, workspaceMemberItem } from '../../lib/core/items.js';
import type { Role } from '../../lib/core/roles.js';
import { keys } from '../../lib/core/table.js';
import { hashToken } from '../../lib/core/util.js';

/**
 * entryOf (SPEC §6): one stream change (old and new image, as the consumer unmarshalls them) into
 * one activity entry or none. Images are built with the same builders the services write with, and
 * stamped the way lib/core/stamp.ts stamps them.
 */

type Item = Record<string, unknown>;

const CREATED = '2025-03-01T09:00:00.000Z';
const LATER = '2025-03-02T10:30:00.000Z';

/** The stamp a request of `actor` in organization 1 leaves on what it writes. */
const stamp = (over: Partial<Stamp> = {}): Stamp => ({
  source: 'api',
  actor_id: 7,
  actor_email: 'admin@example.com',
  organization: 1,
  request_id: 'req-0001',
  ip: '203.0.113.9',
  user_agent: 'roster-tests/1.0',
  method: 'PATCH',
  path: '/api/organizations/1/memberships/42',
  at: LATER,
  rid: 'rid-0001',
  ...over,
});
const creator = stamp({ actor_id: 2, actor_email: 'creator@example.com', request_id: 'req-creator', method: 'POST', at: CREATED, rid: 'rid-creator' });
const deleter = stamp({ actor_id: 9, actor_email: 'deleter@example.com', request_id: 'req-deleter', method: 'DELETE', rid: 'rid-deleter' });

const alice = newUserItem(42, { email: 'Alice@Example.com', first_name: 'Alice', last_name: 'Liddell' }, 1, CREATED);
const member = (role: Role, ctx: Stamp = creator, extra: Item = {}): Item => ({ ...membershipItem(1, alice, role, 'manual', CREATED), _ctx: ctx, ...extra });
const userImage = (extra: Item = {}): Item => ({ ...keys.user(alice.id), type: 'user', ...alice, _ctx: creator, ...extra });
const organization = (extra: Item = {}): Item => ({
  ...keys.organization(1),
  type: 'organization',
  id: 1,
  title: 'Acme',
  created_at: CREATED,
  created_by: 1,
  contact_info: 'owner@example.com',
  default_role: 'AN',
  token: 'org-link-token-aaaa',
  _ctx: creator,
  ...extra,
});

let n = 0;
const insert = (newImage: Item): Change => ({ eventId: `ev-${++n}`, eventName: 'INSERT', newImage, approximateTime: 1_740_000_000 });
const modify = (oldImage: Item, newImage: Item): Change => ({ eventId: `ev-${++n}`, eventName: 'MODIFY', oldImage, newImage, approximateTime: 1_740_000_000 });
const remove = (oldImage: Item, expired = false): Change => ({ eventId: `ev-${++n}`, eventName: 'REMOVE', oldImage, approximateTime: 1_740_000_000, ...(expired ? { expired } : {}) });

describe('entryOf: organization memberships', () => {
  it('records the creation of a membership with its fields, its organization, the stamp and the start of its history', () => {
    const tokenHash = hashToken('legacy-token-of-alice');
    const change = insert(member('AN', creator, { tokenHash }));
    const e = entryOf(change)!;
    expect(e).toMatchObject({
      event_id: change.eventId,
      at: CREATED,
      organization: 1,
      action: 'membership.created',
      resource_type: 'membership',
      resource_id: 42,
      subject_user: 42,
      workspace: null,
      project: null,
      actor_id: 2,
      actor_email: 'creator@example.com',
      source: 'api',
      request_id: 'req-creator',
      ip: '203.0.113.9',
      user_agent: 'roster-tests/1.0',
      method: 'POST',
      path: '/api/organizations/1/memberships/42',
      before: null,
      history: { stream: 'org_membership', scope: 1, state: 'AN', previous_state: null, role_source: 'manual' },
    });
    expect(e.after).toEqual({
      organization: 1,
      user_id: 42,
      role: 'AN',
      role_source: 'manual',
      user_type: 'standard',
      created_at: CREATED,
      deleted_at: null,
      tokenHash: REDACTED,
    });
    // The copies of the user (`user`, `search`), keys, index keys, the stamp and the type are no content.
    for (const k of ['user', 'search', 'updated_at', 'PK', 'SK', 'GSI1PK', 'GSI1SK', '_ctx', 'type']) expect(e.after).not.toHaveProperty(k);
    expect(JSON.stringify(e)).not.toContain(tokenHash);
  });

  it('names a role change with the role alone before and after, and records it in the history', () => {
    const e = entryOf(modify(member('AN'), member('MA', stamp(), { updated_at: LATER })))!;
    expect(e).toMatchObject({ action: 'membership.role_changed', actor_id: 7, at: LATER, organization: 1, subject_user: 42 });
    expect(e.before).toEqual({ role: 'AN' });
    expect(e.after).toEqual({ role: 'MA' });
    expect(e.history).toEqual({ stream: 'org_membership', scope: 1, state: 'MA', previous_state: 'AN', role_source: 'manual' });
  });

  it('names a change to DI a deactivation and a change from DI an activation', () => {
    const off = entryOf(modify(member('AN'), member('DI', stamp())))!;
    expect(off.action).toBe('membership.deactivated');
    expect(off.history).toMatchObject({ state: 'DI', previous_state: 'AN' });
    const on = entryOf(modify(member('DI'), member('AN', stamp())))!;
    expect(on.action).toBe('membership.activated');
    expect(on.history).toMatchObject({ state: 'AN', previous_state: 'DI' });
  });

  it('names setting deleted_at a deletion, with DELETED as the history state', () => {
    const e = entryOf(modify(member('RE'), member('RE', stamp({ method: 'DELETE' }), { deleted_at: LATER, updated_at: LATER })))!;
    expect(e.action).toBe('membership.deleted');
    expect(e.before).toEqual({ deleted_at: null });
    expect(e.after).toEqual({ deleted_at: LATER });
    expect(e.history).toEqual({ stream: 'org_membership', scope: 1, state: 'DELETED', previous_state: 'RE', role_source: 'manual' });
  });

  it('makes no entry for a change of the stamp alone (the stamp written before a delete)', () => {
    expect(entryOf(modify(member('AN', creator), member('AN', deleter)))).toBeNull();
  });

  it('makes no entry when only the copied user fields, the search text and updated_at change', () => {
    const renamed = newUserItem(42, { email: 'alice.l@example.com', first_name: 'Alicia', last_name: 'Liddell' }, 1, CREATED);
    const after = { ...membershipItem(1, renamed, 'AN', 'manual', CREATED), updated_at: LATER, _ctx: stamp() };
    expect(after.user).not.toEqual(member('AN').user);
    expect(after.search).not.toEqual(member('AN').search);
    expect(entryOf(modify(member('AN'), after))).toBeNull();
  });

  it('names a token reset and shows both tokens as redacted, never their hashes', () => {
    const oldHash = hashToken('old-legacy-token');
    const newHash = hashToken('new-legacy-token');
    const e = entryOf(modify(member('AN', creator, { tokenHash: oldHash }), member('AN', stamp(), { tokenHash: newHash })))!;
    expect(e.action).toBe('membership.token_reset');
    expect(e.before).toEqual({ tokenHash: REDACTED });
    expect(e.after).toEqual({ tokenHash: REDACTED });
    // The role did not change: no history entry.
    expect(e.history).toBeNull();
    const text = JSON.stringify(e);
    expect(text).not.toContain(oldHash);
    expect(text).not.toContain(newHash);
  });

  it('names the first token of a member a token reset from nothing, redacted', () => {
    const hash = hashToken('first-legacy-token');
    const e = entryOf(modify(member('AN'), member('AN', stamp(), { tokenHash: hash })))!;
    expect(e.action).toBe('membership.token_reset');
    expect(e.before).toEqual({ tokenHash: null });
    expect(e.after).toEqual({ tokenHash: REDACTED });
    expect(JSON.stringify(e)).not.toContain(hash);
  });
});

describe('entryOf: organizations and users', () => {
  it('names a change of the invite-link token an invite link reset, redacted', () => {
    const e = entryOf(modify(organization(), organization({ token: 'org-link-token-bbbb', _ctx: stamp() })))!;
    expect(e).toMatchObject({ action: 'organization.invite_link_reset', resource_type: 'organization', resource_id: 1, organization: 1, actor_id: 7 });
    expect(e.before).toEqual({ token: REDACTED });
    expect(e.after).toEqual({ token: REDACTED });
    const text = JSON.stringify(e);
    expect(text).not.toContain('org-link-token-aaaa');
    expect(text).not.toContain('org-link-token-bbbb');
  });

  it('makes no entry when only a user\'s last_activity changes', () => {
    expect(entryOf(modify(userImage(), userImage({ last_activity: LATER, _ctx: stamp() })))).toBeNull();
  });

  it('puts a user change in the organization the actor acts in', () => {
    const e = entryOf(modify(userImage(), userImage({ first_name: 'Alicia', _ctx: stamp({ organization: 3 }) })))!;
    expect(e).toMatchObject({ action: 'user.updated', resource_type: 'user', resource_id: 42, subject_user: 42, organization: 3, actor_id: 7 });
    expect(e.before).toEqual({ first_name: 'Alice' });
    expect(e.after).toEqual({ first_name: 'Alicia' });
  });

  it('puts a user change without an acting organization in the user\'s active organization', () => {
    const { organization: _o, ...noOrg } = stamp({ source: 'invite' });
    const e = entryOf(insert(userImage({ active_organization: 5, _ctx: noOrg })))!;
    expect(e).toMatchObject({ action: 'user.created', organization: 5, source: 'invite' });
    expect(e.after).toMatchObject({ id: 42, email: 'alice@example.com', active_organization: 5 });
  });
});

describe('entryOf: removals', () => {
  it('names the actor of a delete from the stamp on the old image', () => {
    const old = { ...projectMemberItem(1, 30, 42, 2, CREATED), _ctx: deleter };
    const e = entryOf(remove(old))!;
    expect(e).toMatchObject({
      action: 'project_membership.removed',
      resource_type: 'project_membership',
      resource_id: 42,
      organization: 1,
      project: 30,
      subject_user: 42,
      actor_id: 9,
      actor_email: 'deleter@example.com',
      request_id: 'req-deleter',
      method: 'DELETE',
      source: 'api',
      after: null,
      history: { stream: 'project_membership', scope: 30, state: 'REMOVED', previous_state: 'MEMBER', role_source: null },
    });
    expect(e.before).toEqual({ project: 30, user_id: 42, added_by: 2, created_at: CREATED });
  });

  it('names a workspace membership removal and its history', () => {
    const e = entryOf(remove({ ...workspaceMemberItem(1, 8, 42, 2, CREATED), _ctx: deleter }))!;
    expect(e).toMatchObject({ action: 'workspace_membership.removed', workspace: 8, actor_id: 9 });
    expect(e.history).toMatchObject({ stream: 'ws_membership', scope: 8, state: 'REMOVED', previous_state: 'MEMBER' });
  });

  it('attributes a TTL expiry of a personal access token to the system and leaves no trace of the token', () => {
    const hash = hashToken('pat_secret-value-of-user-5');
    const display = 'pat_abcd…wxyz';
    const old = {
      PK: 'ORG#0000000001',
      SK: `PAT#0000000005#${hash}`,
      type: 'pat_listing',
      display,
      created_at: CREATED,
      expires_at: LATER,
      expiresAt: 1_740_000_000,
      // Stamped by the request that created it: an expiry is nobody's act.
      _ctx: creator,
    };
    const e = entryOf(remove(old, true))!;
    expect(e).toMatchObject({
      action: 'api_token.expired',
      resource_type: 'api_token',
      source: 'system',
      subject_user: 5,
      organization: 1,
      actor_id: null,
      actor_email: null,
      request_id: null,
      after: null,
    });
    expect(e.before).toEqual({ display: REDACTED, created_at: CREATED, expires_at: LATER });
    const text = JSON.stringify(e);
    expect(text).not.toContain(hash);
    expect(text).not.toContain('abcd');
    expect(text).not.toContain('wxyz');
  });

  it('names a revocation of a personal access token by the revoking request', () => {
    const old = { PK: 'ORG#0000000001', SK: `PAT#0000000005#${hashToken('x')}`, type: 'pat_listing', display: 'pat_…', created_at: CREATED, expires_at: LATER, _ctx: deleter };
    expect(entryOf(remove(old))).toMatchObject({ action: 'api_token.revoked', actor_id: 9, subject_user: 5 });
  });

  const inviteImage = (ctx: Stamp): Item => ({
    PK: keys.organization(1).PK,
    SK: 'INVITE#bob@example.com',
    type: 'invite',
    email: 'bob@example.com',
    role: 'AN',
    projects: [],
    workspaces: [],
    invited_by: 2,
    created_at: CREATED,
    expires_at: LATER,
    tokenHash: hashToken('invite-token-of-bob'),
    expiresAt: 1_740_000_000,
    _ctx: ctx,
  });

  it('names the removal of an invitation by its acceptance an acceptance', () => {
    const e = entryOf(remove(inviteImage(stamp({ source: 'invite', actor_id: 43, actor_email: 'bob@example.com' }))))!;
    expect(e).toMatchObject({ action: 'invite.accepted', source: 'invite', actor_id: 43, organization: 1 });
    expect(e.before).toMatchObject({ email: 'bob@example.com', tokenHash: REDACTED });
    expect(JSON.stringify(e)).not.toContain(hashToken('invite-token-of-bob'));
  });

  it('names any other removal of an invitation a revocation', () => {
    expect(entryOf(remove(inviteImage(deleter)))).toMatchObject({ action: 'invite.revoked', source: 'api', actor_id: 9 });
    expect(entryOf(remove(inviteImage(stamp({ source: 'scim' }))))).toMatchObject({ action: 'invite.revoked', source: 'scim' });
  });

  it('names an invitation removed by TTL an expiry of the system', () => {
    expect(entryOf(remove(inviteImage(creator), true))).toMatchObject({ action: 'invite.expired', source: 'system', actor_id: null });
  });
});

describe('entryOf: items that are no resources', () => {
  const hash = hashToken('some-token');
  const lookups: [string, Item][] = [
    ['invite lookup', { ...keys.token(hash), type: 'invite', orgId: 1, email: 'bob@example.com', expiresAt: 1_740_000_000, _ctx: creator }],
    ['legacy token lookup', { ...keys.token(hash), type: 'legacy_token', userId: 42, orgId: 1, created_at: CREATED, _ctx: creator }],
    ['personal access token lookup', { ...keys.token(hash), type: 'pat', userId: 42, orgId: 1, created_at: CREATED, _ctx: creator }],
    ['organization invite-link lookup', { ...orgInviteLookup(1, 'org-link-token-aaaa'), _ctx: creator }],
    ['email claim', { ...keys.email('alice@example.com'), type: 'email', userId: 42, active_organization: 1, _ctx: creator }],
    ['id counter', { ...keys.counter('user'), value: 42 }],
    ['bulk job', { PK: keys.organization(1).PK, SK: 'JOB#abc', type: 'job', status: 'running', done: 10, _ctx: creator }],
    ['activity entry', { PK: keys.log(1), SK: `${CREATED}#ev-1`, type: 'log', id: 1, action: 'membership.created', organization: 1 }],
  ];

  it.each(lookups)('makes no entry for the insertion, change or removal of a %s', (_name, image) => {
    expect(entryOf(insert(image))).toBeNull();
    expect(entryOf(modify(image, { ...image, created_at: LATER, value: 43, done: 11, _ctx: stamp() }))).toBeNull();
    expect(entryOf(remove(image))).toBeNull();
    expect(entryOf(remove(image, true))).toBeNull();
  });
});

describe('entryOf: security events', () => {
  const event: SecurityEvent = { action: 'auth.failed', organization: null, ip: '198.51.100.4', user_agent: 'curl/8', method: 'GET', path: '/api/current-user/whoami', status: 401, request_id: 'req-sec' };
  const counter = (hits: number, e: SecurityEvent = event): Item => ({
    ...keys.securityEvent('ip#198.51.100.4', '2025-03-02T10:30'),
    type: 'security_event',
    hits,
    at: `2025-03-02T10:30:${String(hits).padStart(2, '0')}.000Z`,
    event: e,
    expiresAt: 1_740_086_400,
  });
  const nth = (hits: number, e?: SecurityEvent) => (hits === 1 ? insert(counter(1, e)) : modify(counter(hits - 1, e), counter(hits, e)));

  it.each(Array.from({ length: SECURITY_EVENTS_PER_MINUTE }, (_, i) => i + 1))('records event number %i of a minute as itself', (hits) => {
    const e = entryOf(nth(hits))!;
    expect(e).toMatchObject({
      action: 'auth.failed',
      resource_type: 'security',
      organization: 0,
      at: counter(hits).at,
      ip: '198.51.100.4',
      user_agent: 'curl/8',
      method: 'GET',
      path: '/api/current-user/whoami',
      status: 401,
      request_id: 'req-sec',
      source: 'api',
      before: null,
      history: null,
    });
  });

  it('records the event of a known organization in it', () => {
    expect(entryOf(nth(1, { ...event, organization: 4, actor_id: 42 }))).toMatchObject({ organization: 4, actor_id: 42, subject_user: 42 });
  });

  it('records the first event past the limit as a rate-limit entry', () => {
    const e = entryOf(nth(SECURITY_EVENTS_PER_MINUTE + 1))!;
    expect(e.action).toBe('auth.failed_rate_limited');
    expect(e.organization).toBe(0);
    expect(e.after).toEqual({ detail: expect.stringContaining(String(SECURITY_EVENTS_PER_MINUTE)) });
  });

  it('records nothing for the events after that, nor for the counter\'s expiry', () => {
    expect(entryOf(nth(SECURITY_EVENTS_PER_MINUTE + 2))).toBeNull();
    expect(entryOf(nth(SECURITY_EVENTS_PER_MINUTE + 30))).toBeNull();
    expect(entryOf(remove(counter(3), true))).toBeNull();
  });
});
