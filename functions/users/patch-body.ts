import { z } from 'zod';

const text = z.string().max(256);

/** LSE's PatchedLseUserSerializerUpdateRequest, as far as Roster keeps it (email is not changeable). */
export const userPatch = z.object({
  username: text.min(1).optional(),
  first_name: text.optional(),
  last_name: text.optional(),
  phone: text.optional(),
  allow_newsletters: z.boolean().nullable().optional(),
  password: z.string().min(8).max(256).optional(),
  active_organization: z.number().int().positive().nullable().optional(),
});
