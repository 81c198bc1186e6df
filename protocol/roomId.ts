/** What a room id may be, wherever one arrives: a join request, a token's claims, a history URL. Browser-safe. */
import { z } from 'zod';

export const RoomIdSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, 'room id may only contain letters, digits, "_" and "-"');
