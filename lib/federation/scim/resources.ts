/**
 * What Roster's SCIM service supports, said once: the User, EnterpriseUser and Group schemas (the
 * attributes Roster stores and returns), from which /Schemas, /ResourceTypes and
 * /ServiceProviderConfig are answered, incoming resources are cleaned (attribute names in their
 * canonical case, `"True"`/`"False"` as booleans, a bare `manager` id as `{value}`, nulls and
 * unknown attributes dropped, wrong types refused with 400 invalidValue), and outgoing ones
 * projected (`attributes` / `excludedAttributes`).
 */
import { invalidValue } from './errors.js';

export const USER_URN = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE_URN = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const GROUP_URN = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const LIST_URN = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const PATCH_URN = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

type AttrType = 'string' | 'boolean' | 'complex' | 'reference' | 'dateTime' | 'integer';

export interface Attr {
  name: string;
  type: AttrType;
  multiValued?: boolean;
  required?: boolean;
  caseExact?: boolean;
  mutability?: 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
  returned?: 'always' | 'never' | 'default' | 'request';
  uniqueness?: 'none' | 'server' | 'global';
  subAttributes?: Attr[];
  referenceTypes?: string[];
  description?: string;
}

const s = (name: string, extra: Partial<Attr> = {}): Attr => ({ name, type: 'string', ...extra });
const b = (name: string, extra: Partial<Attr> = {}): Attr => ({ name, type: 'boolean', ...extra });
const multi = (name: string, subs: Attr[], description: string): Attr => ({ name, type: 'complex', multiValued: true, subAttributes: subs, description });
const typedValue = (types: string[]) => [s('value'), s('display'), s('type', { description: `e.g. ${types.join(', ')}` }), b('primary')];

export const USER_ATTRIBUTES: Attr[] = [
  s('userName', { required: true, uniqueness: 'server', description: 'Unique in the organization, compared case-insensitively. An email address becomes the Roster account\'s email.' }),
  {
    name: 'name',
    type: 'complex',
    subAttributes: [s('formatted'), s('familyName'), s('givenName'), s('middleName'), s('honorificPrefix'), s('honorificSuffix')],
    description: 'The components of the user\'s name; givenName and familyName become the Roster account\'s first and last name at provisioning.',
  },
  s('displayName'),
  s('nickName'),
  s('profileUrl', { type: 'reference', referenceTypes: ['external'] }),
  s('title'),
  s('userType'),
  s('preferredLanguage'),
  s('locale'),
  s('timezone'),
  b('active', { description: 'false deactivates the member at once; true restores the role the group mappings give, or the organization\'s default role.' }),
  s('password', { mutability: 'writeOnly', returned: 'never', description: 'Accepted and discarded: Roster never stores or returns it.' }),
  multi('emails', typedValue(['work', 'home', 'other']), 'Email addresses.'),
  multi('phoneNumbers', typedValue(['work', 'home', 'mobile', 'fax', 'pager', 'other']), 'Phone numbers.'),
  multi('ims', typedValue(['aim', 'gtalk', 'icq', 'xmpp', 'msn', 'skype', 'qq', 'yahoo']), 'Instant messaging addresses.'),
  multi('photos', typedValue(['photo', 'thumbnail']), 'Photo URLs.'),
  multi('addresses', [s('formatted'), s('streetAddress'), s('locality'), s('region'), s('postalCode'), s('country'), s('type'), b('primary')], 'Physical mailing addresses.'),
];

export const ENTERPRISE_ATTRIBUTES: Attr[] = [
  s('employeeNumber'),
  s('costCenter'),
  s('organization'),
  s('division'),
  s('department'),
  {
    name: 'manager',
    type: 'complex',
    subAttributes: [s('value'), s('$ref', { type: 'reference', referenceTypes: ['User'] }), s('displayName', { mutability: 'readOnly' })],
    description: 'The user\'s manager (a bare id string is taken as its value).',
  },
];

