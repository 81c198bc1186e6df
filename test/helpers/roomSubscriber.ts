import type { AffectStreamEvent } from '../../protocol/affect-event.ts';
import { AffectSubscriber } from '../../client/src/AffectSubscriber.ts';

/**
 * A subscriber to every event of `roomId` on the server at `url`, each handed to `onEvent` from the first one
 * (with `since`, the room's history from then comes first).
 */
export function subscribeToRoom(
  url: string,
  token: string,
  roomId: string,
  onEvent: (event: AffectStreamEvent) => void,
  since?: number,
): Promise<AffectSubscriber> {
  return AffectSubscriber.connect({ url, token, subscriptions: [{ roomId, ...(since === undefined ? {} : { since }) }], onEvent });
}
