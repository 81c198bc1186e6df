/**
 * Publishing video to the affect service over WHIP, from a browser (it needs `RTCPeerConnection`). No dependencies:
 * a page can import this module as it is.
 */
export { publishWhip, DEFAULT_WHIP_TIMEOUT_MS, type PublishWhipOptions, type WhipMedia, type WhipPublication } from './whip/publishWhip.ts';
export { WhipError, type WhipErrorCode } from './whip/WhipError.ts';