export const GROUP_ATTRIBUTES: Attr[] = [
  s('displayName', { required: true, uniqueness: 'server', description: 'The group name the mappings match, case-sensitively.' }),
  {
    name: 'members',
    type: 'complex',
    multiValued: true,
    subAttributes: [s('value', { mutability: 'immutable' }), s('$ref', { type: 'reference', referenceTypes: ['User'], mutability: 'immutable' }), s('display', { mutability: 'readOnly' }), s('type', { mutability: 'immutable' })],
    description: 'Members of the group: Users of this organization, by id (unknown ids are ignored).',
  },
];

/** RFC 7643 §7 attribute definitions, with the defaults spelled out. */
function definition(a: Attr): Record<string, unknown> {
  return {
    name: a.name,
    type: a.type,
    multiValued: a.multiValued ?? false,
    ...(a.description ? { description: a.description } : {}),
    required: a.required ?? false,
    caseExact: a.caseExact ?? false,
    mutability: a.mutability ?? 'readWrite',
    returned: a.returned ?? 'default',
    uniqueness: a.uniqueness ?? 'none',
    ...(a.referenceTypes ? { referenceTypes: a.referenceTypes } : {}),
    ...(a.subAttributes ? { subAttributes: a.subAttributes.map(definition) } : {}),
  };
}

const schemaDoc = (base: string, id: string, name: string, description: string, attrs: Attr[]) => ({
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:Schema'],
  id,
  name,
  description,
  attributes: attrs.map(definition),
  meta: { resourceType: 'Schema', location: `${base}/Schemas/${id}` },
});

export const schemas = (base: string) => [
  schemaDoc(base, USER_URN, 'User', 'User Account', USER_ATTRIBUTES),
  schemaDoc(base, ENTERPRISE_URN, 'EnterpriseUser', 'Enterprise User', ENTERPRISE_ATTRIBUTES),
  schemaDoc(base, GROUP_URN, 'Group', 'Group', GROUP_ATTRIBUTES),
];

export const resourceTypes = (base: string) => [
  {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
    id: 'User',
    name: 'User',
    endpoint: '/Users',
    description: 'User Account',
    schema: USER_URN,
    schemaExtensions: [{ schema: ENTERPRISE_URN, required: false }],
    meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/User` },
  },
  {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
    id: 'Group',
    name: 'Group',
    endpoint: '/Groups',
    description: 'Group',
    schema: GROUP_URN,
    meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/Group` },
  },
];

/** The most resources one page answers (a larger `count` is cut to it), and PATCH operations per request. */
export const MAX_RESULTS = 1000;
export const MAX_OPERATIONS = 1000;

export const serviceProviderConfig = (base: string) => ({
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
  documentationUri: 'https://github.com/roster/roster#scim-20',
  patch: { supported: true },
  bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
  filter: { supported: true, maxResults: MAX_RESULTS },
  changePassword: { supported: false },
  sort: { supported: false },
  etag: { supported: true },
  authenticationSchemes: [
    { type: 'oauthbearertoken', name: 'OAuth Bearer Token', description: 'A SCIM token from POST /api/scim/tokens (or the Owner\'s API token), as `Authorization: Bearer <token>`.', primary: true },
  ],
  meta: { resourceType: 'ServiceProviderConfig', location: `${base}/ServiceProviderConfig` },
});

// ---------------------------------------------------------------------------------------------
// Cleaning what comes in

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

const find = (attrs: Attr[], name: string) => attrs.find((a) => a.name.toLowerCase() === name.toLowerCase());

/** A boolean as IdPs send it: true/false, or Entra's "True"/"False" strings. */
export function booleanOf(v: unknown, where: string): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && /^(true|false)$/i.test(v.trim())) return v.trim().toLowerCase() === 'true';
  throw invalidValue(`${where} must be a boolean (true or false).`);
}

function scalar(a: Attr, v: unknown, where: string): unknown {
  if (a.type === 'boolean') return booleanOf(v, where);
  if (typeof v === 'string') return v.length > 2048 ? (() => { throw invalidValue(`${where} is longer than 2048 characters.`); })() : v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw invalidValue(`${where} must be a string.`);
}

