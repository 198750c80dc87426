/**
 * zod issues → DRF field errors (functions/http.ts `fieldErrors`): every message is keyed by the
 * field it is about, an enum's or literal's message lists the allowed values, a missing field is
 * "This field is required.", and a union is reported through the alternative the input meant.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { checkBody } from '../../functions/access/index.js';
import { fieldErrors } from '../../functions/http.js';
import { ACTIONS } from '../../lib/core/permissions.js';

const errorsOf = (schema: z.ZodType, input: unknown) => {
  const r = schema.safeParse(input);
  if (r.success) throw new Error(`${JSON.stringify(input)} was accepted`);
  return fieldErrors(r.error);
};
const allowedActions = `Expected one of: ${ACTIONS.join(', ')}.`;

describe('access check bodies (one check, or {checks: [...]})', () => {
  it('names `action` and lists every allowed action for an unknown action in the single form', () => {
    expect(errorsOf(checkBody, { user_id: 1, action: 'project.fly', project_id: 1 })).toEqual({ action: [allowedActions] });
  });

  it('names `checks.<i>.action` and lists every allowed action for an unknown action in the batch form', () => {
    const ok = { user_id: 1, action: 'project.read', project_id: 1 };
    expect(errorsOf(checkBody, { checks: [ok, ok, { ...ok, action: 'project.fly' }] })).toEqual({ 'checks.2.action': [allowedActions] });
  });

  it('says which fields of the single form are missing, not that `checks` is', () => {
    expect(errorsOf(checkBody, { action: 'project.read', project_id: 1 })).toEqual({ user_id: ['This field is required.'] });
    expect(errorsOf(checkBody, {})).toEqual({ user_id: ['This field is required.'], action: [allowedActions] });
  });

  it('says which fields of a batch element are missing or mistyped', () => {
    expect(errorsOf(checkBody, { checks: [{}] })).toEqual({ 'checks.0.user_id': ['This field is required.'], 'checks.0.action': [allowedActions] });
    expect(errorsOf(checkBody, { checks: [{ user_id: 'me', action: 'project.read', project_id: 1 }] })).toEqual({ 'checks.0.user_id': ['Invalid input: expected number, received string'] });
  });

  it('reports a malformed `checks` on `checks` itself', () => {
    expect(Object.keys(errorsOf(checkBody, { checks: 'all' }))).toEqual(['checks']);
    expect(Object.keys(errorsOf(checkBody, { checks: [] }))).toEqual(['checks']);
  });

  it('keeps the "exactly one of project_id and workspace_id" rule on the check it is about', () => {
    const both = { user_id: 1, action: 'project.read', project_id: 1, workspace_id: 2 };
    expect(errorsOf(checkBody, both)).toEqual({ non_field_errors: ['Give exactly one of project_id and workspace_id.'] });
    expect(errorsOf(checkBody, { checks: [both] })).toEqual({ 'checks.0': ['Give exactly one of project_id and workspace_id.'] });
  });

  it('answers a body that is no object at all once, on non_field_errors', () => {
    expect(errorsOf(checkBody, 'project.read')).toEqual({ non_field_errors: ['Invalid input: expected object, received string'] });
  });
});

describe('other union-typed fields', () => {
  it('lists the allowed values of a nullable, optional enum', () => {
    expect(errorsOf(z.object({ role: z.enum(['OW', 'AD']).nullable().optional() }), { role: 'XX' })).toEqual({ role: ['Expected one of: OW, AD.'] });
  });

  it('names the one allowed value of a literal', () => {
    expect(errorsOf(z.object({ user_type: z.literal('standard').optional() }), { user_type: 'flex' })).toEqual({ user_type: ['Expected standard.'] });
  });

  it('lists the values of a union of literals together, non-strings as JSON', () => {
    expect(errorsOf(z.object({ n: z.union([z.literal(1), z.literal(null)]) }), { n: 2 })).toEqual({ n: ['Expected one of: 1, null.'] });
  });

  it('keys each element of an array of enums by its index', () => {
    expect(errorsOf(z.object({ roles: z.array(z.enum(['AD', 'MA'])) }), { roles: ['AD', 'XX'] })).toEqual({ 'roles.1': ['Expected one of: AD, MA.'] });
  });

  it('reports a nested union at its full path through the alternative the input meant', () => {
    const schema = z.object({ a: z.object({ b: z.union([z.object({ x: z.enum(['p', 'q']), n: z.number() }), z.object({ y: z.number() })]) }) });
    expect(errorsOf(schema, { a: { b: { x: 'z', n: 1 } } })).toEqual({ 'a.b.x': ['Expected one of: p, q.'] });
    expect(errorsOf(schema, { a: { b: { y: 'z' } } })).toEqual({ 'a.b.y': ['Invalid input: expected number, received string'] });
  });

  it('lists the discriminator values of a discriminated union that none matches', () => {
    const schema = z.object({ a: z.discriminatedUnion('t', [z.object({ t: z.literal('p') }), z.object({ t: z.literal('q') })]) });
    expect(errorsOf(schema, { a: { t: 'z' } })).toEqual({ 'a.t': ['Expected one of: p, q.'] });
  });
});
