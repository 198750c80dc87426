/**
 * SCIM PATCH (RFC 7644 §3.5.2). A User is patched with scim-patch behind a normalising pass of
 * Roster's own; a Group's operations become member deltas and a rename (never a read-modify-write
 * of the member list). The pass accepts what Okta and Entra send and the library alone mishandles
 * (notes-scim-idps.md §6): `op` in any case; an empty `Operations` list (a no-op); attribute names
 * in any case (canonicalised to the schema's); `"True"`/`"False"` (the cleaned result is re-typed);
 * Entra's member removal by a value list; a bare `manager` id; `""`/`null` replace = remove;
 * `id`/`meta` → 400 mutability (Okta's pathless rename carrying the unchanged `id` is accepted);
 * whatever the library throws → 400 with its scimType.
 */
import { type ScimPatchOperation, scimPatch } from 'scim-patch';
import { ScimError, invalidPath, invalidSyntax, invalidValue, mutability, noTarget, tooMany } from './errors.js';
import { type Attr, ENTERPRISE_ATTRIBUTES, ENTERPRISE_URN, GROUP_ATTRIBUTES, MAX_OPERATIONS, USER_ATTRIBUTES, USER_URN, memberIds } from './resources.js';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface Operation {
  op: 'add' | 'replace' | 'remove';
  path?: string;
  value?: unknown;
}

/** The operations of a PatchOp body, `op` lower-cased, with at most MAX_OPERATIONS of them. */
export function operationsOf(body: unknown): Operation[] {
  if (!isObject(body)) throw invalidSyntax('The body must be a PatchOp object with "Operations".');
  const key = Object.keys(body).find((k) => k.toLowerCase() === 'operations');
  const ops = key ? body[key] : undefined;
  if (ops === undefined || ops === null) return [];
  if (!Array.isArray(ops)) throw invalidSyntax('"Operations" must be a list.');
  if (ops.length > MAX_OPERATIONS) throw tooMany(`At most ${MAX_OPERATIONS} operations per PATCH.`);
  return ops.map((o, i) => {
    if (!isObject(o)) throw invalidSyntax(`Operations[${i}] must be an object.`);
    const get = (name: string) => o[Object.keys(o).find((k) => k.toLowerCase() === name) ?? ''];
    const op = get('op');
    if (typeof op !== 'string' || !['add', 'replace', 'remove'].includes(op.toLowerCase())) throw invalidSyntax(`Operations[${i}].op must be add, replace or remove.`);
    const path = get('path');
    if (path !== undefined && path !== null && (typeof path !== 'string' || path.length > 1024)) throw invalidPath(`Operations[${i}].path must be a string.`);
    const value = get('value');
    return { op: op.toLowerCase() as Operation['op'], ...(typeof path === 'string' && path.trim() ? { path: path.trim() } : {}), ...(value !== undefined ? { value } : {}) };
  });
}

// ---------------------------------------------------------------------------------------------
// Paths

const find = (attrs: Attr[], name: string) => attrs.find((a) => a.name.toLowerCase() === name.toLowerCase());
const KNOWN_URNS = [ENTERPRISE_URN, USER_URN];

/** A path's parts: the schema it names (core unless a URN says otherwise), the attribute, its filter, its sub-attribute. */
interface Path {
  urn: string;
  attr: string;
  filter?: string;
  sub?: string;
}

const PATH = /^([A-Za-z$][\w$-]*)(\[(.*)\])?(\.([A-Za-z$][\w$-]*))?$|^([A-Za-z$][\w$-]*)\.([A-Za-z$][\w$-]*)$/;

