import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ScimError } from '../../lib/federation/scim/errors.js';
import { matches, normalizeFilter, parseFilter, keyTerm } from '../../lib/federation/scim/filter.js';
import { applyUserOps, groupChanges, normalizeUserOps, operationsOf } from '../../lib/federation/scim/patch.js';
import { ENTERPRISE_URN, cleanUser, project, attributeList } from '../../lib/federation/scim/resources.js';

const user = {
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
  id: '7',
  userName: 'Alice@Example.com',
  name: { givenName: 'Alice', familyName: 'Employee' },
  emails: [{ type: 'home', value: 'alice@home.example' }, { type: 'work', value: 'alice@work.example' }],
  active: false,
  meta: { created: '2026-01-01T00:00:00.000Z', lastModified: '2026-01-02T00:00:00.000Z' },
};
const hit = (q: string) => matches(parseFilter(q), user);
const status = (fn: () => unknown) => {
  try {
    fn();
    return 'ok';
  } catch (e) {
    return `${(e as { status: number }).status} ${(e as { scimType?: string }).scimType ?? ''}`.trim();
  }
};

describe('SCIM filters', () => {
  it('compares userName and emails without case (caseExact=false), id and externalId with case', () => {
    expect(hit('userName eq "alice@example.com"')).toBe(true);
    expect(hit('userName sw "ALI"')).toBe(true);
    expect(hit('emails.value co "WORK"')).toBe(true);
    expect(hit('id eq "7"')).toBe(true);
    expect(matches(parseFilter('externalId eq "ABC"'), { externalId: 'abc' })).toBe(false);
  });

  it('evaluates a valuePath per element, Entra\'s typed form included', () => {
    expect(hit('emails[type eq "work" and value eq "alice@work.example"]')).toBe(true);
    expect(hit('emails[type eq "home" and value eq "alice@work.example"]')).toBe(false);
    expect(normalizeFilter('emails[type eq "work"].value eq "x"')).toBe('emails[(type eq "work") and value eq "x"]');
    expect(hit('emails[type eq "work"].value eq "alice@work.example"')).toBe(true);
    expect(hit('emails[type eq "home"].value eq "alice@work.example"')).toBe(false);
  });

  it('takes bare words as values, dates compared as dates, and the logical operators', () => {
    expect(hit('name.FamilyName eq Employee and (emails.Value co work.example or emails.Value co example.org)')).toBe(true);
    expect(hit('meta.Created gt 2015-10-10T14:38:21.8617979-07:00')).toBe(true);
    expect(hit('meta.lastModified lt "2026-01-01T12:00:00Z"')).toBe(false);
    expect(hit('active eq false and not (userName eq "bob@example.com")')).toBe(true);
    expect(hit('title pr or userName pr')).toBe(true);
    expect(hit('title pr')).toBe(false);
    expect(hit('active eq "False"')).toBe(true);
  });

  it('refuses what it cannot parse with 400 invalidFilter', () => {
    for (const q of ['userName eq', 'userName eq "a" or', 'emails[type eq "work"', '"unterminated', 'x'.repeat(3000)]) expect(status(() => parseFilter(q))).toBe('400 invalidFilter');
  });

  it('finds the key a filter can be served by', () => {
    expect(keyTerm(parseFilter('userName eq "a@b.c" and active eq true'), ['id', 'userName', 'externalId'])).toEqual({ attr: 'userName', value: 'a@b.c' });
    expect(keyTerm(parseFilter('userName eq "a" or userName eq "b"'), ['userName'])).toBeUndefined();
  });
});

