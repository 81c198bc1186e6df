/** socket.io room names. The call namespace and the subscriber namespace have rooms of their own. */
export const callChannel = (roomId: string) => `call:${roomId}`;
export const roomChannel = (roomId: string) => `room:${roomId}`;
export const peerChannel = (roomId: string, peerId: string) => `peer:${roomId}:${peerId}`;