export function parsePath(raw: string, attrs: Attr[] = USER_ATTRIBUTES): Path {
  let rest = raw;
  let urn = USER_URN;
  for (const u of KNOWN_URNS) {
    if (raw.toLowerCase().startsWith(`${u.toLowerCase()}:`)) {
      urn = u;
      rest = raw.slice(u.length + 1);
    }
  }
  if (raw.toLowerCase().startsWith('urn:') && rest === raw) throw invalidPath(`Unknown schema in path ${raw}.`);
  const m = PATH.exec(rest);
  if (!m) throw invalidPath(`Invalid path ${raw}.`);
  const schemaAttrs = urn === ENTERPRISE_URN ? ENTERPRISE_ATTRIBUTES : attrs;
  const name = m[1] ?? m[6]!;
  const subName = m[5] ?? m[7];
  const lower = name.toLowerCase();
  if (lower === 'id' || lower === 'meta' || lower === 'schemas') throw mutability(`${name} is read-only.`);
  if (lower === 'externalid' && urn === USER_URN) return { urn, attr: 'externalId' };
  if (lower === 'groups' && attrs === USER_ATTRIBUTES) throw mutability('groups is read-only: change a group\'s members instead.');
  const def = find(schemaAttrs, name);
  if (!def) throw invalidPath(`Unknown attribute ${name}${urn !== USER_URN ? ` in ${urn}` : ''}.`);
  let sub: string | undefined;
  if (subName) {
    const s = def.subAttributes ? find(def.subAttributes, subName) : undefined;
    if (!s) throw invalidPath(`Unknown sub-attribute ${subName} of ${def.name}.`);
    sub = s.name;
  }
  let filter: string | undefined;
  if (m[3] !== undefined) {
    if (!def.multiValued) throw invalidPath(`${def.name} is not multi-valued; it takes no filter.`);
    // Sub-attribute names in their canonical case, and `type` values lower-case (types are compared without case).
    filter = m[3].replace(/([A-Za-z$][\w$]*)(\s+(?:eq|ne|co|sw|ew|gt|lt|ge|le|pr)\b)(\s+"([^"]*)")?/gi, (_all, attr: string, op: string, valuePart?: string, value?: string) => {
      const s = def.subAttributes ? find(def.subAttributes, attr) : undefined;
      const canonical = s?.name ?? attr;
      const v = valuePart === undefined ? '' : canonical === 'type' ? ` "${value!.toLowerCase()}"` : valuePart;
      return `${canonical}${op.toLowerCase()}${v}`;
    });
  }
  return { urn, attr: def.name, ...(filter !== undefined ? { filter } : {}), ...(sub ? { sub } : {}) };
}

const pathText = (p: Path) => `${p.urn === USER_URN ? '' : `${p.urn}:`}${p.attr}${p.filter !== undefined ? `[${p.filter}]` : ''}${p.sub ? `.${p.sub}` : ''}`;

const emptyValue = (v: unknown) => v === null || v === '' || (Array.isArray(v) && v.length === 0);

/** Pathless values: keys canonicalised (dotted and URN keys too); `id` equal to the resource's is dropped, any other `id` or `meta` refused. */
function pathlessOps(op: Operation, id: string): Operation[] {
  if (!isObject(op.value)) throw invalidValue('A PATCH operation without a path needs an object value.');
  const out: Operation[] = [];
  for (const [k, v] of Object.entries(op.value)) {
    const lower = k.toLowerCase();
    if (lower === 'id') {
      if (String(v) !== id) throw mutability('id is read-only.');
      continue;
    }
    // Read-only parts of a whole resource sent back as the value: nothing to change.
    if (lower === 'meta' || lower === 'schemas' || lower === 'groups') continue;
    if (lower === ENTERPRISE_URN.toLowerCase()) {
      if (!isObject(v)) throw invalidValue(`${ENTERPRISE_URN} must be an object.`);
      for (const [ek, ev] of Object.entries(v)) out.push(...pathOps({ op: op.op, path: `${ENTERPRISE_URN}:${ek}`, value: ev }, id));
      continue;
    }
    out.push(...pathOps({ op: op.op, path: k, value: v }, id));
  }
  return out;
}

/** One operation with a path, normalised (replace with "" or null = remove; Entra's remove-by-value of a manager). */
function pathOps(op: Operation, id: string): Operation[] {
  const p = parsePath(op.path!);
  const path = pathText(p);
  if (op.op !== 'remove' && (op.value === undefined || emptyValue(op.value))) return [{ op: 'remove', path }];
  if (op.op === 'remove') return [{ op: 'remove', path }];
  let value = op.value;
  // Entra's manager: a bare id, or a list of one reference; either way an object with a value.
  if (p.attr === 'manager' && !p.sub) {
    if (Array.isArray(value)) value = value[0];
    if (typeof value === 'string' || typeof value === 'number') value = { value: String(value) };
  }
  return [{ op: op.op, path, value }];
}

/** The normalised operations for a User (see the module comment). */
export function normalizeUserOps(ops: Operation[], id: string): Operation[] {
  return ops.flatMap((op) => {
    if (!op.path) {
      if (op.op === 'remove') throw noTarget('A remove operation needs a path.');
      return pathlessOps(op, id);
    }
    return pathOps(op, id);
  });
}

const SCIM_TYPES: Record<string, ScimError['scimType']> = { invalidSyntax: 'invalidPath', noTarget: 'noTarget', invalidValue: 'invalidValue', invalidPath: 'invalidPath', mutability: 'mutability' };

/**
 * Apply normalised operations to a stored User resource (not mutated). The result still has to be
 * cleaned (resources.ts cleanUser): that re-types "True"/"False" and wraps a bare manager id.
 */