describe('SCIM resources', () => {
  it('cleans what IdPs send: attribute case, string booleans, nulls, manager ids, unknown attributes, passwords', () => {
    const c = cleanUser({ UserName: 'u@x.io', Active: 'False', password: 'secret', nickname: null, adreses: [{}], emails: [{ Primary: 'True', Value: 'u@x.io', Type: 'work' }], [ENTERPRISE_URN]: { Department: 'D', Manager: 'boss' } });
    expect(c).toEqual({ userName: 'u@x.io', active: false, attributes: { userName: 'u@x.io', active: false, emails: [{ primary: true, value: 'u@x.io', type: 'work' }], [ENTERPRISE_URN]: { department: 'D', manager: { value: 'boss' } } } });
  });

  it('refuses a missing userName and wrong types with 400 invalidValue', () => {
    expect(status(() => cleanUser({ active: true }))).toBe('400 invalidValue');
    expect(status(() => cleanUser({ userName: 'a', active: 'maybe' }))).toBe('400 invalidValue');
    expect(status(() => cleanUser({ userName: 'a', name: 'x' }))).toBe('400 invalidValue');
    expect(status(() => cleanUser([1]))).toBe('400 invalidValue');
  });

  it('projects attributes and excludedAttributes, keeping id and schemas', () => {
    expect(project(user, attributeList('userName,name.givenName,emails[type eq "work"]'), undefined)).toEqual({ schemas: user.schemas, id: '7', userName: user.userName, name: { givenName: 'Alice' }, emails: user.emails });
    expect(Object.keys(project(user, undefined, attributeList('emails,meta,id')))).toEqual(['schemas', 'id', 'userName', 'name', 'active']);
  });
});

describe('SCIM PATCH normalising pass', () => {
  const patched = (ops: unknown[]) => cleanUser(applyUserOps(user, normalizeUserOps(operationsOf({ Operations: ops }), '7'))).attributes;

  it('takes Okta\'s pathless active and Entra\'s capitalised ops with string booleans', () => {
    expect(patched([{ op: 'replace', value: { active: true } }]).active).toBe(true);
    expect(patched([{ op: 'Replace', path: 'active', value: 'True' }]).active).toBe(true);
    expect(patched([{ op: 'REPLACE', path: 'Active', value: 'false' }]).active).toBe(false);
  });

  it('creates the element a typed path names, in any attribute case', () => {
    expect(patched([{ op: 'Replace', path: 'Emails[Type eq "Work"].Value', value: 'new@work.example' }]).emails).toEqual([{ type: 'home', value: 'alice@home.example' }, { type: 'work', value: 'new@work.example' }]);
    expect(patched([{ op: 'Add', path: 'addresses[type eq "work"].formatted', value: '1 Road' }]).addresses).toEqual([{ type: 'work', formatted: '1 Road' }]);
  });

  it('takes pathless dotted and URN keys, manager as a bare id, "" as removal', () => {
    const a = patched([{ op: 'replace', value: { 'name.givenName': 'G', [`${ENTERPRISE_URN}:employeeNumber`]: '42' } }]);
    expect(a.name).toEqual({ givenName: 'G', familyName: 'Employee' });
    expect(a[ENTERPRISE_URN]).toEqual({ employeeNumber: '42' });
    expect(patched([{ op: 'Add', path: `${ENTERPRISE_URN}:manager`, value: 'm1' }])[ENTERPRISE_URN]).toEqual({ manager: { value: 'm1' } });
    expect(patched([{ op: 'replace', path: 'name.givenName', value: '' }]).name).toEqual({ familyName: 'Employee' });
  });

  it('treats an empty Operations list as a no-op', () => {
    expect(operationsOf({ schemas: [], Operations: [] })).toEqual([]);
  });

  it('refuses id and meta (mutability), a pathless remove (noTarget), unknown paths (invalidPath), bad ops', () => {
    expect(status(() => patched([{ op: 'replace', path: 'id', value: 'x' }]))).toBe('400 mutability');
    expect(status(() => patched([{ op: 'replace', value: { id: '8' } }]))).toBe('400 mutability');
    expect(patched([{ op: 'replace', value: { id: '7', displayName: 'D' } }]).displayName).toBe('D');
    expect(status(() => patched([{ op: 'Remove' }]))).toBe('400 noTarget');
    expect(status(() => patched([{ op: 'replace', path: 'nope', value: 1 }]))).toBe('400 invalidPath');
    expect(status(() => patched([{ op: 'move', path: 'title', value: 1 }]))).toBe('400 invalidSyntax');
    expect(status(() => operationsOf({ Operations: 'x' }))).toBe('400 invalidSyntax');
  });

  it('turns group operations into deltas: Okta\'s remove+add, Entra\'s value-list removal, rename with the unchanged id', () => {
    const ops = (o: unknown[]) => groupChanges(operationsOf({ Operations: o }), 'g1');
    expect(ops([{ op: 'remove', path: 'members[value eq "5"]' }, { op: 'add', path: 'members', value: [{ value: '6', display: 'x' }] }])).toEqual([{ kind: 'remove', ids: ['5'] }, { kind: 'add', ids: ['6'] }]);
    expect(ops([{ op: 'Remove', path: 'members', value: [{ value: '5' }, { value: '6' }] }])).toEqual([{ kind: 'remove', ids: ['5', '6'] }]);
    expect(ops([{ op: 'remove', path: 'members' }])).toEqual([{ kind: 'removeAll' }]);
    expect(ops([{ op: 'replace', value: { id: 'g1', displayName: 'New' } }])).toEqual([{ kind: 'rename', displayName: 'New' }]);
    expect(ops([{ op: 'add', path: 'members', value: 'string id 1' }])).toEqual([{ kind: 'add', ids: ['string id 1'] }]);
    expect(status(() => ops([{ op: 'replace', value: { id: 'other' } }]))).toBe('400 mutability');
  });
});

