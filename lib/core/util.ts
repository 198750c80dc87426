import { createHash, randomBytes } from 'node:crypto';

/** Tokens are random and long, so a fast one-way hash is the right store; only this hash is kept. */
export const hashToken = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');

/** A 40-hex-character key, the shape of LSE's legacy API tokens. */
export const newToken = () => randomBytes(20).toString('hex');

export const now = () => new Date().toISOString();