export function applyUserOps(resource: Json, ops: Operation[]): Json {
  if (!ops.length) return structuredClone(resource);
  // A remove of something absent is a no-op (RFC 7644 §3.5.2.2 says the target must exist, but IdPs
  // re-send removals; answering 400 would quarantine them).
  let doc = structuredClone(resource) as Json & { meta: { created: Date; lastModified: Date }; schemas: string[] };
  for (const op of ops) {
    try {
      doc = scimPatch(doc, [op as ScimPatchOperation], { mutateDocument: false, treatMissingAsAdd: true });
    } catch (err) {
      const code = (err as { scimCode?: string }).scimCode;
      const name = (err as Error).name;
      if (op.op === 'remove' && (code === 'noTarget' || /NoTarget|FilterOnEmptyArray|FilterArrayTargetNotFound/.test(name))) continue;
      if (err instanceof ScimError) throw err;
      if (err instanceof TypeError) throw invalidValue(`The operation ${op.op} ${op.path ?? ''} could not be applied: ${err.message}`);
      throw new ScimError(400, `The operation ${op.op} ${op.path ?? ''} could not be applied: ${(err as Error).message}`, SCIM_TYPES[code ?? ''] ?? 'invalidValue');
    }
  }
  return doc;
}

// ---------------------------------------------------------------------------------------------
// Groups: deltas

export type GroupChange =
  | { kind: 'rename'; displayName: string }
  | { kind: 'externalId'; externalId: string | null }
  | { kind: 'add'; ids: string[] }
  | { kind: 'remove'; ids: string[] }
  | { kind: 'removeAll' }
  | { kind: 'replace'; ids: string[] };

const MEMBER_FILTER = /^value\s+eq\s+"([^"]*)"$/i;

/** A Group PATCH as changes: renames and member deltas, in order. */
export function groupChanges(ops: Operation[], id: string): GroupChange[] {
  const out: GroupChange[] = [];
  const attrOp = (op: Operation['op'], name: string, value: unknown, filter?: string) => {
    const lower = name.toLowerCase();
    if (lower === 'id') {
      if (value !== undefined && String(value) === id && op !== 'remove') return;
      throw mutability('id is read-only.');
    }
    if (lower === 'meta' || lower === 'schemas') {
      if (op === 'remove') throw mutability(`${name} is read-only.`);
      return;
    }
    if (lower === 'displayname') {
      if (op === 'remove' || typeof value !== 'string' || !value.trim()) throw invalidValue('displayName must be a non-empty string.');
      if (value.length > 256) throw invalidValue('displayName is longer than 256 characters.');
      out.push({ kind: 'rename', displayName: value });
      return;
    }
    if (lower === 'externalid') {
      if (op === 'remove' || emptyValue(value)) out.push({ kind: 'externalId', externalId: null });
      else if (typeof value === 'string') out.push({ kind: 'externalId', externalId: value });
      else throw invalidValue('externalId must be a string.');
      return;
    }
    if (lower === 'members') {
      if (filter !== undefined) {
        const m = MEMBER_FILTER.exec(filter.trim());
        if (!m) throw invalidPath('Members are selected with members[value eq "<id>"].');
        if (op !== 'remove') throw invalidPath('Only remove takes members[value eq "<id>"]; add members by value.');
        out.push({ kind: 'remove', ids: [m[1]!] });
        return;
      }
      if (op === 'add') out.push({ kind: 'add', ids: memberIds(value) });
      else if (op === 'replace') out.push({ kind: 'replace', ids: memberIds(value) });
      // Entra's remove by a value list; without a value, every member.
      else if (value === undefined || value === null) out.push({ kind: 'removeAll' });
      else out.push({ kind: 'remove', ids: memberIds(value) });
      return;
    }
    if (!find(GROUP_ATTRIBUTES, name)) throw invalidPath(`Unknown attribute ${name}.`);
  };
  for (const op of ops) {
    if (!op.path) {
      if (op.op === 'remove') throw noTarget('A remove operation needs a path.');
      if (!isObject(op.value)) throw invalidValue('A PATCH operation without a path needs an object value.');
      for (const [k, v] of Object.entries(op.value)) attrOp(op.op, k, v);
      continue;
    }
    const path = op.path.replace(/^urn:ietf:params:scim:schemas:core:2\.0:Group:/i, '');
    const m = /^([A-Za-z$][\w$]*)(\[(.*)\])?(\.value)?$/i.exec(path);
    if (!m) throw invalidPath(`Invalid path ${op.path}.`);
    attrOp(op.op, m[1]!, op.value, m[3]);
  }
  return out;
}