describe('SCIM bad input (property-based)', () => {
  const onlyScimErrors = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      // A refusal is a SCIM 4xx with a detail; anything else would reach the client as a 500.
      expect(e).toBeInstanceOf(ScimError);
      expect((e as ScimError).status).toBeGreaterThanOrEqual(400);
      expect((e as ScimError).status).toBeLessThan(500);
    }
  };

  it('parses or refuses any filter text with a SCIM 400', () => {
    const pieces = fc.constantFrom('userName', 'emails', '[', ']', '(', ')', '"a"', 'eq', 'pr', 'and', 'or', 'not', '.value', ' ', 'true', '12', 'x"y', '\\', 'urn:ietf:params:scim:schemas:core:2.0:User:userName');
    fc.assert(fc.property(fc.oneof(fc.string(), fc.array(pieces, { maxLength: 12 }).map((a) => a.join(' '))), (q) => onlyScimErrors(() => matches(parseFilter(q), user))), { numRuns: 2000 });
  });

  it('applies or refuses any PATCH body with a SCIM 400', () => {
    const op = fc.record({ op: fc.constantFrom('add', 'Replace', 'REMOVE', 'x', 1), path: fc.option(fc.constantFrom('title', 'emails[type eq "work"].value', 'name.givenName', 'members', 'id', 'emails[', 'urn:x:y', `${ENTERPRISE_URN}:manager`, '')), value: fc.jsonValue() }, { requiredKeys: ['op'] });
    fc.assert(fc.property(fc.oneof(fc.jsonValue(), fc.record({ Operations: fc.array(op, { maxLength: 4 }) })), (body) => {
      onlyScimErrors(() => cleanUser(applyUserOps(user, normalizeUserOps(operationsOf(body), '7'))));
      onlyScimErrors(() => groupChanges(operationsOf(body), 'g'));
    }), { numRuns: 2000 });
  });

  it('cleans or refuses any User body with a SCIM 400', () => {
    fc.assert(fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
      onlyScimErrors(() => cleanUser(a));
      onlyScimErrors(() => cleanUser({ userName: 'u@x.io', emails: a, name: b, active: a, [ENTERPRISE_URN]: { manager: b } }));
    }), { numRuns: 2000 });
  });
});
