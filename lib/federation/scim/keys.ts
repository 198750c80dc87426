/**
 * The SCIM protocol's items, all in the organization's partition (`ORG#<pad org>`), beside the
 * lead's group store (lib/federation/groups.ts: SCIMG#, SCIMGN#, GMEM#, UGRP#):
 * - `SCIMU#<pad user>`: one SCIM User resource (its id is the Roster user id);
 * - `SCIMUN#<userName lower-case>`: userName's uniqueness item (caseExact=false), naming the user;
 * - `SCIMUX#<externalId>#<pad user>`: externalId's index (RFC 7643: not unique), one item per user;
 * - `SCIMTOK#<id>`: a SCIM token's listing (its secret only as the hash of `TOKEN#<hash>`).
 */
import { keys, pad } from '../../core/table.js';

const org = (orgId: number) => keys.organization(orgId).PK;

export const scimKeys = {
  user: (orgId: number, userId: number) => ({ PK: org(orgId), SK: `SCIMU#${pad(userId)}` }),
  userPrefix: (orgId: number) => ({ PK: org(orgId), SKPrefix: 'SCIMU#' }),
  userName: (orgId: number, userName: string) => ({ PK: org(orgId), SK: `SCIMUN#${userName.toLowerCase()}` }),
  externalId: (orgId: number, externalId: string, userId: number) => ({ PK: org(orgId), SK: `SCIMUX#${externalId}#${pad(userId)}` }),
  externalIdPrefix: (orgId: number, externalId: string) => ({ PK: org(orgId), SKPrefix: `SCIMUX#${externalId}#` }),
  token: (orgId: number, id: string) => ({ PK: org(orgId), SK: `SCIMTOK#${id}` }),
  tokenPrefix: (orgId: number) => ({ PK: org(orgId), SKPrefix: 'SCIMTOK#' }),
};
