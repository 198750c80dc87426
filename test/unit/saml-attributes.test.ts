import { describe, expect, it } from 'vitest';
import { MAX_ATTRIBUTE, flatten, formEncode, mapAttributes } from '../../infra/local/federation/attributes.js';
import { SignInError } from '../../infra/local/federation/sp.js';

// Cognito's attribute mapping as the local stand-in applies it (notes-saml-cognito.md §2).
describe('Cognito attribute mapping', () => {
  it('keeps one value as it is and flattens several into [a, b] with form-encoded items', () => {
    expect(flatten(['Team A/B'])).toBe('Team A/B');
    expect(flatten(['a', 'b'])).toBe('[a, b]');
    expect(flatten(['Team A', 'x,y', 'ü', "it's", 'a.b-c*d_e'])).toBe("[Team+A, x%2Cy, %C3%BC, it%27s, a.b-c*d_e]");
    expect(formEncode('(~!)')).toBe('%28%7E%21%29');
  });

  it('maps only the attributes the assertion carries, so a missing claim leaves the old value alone', () => {
    const mapping = { email: 'Email', given_name: 'FirstName', 'custom:groups': 'Groups' };
    expect(mapAttributes(mapping, { Email: ['a@acme.test'], Other: ['x'] })).toEqual({ email: 'a@acme.test' });
    expect(mapAttributes(mapping, { Email: ['a@acme.test'], Groups: ['g1', 'g2'] })).toEqual({ email: 'a@acme.test', 'custom:groups': '[g1, g2]' });
  });

  it('accepts a value of exactly 2,048 characters and fails the sign-in at 2,049, naming the attribute', () => {
    expect(mapAttributes({ 'custom:groups': 'Groups' }, { Groups: ['x'.repeat(MAX_ATTRIBUTE)] })['custom:groups']).toHaveLength(2048);
    expect(() => mapAttributes({ 'custom:groups': 'Groups' }, { Groups: ['x'.repeat(MAX_ATTRIBUTE + 1)] })).toThrow(SignInError);
    expect(() => mapAttributes({ 'custom:groups': 'Groups' }, { Groups: ['x'.repeat(MAX_ATTRIBUTE + 1)] })).toThrow(/custom:groups \(from Groups\) is 2049 characters/);
    // The limit is on the flattened value: 2 × 1,022 + brackets and separator = 2,048 passes, one more fails.
    expect(() => mapAttributes({ g: 'G' }, { G: ['a'.repeat(1022), 'b'.repeat(1022)] })).not.toThrow();
    expect(() => mapAttributes({ g: 'G' }, { G: ['a'.repeat(1022), 'b'.repeat(1023)] })).toThrow(SignInError);
  });
});
