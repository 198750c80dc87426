/**
 * SCIM filters (RFC 7644 §3.4.2.2). scim2-parse-filter parses; Roster evaluates, because the
 * library's own evaluation compares strings case-sensitively (userName is caseExact=false) and
 * matches `emails[type eq "work" and value eq "x"]` across different elements (notes §6).
 *
 * Before parsing, a pass over the tokens accepts what IdPs and Microsoft's test collection send
 * beyond the grammar: Entra's `emails[type eq "work"].value eq "x"` (rewritten to the valuePath
 * `emails[type eq "work" and value eq "x"]`, so both conditions hold of one element) and bare words
 * as compared values (`userName sw O`, `meta.created gt 2015-10-10T14:38:21Z`).
 */
import { type Filter, parse } from 'scim2-parse-filter';
import { invalidFilter } from './errors.js';
import { ENTERPRISE_URN, GROUP_URN, USER_URN } from './resources.js';

export type { Filter } from 'scim2-parse-filter';

const COMPARE = new Set(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'lt', 'ge', 'le']);
export const MAX_FILTER_LENGTH = 2048;

type Token = { kind: 'string' | 'word' | 'open' | 'close' | 'lbracket' | 'rbracket'; text: string };

function tokenize(q: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < q.length) {
    const c = q[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"') {
      let j = i + 1;
      while (j < q.length && q[j] !== '"') j += q[j] === '\\' ? 2 : 1;
      if (j >= q.length) throw invalidFilter('The filter has an unterminated string.');
      out.push({ kind: 'string', text: q.slice(i, j + 1) });
      i = j + 1;
    } else if ('()[]'.includes(c)) {
      out.push({ kind: c === '(' ? 'open' : c === ')' ? 'close' : c === '[' ? 'lbracket' : 'rbracket', text: c });
      i++;
    } else {
      let j = i;
      while (j < q.length && !/[\s()[\]"]/.test(q[j]!)) j++;
      out.push({ kind: 'word', text: q.slice(i, j) });
      i = j;
    }
  }
  return out;
}

const LITERAL = /^(true|false|null|-?\d+(\.\d+)?([eE][+-]?\d+)?)$/i;

/** The rewritten filter text (see the module comment). */
export function normalizeFilter(q: string): string {
  const t = tokenize(q);
  // Bare compared values become strings.
  for (let i = 1; i < t.length; i++) {
    const prev = t[i - 1]!;
    const cur = t[i]!;
    if (prev.kind === 'word' && COMPARE.has(prev.text.toLowerCase()) && cur.kind === 'word' && !LITERAL.test(cur.text)) {
      t[i] = { kind: 'string', text: JSON.stringify(cur.text) };
    } else if (prev.kind === 'word' && COMPARE.has(prev.text.toLowerCase()) && cur.kind === 'word' && /^(true|false|null)$/i.test(cur.text)) {
      t[i] = { kind: 'word', text: cur.text.toLowerCase() };
    }
  }
  // attr[filter].sub op value  →  attr[(filter) and sub op value];  attr[filter].sub pr  →  attr[(filter) and sub pr]
  for (let i = 0; i < t.length; i++) {
    if (t[i]!.kind !== 'rbracket') continue;
    const sub = t[i + 1];
    if (!sub || sub.kind !== 'word' || !sub.text.startsWith('.') || sub.text.length < 2) continue;
    let depth = 0;
    let open = -1;
    for (let j = i; j >= 0; j--) {
      if (t[j]!.kind === 'rbracket') depth++;
      if (t[j]!.kind === 'lbracket' && --depth === 0) {
        open = j;
        break;
      }
    }
    if (open < 0) continue;
    const op = t[i + 2];
    if (!op || op.kind !== 'word') continue;
    const isPr = op.text.toLowerCase() === 'pr';
    if (!isPr && !COMPARE.has(op.text.toLowerCase())) continue;
    const tail: Token[] = isPr ? [{ kind: 'word', text: sub.text.slice(1) }, op] : [{ kind: 'word', text: sub.text.slice(1) }, op, t[i + 3]!];
    if (!isPr && !t[i + 3]) continue;
    const inner = t.slice(open + 1, i);
    const replaced: Token[] = [t[open]!, { kind: 'open', text: '(' }, ...inner, { kind: 'close', text: ')' }, { kind: 'word', text: 'and' }, ...tail, { kind: 'rbracket', text: ']' }];
    t.splice(open, i - open + 1 + tail.length, ...replaced);
    i = open + replaced.length - 1;
  }
  let out = '';
  for (let i = 0; i < t.length; i++) {
    const cur = t[i]!;
    const glue = i === 0 || cur.kind === 'lbracket' || cur.kind === 'rbracket' || cur.kind === 'close' || t[i - 1]!.kind === 'open' || t[i - 1]!.kind === 'lbracket';
    out += (glue ? '' : ' ') + cur.text;
  }
  return out;
}

/** Parse a filter (400 invalidFilter, naming the problem, for anything the grammar refuses). */
export function parseFilter(q: string): Filter {
  if (q.length > MAX_FILTER_LENGTH) throw invalidFilter(`The filter is longer than ${MAX_FILTER_LENGTH} characters.`);
  let f: Filter;
  try {
    f = parse(normalizeFilter(q));
  } catch (err) {
    if ((err as { status?: number }).status) throw err;
    throw invalidFilter(`The filter could not be parsed: ${(err as Error).message}`);
  }
  checkDepth(f, 0);
  return f;
}

function checkDepth(f: Filter, depth: number): void {
  if (depth > 32) throw invalidFilter('The filter is nested too deeply.');
  if (f.op === 'and' || f.op === 'or') f.filters.forEach((x) => checkDepth(x, depth + 1));
  else if (f.op === 'not') checkDepth(f.filter, depth + 1);
  else if (f.op === '[]') checkDepth(f.valFilter, depth + 1);
}

// ---------------------------------------------------------------------------------------------
// Evaluation

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Attributes compared case-sensitively (RFC 7643: caseExact=true); every other string ignores case. */
const CASE_EXACT = new Set(['id', 'externalid', 'meta.version', 'meta.location', 'members.value', 'manager.value', '$ref']);
const DATES = new Set(['meta.created', 'meta.lastmodified']);

/** An attribute path split into its parts, a schema URN prefix (core or extension) resolved. */
export function pathParts(attrPath: string): string[] {
  const lower = attrPath.toLowerCase();
  for (const urn of [ENTERPRISE_URN, USER_URN, GROUP_URN]) {
    if (lower.startsWith(`${urn.toLowerCase()}:`)) {
      const rest = attrPath.slice(urn.length + 1).split('.');
      return urn === ENTERPRISE_URN ? [urn, ...rest] : rest;
    }
  }
  return attrPath.split('.');
}

const child = (o: Json, name: string): unknown => {
  const key = Object.keys(o).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : o[key];
};

/** Every value at a path: arrays are flattened (a multi-valued attribute matches if any value does). */
function valuesAt(node: unknown, parts: string[]): unknown[] {
  if (Array.isArray(node)) return node.flatMap((n) => valuesAt(n, parts));
  if (!parts.length) {
    // A multi-valued complex attribute compared as a whole: its `value` sub-attribute.
    if (isObject(node) && 'value' in node) return [node.value];
    return [node];
  }
  if (!isObject(node)) return [];
  // Extension attributes also answer by their bare name (`manager`, `department`).
  let v = child(node, parts[0]!);
  if (v === undefined && parts[0] !== ENTERPRISE_URN && isObject(node[ENTERPRISE_URN])) v = child(node[ENTERPRISE_URN] as Json, parts[0]!);
  if (v === undefined) return [];
  return valuesAt(v, parts.slice(1));
}

const present = (v: unknown) => v !== undefined && v !== null && v !== '' && !(Array.isArray(v) && !v.length) && !(isObject(v) && !Object.keys(v).length);

function compare(op: string, actual: unknown, expected: unknown, path: string): boolean {
  const key = path.toLowerCase();
  if (actual === undefined || actual === null) return op === 'ne' ? expected !== null : op === 'eq' && expected === null;
  if (expected === null) return op === 'ne';
  if (typeof actual === 'boolean' || typeof expected === 'boolean') {
    const a = typeof actual === 'boolean' ? actual : String(actual).toLowerCase() === 'true';
    const e = typeof expected === 'boolean' ? expected : String(expected).toLowerCase() === 'true';
    if (op === 'eq') return a === e;
    if (op === 'ne') return a !== e;
    throw invalidFilter(`The operator ${op} does not apply to booleans (${path}).`);
  }
  if (DATES.has(key) && ['gt', 'lt', 'ge', 'le', 'eq', 'ne'].includes(op)) {
    const a = Date.parse(String(actual));
    const e = Date.parse(String(expected));
    if (Number.isNaN(e)) throw invalidFilter(`${path} is compared with a date; ${JSON.stringify(expected)} is not one.`);
    return op === 'gt' ? a > e : op === 'lt' ? a < e : op === 'ge' ? a >= e : op === 'le' ? a <= e : op === 'eq' ? a === e : a !== e;
  }
  const exact = CASE_EXACT.has(key) || CASE_EXACT.has(key.split('.').pop()!);
  const a = exact ? String(actual) : String(actual).toLowerCase();
  const e = exact ? String(expected) : String(expected).toLowerCase();
  switch (op) {
    case 'eq': return a === e;
    case 'ne': return a !== e;
    case 'co': return a.includes(e);
    case 'sw': return a.startsWith(e);
    case 'ew': return a.endsWith(e);
    case 'gt': return a > e;
    case 'lt': return a < e;
    case 'ge': return a >= e;
    case 'le': return a <= e;
    default: throw invalidFilter(`Unknown operator ${op}.`);
  }
}

/** Whether `resource` matches `f`, with RFC 7644's rules (see the module comment). */
export function matches(f: Filter, resource: unknown, prefix: string[] = []): boolean {
  switch (f.op) {
    case 'and': return f.filters.every((x) => matches(x, resource, prefix));
    case 'or': return f.filters.some((x) => matches(x, resource, prefix));
    case 'not': return !matches(f.filter, resource, prefix);
    case '[]': {
      const parts = pathParts(f.attrPath);
      const elements = valuesAtRaw(resource, parts);
      return elements.some((e) => matches(f.valFilter, e, [...prefix, ...parts]));
    }
    case 'pr': return valuesAt(resource, pathParts(f.attrPath)).some(present);
    default: {
      const parts = pathParts(f.attrPath);
      const name = [...prefix, ...parts].filter((p) => p !== ENTERPRISE_URN).join('.');
      const values = valuesAt(resource, parts);
      if (!values.length) return compare(f.op, undefined, f.compValue, name);
      // `ne` holds when no value equals; every other operator when some value matches.
      if (f.op === 'ne') return values.every((v) => compare('ne', v, f.compValue, name));
      return values.some((v) => compare(f.op, v, f.compValue, name));
    }
  }
}

/** The elements of a (multi-valued) attribute, for a valuePath filter to test one by one. */
function valuesAtRaw(node: unknown, parts: string[]): unknown[] {
  let cur: unknown[] = [node];
  for (const p of parts) {
    cur = cur.flatMap((n) => {
      if (!isObject(n)) return [];
      let v = child(n, p);
      if (v === undefined && p !== ENTERPRISE_URN && isObject(n[ENTERPRISE_URN])) v = child(n[ENTERPRISE_URN] as Json, p);
      return v === undefined ? [] : Array.isArray(v) ? v : [v];
    });
  }
  return cur;
}

/**
 * The key a filter can be served by: `attr eq value` on its own or as one term of a top-level
 * `and` (the rest is then evaluated on the few resources the key finds).
 */
export function keyTerm(f: Filter, attrs: readonly string[]): { attr: string; value: string } | undefined {
  const terms = f.op === 'and' ? f.filters : [f];
  for (const t of terms) {
    if (t.op !== 'eq' || t.compValue === null || typeof t.compValue === 'boolean') continue;
    const path = pathParts(t.attrPath).join('.').toLowerCase();
    const attr = attrs.find((a) => a.toLowerCase() === path);
    if (attr) return { attr, value: String(t.compValue) };
  }
  return undefined;
}