function complex(a: Attr, v: unknown, where: string): Json | undefined {
  // A bare value for a complex attribute (Entra's `manager` as an id string): its `value`.
  if (!isObject(v)) {
    if (find(a.subAttributes!, 'value') && (typeof v === 'string' || typeof v === 'number')) return v === '' ? undefined : { value: String(v) };
    throw invalidValue(`${where} must be an object.`);
  }
  const out: Json = {};
  for (const [k, sub] of Object.entries(v)) {
    const def = find(a.subAttributes!, k);
    if (!def || sub === null || sub === undefined) continue;
    out[def.name] = scalar(def, sub, `${where}.${def.name}`);
  }
  return Object.keys(out).length ? out : undefined;
}

function attribute(a: Attr, v: unknown, where: string): unknown {
  if (a.multiValued) {
    const list = Array.isArray(v) ? v : [v];
    if (list.length > 100) throw invalidValue(`${where} has more than 100 values.`);
    const out = list.filter((x) => x !== null && x !== undefined).map((x, i) => (a.subAttributes ? complex(a, x, `${where}[${i}]`) : scalar(a, x, `${where}[${i}]`))).filter((x) => x !== undefined);
    return out.length ? out : undefined;
  }
  return a.subAttributes ? complex(a, v, where) : scalar(a, v, where);
}

/** Clean `attrs`-schema attributes of `input` into canonical names (unknown ones and nulls are dropped). */
function cleanAttributes(attrs: Attr[], input: Json, skip: (key: string) => boolean): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(input)) {
    if (skip(k) || v === null || v === undefined) continue;
    const def = find(attrs, k);
    if (!def || def.mutability === 'readOnly') continue;
    const value = attribute(def, v, def.name);
    if (value !== undefined) out[def.name] = value;
  }
  return out;
}

const RESERVED = new Set(['schemas', 'id', 'meta', 'externalid', 'groups']);

/**
 * A User resource as stored: its core and enterprise attributes cleaned, `externalId` kept, `id`,
 * `meta`, `groups` and `password` dropped (the password is accepted and never kept). userName is
 * required (400 invalidValue without it).
 */
export function cleanUser(input: unknown): { userName: string; externalId?: string; active: boolean; attributes: Json } {
  if (!isObject(input)) throw invalidValue('The body must be a JSON object (a SCIM User).');
  const attributes = cleanAttributes(USER_ATTRIBUTES, input, (k) => RESERVED.has(k.toLowerCase()) || k.toLowerCase().startsWith('urn:'));
  delete attributes.password;
  const extKey = Object.keys(input).find((k) => k.toLowerCase() === ENTERPRISE_URN.toLowerCase());
  if (extKey && input[extKey] !== null) {
    if (!isObject(input[extKey])) throw invalidValue(`${ENTERPRISE_URN} must be an object.`);
    const ext = cleanAttributes(ENTERPRISE_ATTRIBUTES, input[extKey] as Json, () => false);
    if (Object.keys(ext).length) attributes[ENTERPRISE_URN] = ext;
  }
  const userName = attributes.userName;
  if (typeof userName !== 'string' || !userName.trim()) throw invalidValue('userName is required.');
  if (userName.length > 254) throw invalidValue('userName is longer than 254 characters.');
  const externalKey = Object.keys(input).find((k) => k.toLowerCase() === 'externalid');
  const externalId = externalKey && input[externalKey] !== null && input[externalKey] !== '' ? scalar(s('externalId'), input[externalKey], 'externalId') as string : undefined;
  if (externalId && externalId.length > 512) throw invalidValue('externalId is longer than 512 characters.');
  const active = attributes.active === undefined ? true : (attributes.active as boolean);
  attributes.active = active;
  return { userName, ...(externalId ? { externalId } : {}), active, attributes };
}

