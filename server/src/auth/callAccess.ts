import type { Socket } from 'socket.io';
import type { Grants, ParticipantClaims } from '../../../protocol/tokens.ts';
import type { Config } from '../config.ts';
import { forbidden, invalidRequest } from '../errors.ts';
import type { PeerSpec } from '../sfu/PeerTypes.ts';
import { verifyParticipantToken, type TokenKey } from './tokens.ts';

/** What one call socket may do: what its participant token says, or everything in open mode. */
export interface CallAccess {
  /** The one room it may join; any when undefined. */
  room: string | undefined;
  /** Who the calling application says this is (the token's `sub`), for the logs. */
  identity: string | undefined;
  /** The display name the token fixes; the join request's when undefined. */
  name: string | undefined;
  grants: Grants;
}

const OPEN_ACCESS: CallAccess = {
  room: undefined,
  identity: undefined,
  name: undefined,
  grants: { join: true, publish: true, subscribeAffect: true, analysed: true },
};

function accessOf(claims: ParticipantClaims): CallAccess {
  return { room: claims.room, identity: claims.sub, name: claims.name ?? claims.sub, grants: claims.grants };
}

/**
 * Who joins `roomId`, if `access` allows it; throws FORBIDDEN or INVALID_REQUEST if not. A participant
 * granted analysis starts analysed when `analysedByDefault` (ANALYSIS_DEFAULT), and may opt out or in.
 */
export function admit(
  access: CallAccess,
  roomId: string,
  requestedName: string | undefined,
  maxNameLength: number,
  analysedByDefault: boolean,
): PeerSpec {
  if (!access.grants.join) throw forbidden('this token does not grant joining a call');
  if (access.room !== undefined && access.room !== roomId) throw forbidden(`this token does not grant room ${roomId}`);
  const displayName = access.name ?? requestedName;
  if (displayName === undefined) throw invalidRequest('displayName is required');
  if (displayName.length > maxNameLength) throw invalidRequest(`displayName is longer than ${maxNameLength} characters`);
  return { displayName, analysed: access.grants.analysed && analysedByDefault, analysisGranted: access.grants.analysed };
}

export function requireGrant(access: CallAccess, grant: keyof Grants, action: string): void {
  if (!access.grants[grant]) throw forbidden(`this token does not grant ${action}`);
}

export function accessOfSocket(socket: Socket): CallAccess {
  return socket.data.access as CallAccess;
}

/**
 * What the bearer of `token` may do in a call: under CALL_AUTH=token what its participant token says (a token
 * that does not verify is refused, with the reason); in open mode everything, and any token is ignored.
 */
export async function accessOfToken(mode: Config['auth']['mode'], token: unknown, key: TokenKey): Promise<CallAccess> {
  return mode === 'open' ? OPEN_ACCESS : accessOf(await verifyParticipantToken(token, key));
}

/**
 * socket.io middleware for the call namespace: under CALL_AUTH=token a connection without a valid
 * participant token (`auth: { token }`) is refused before it can ask anything (accessOfToken).
 */
export function callAuthMiddleware(mode: Config['auth']['mode'], key: TokenKey) {
  return (socket: Socket, next: (error?: Error) => void): void => {
    accessOfToken(mode, socket.handshake.auth?.token, key).then(
      (access) => {
        socket.data.access = access;
        next();
      },
      (error: Error) => next(new Error(`unauthorized: ${error.message}`)),
    );
  };
}
