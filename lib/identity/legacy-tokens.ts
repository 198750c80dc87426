/**
 * LSE's legacy API token (`Authorization: Token <key>`), in a form that names the membership it
 * belongs to: `rlt_<organization id>_<user id>_<40 hex characters>`. The ids let the request read the
 * membership straight away, with no lookup before it; the whole token, ids included, is what is
 * hashed, and the hash kept on the membership is what it is compared with, so a token whose ids were
 * changed, or one cut short, matches nothing. Tokens of any other form (a bootstrap token the
 * operator chose, tokens issued before this form) are found through their lookup item.
 */
import { timingSafeEqual } from 'node:crypto';
import { hashToken, newToken } from '../core/util.js';

const FORM = /^rlt_([1-9][0-9]{0,14})_([1-9][0-9]{0,14})_([0-9a-f]{40})$/;

export const newLegacyToken = (orgId: number, userId: number) => `rlt_${orgId}_${userId}_${newToken()}`;

/** The membership a self-locating token names, or undefined for a token of another form. */
export function locateLegacyToken(token: string): { orgId: number; userId: number } | undefined {
  const m = FORM.exec(token);
  return m ? { orgId: Number(m[1]), userId: Number(m[2]) } : undefined;
}

/** Whether `token` is the one whose hash is `stored`, compared in constant time. */
export function matchesHash(token: string, stored: unknown): boolean {
  if (typeof stored !== 'string' || !/^[0-9a-f]{64}$/.test(stored)) return false;
  return timingSafeEqual(Buffer.from(hashToken(token), 'hex'), Buffer.from(stored, 'hex'));
}