/** A Group's writable attributes: displayName (required), externalId, member ids. */
export function cleanGroup(input: unknown): { displayName: string; externalId?: string; members: string[] } {
  if (!isObject(input)) throw invalidValue('The body must be a JSON object (a SCIM Group).');
  const get = (name: string) => input[Object.keys(input).find((k) => k.toLowerCase() === name.toLowerCase()) ?? ''];
  const displayName = get('displayName');
  if (typeof displayName !== 'string' || !displayName.trim()) throw invalidValue('displayName is required.');
  if (displayName.length > 256) throw invalidValue('displayName is longer than 256 characters.');
  const externalId = get('externalId');
  if (externalId !== undefined && externalId !== null && typeof externalId !== 'string') throw invalidValue('externalId must be a string.');
  return { displayName, ...(typeof externalId === 'string' && externalId ? { externalId } : {}), members: memberIds(get('members')) };
}

/** Member references as IdPs send them: `[{value, display?}]`, a single object, or a bare id string. */
export function memberIds(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  if (list.length > MAX_RESULTS * 10) throw invalidValue('Too many members in one request.');
  return list.map((m, i) => {
    if (typeof m === 'string' || typeof m === 'number') return String(m);
    if (isObject(m)) {
      const key = Object.keys(m).find((k) => k.toLowerCase() === 'value');
      const value = key ? m[key] : undefined;
      if (typeof value === 'string' || typeof value === 'number') return String(value);
    }
    throw invalidValue(`members[${i}].value must be a user id.`);
  });
}

// ---------------------------------------------------------------------------------------------
// Projecting what goes out

/** Attribute names of `attributes` / `excludedAttributes`: `a`, `a.b`, `urn:…:a`, with any `[filter]` dropped. */
export function attributeList(v: string | null): string[][] | undefined {
  if (v === null || !v.trim()) return undefined;
  return v
    .split(',')
    .map((x) => x.replace(/\[.*\]/, '').trim())
    .filter(Boolean)
    .map((x) => {
      const lower = x.toLowerCase();
      for (const urn of [ENTERPRISE_URN, USER_URN, GROUP_URN]) {
        if (lower.startsWith(`${urn.toLowerCase()}:`)) {
          const rest = x.slice(urn.length + 1).split('.');
          return urn === ENTERPRISE_URN ? [urn, ...rest] : rest;
        }
        if (lower === urn.toLowerCase()) return [urn];
      }
      return x.split('.');
    });
}

const keyOf = (o: Json, name: string) => Object.keys(o).find((k) => k.toLowerCase() === name.toLowerCase());

function pick(o: Json, path: string[]): Json | undefined {
  const key = keyOf(o, path[0]!);
  if (key === undefined) return undefined;
  if (path.length === 1) return { [key]: o[key] };
  const v = o[key];
  if (Array.isArray(v)) {
    const list = v.filter(isObject).map((e) => pick(e, path.slice(1))).filter((e): e is Json => !!e);
    return list.length ? { [key]: list } : undefined;
  }
  if (!isObject(v)) return undefined;
  const inner = pick(v, path.slice(1));
  return inner ? { [key]: inner } : undefined;
}

function merge(into: Json, from: Json): void {
  for (const [k, v] of Object.entries(from)) {
    if (isObject(v) && isObject(into[k])) merge(into[k] as Json, v);
    else into[k] = v;
  }
}

function drop(o: Json, path: string[]): void {
  const key = keyOf(o, path[0]!);
  if (key === undefined) return;
  if (path.length === 1) {
    delete o[key];
    return;
  }
  const v = o[key];
  for (const e of Array.isArray(v) ? v : [v]) if (isObject(e)) drop(e, path.slice(1));
}

const ALWAYS = ['schemas', 'id'];

/** A resource as `attributes` / `excludedAttributes` ask for it (`id` and `schemas` always stay). */
export function project(resource: Json, attributes: string[][] | undefined, excluded: string[][] | undefined): Json {
  if (attributes) {
    const out: Json = {};
    for (const k of ALWAYS) if (k in resource) out[k] = resource[k];
    for (const path of attributes) {
      const part = pick(resource, path);
      if (part) merge(out, structuredClone(part));
    }
    return out;
  }
  if (excluded) {
    const out = structuredClone(resource);
    for (const path of excluded) if (!(path.length === 1 && ALWAYS.includes(path[0]!.toLowerCase()))) drop(out, path);
    return out;
  }
  return resource;
}
