import { createHmac, timingSafeEqual } from 'node:crypto';

/** Seconds a webhook's timestamp may be from the receiver's clock: an older one may be a replay. */
export const WEBHOOK_TOLERANCE_S = 300;

/** `v1,<base64 HMAC-SHA256(secret, "<id>.<timestamp>.<body>")>`: the id and time are signed with the body. */
export function signWebhook(secret: string, id: string, timestampS: number, body: string): string {
  return `v1,${createHmac('sha256', secret).update(`${id}.${timestampS}.${body}`).digest('base64')}`;
}

/**
 * Whether a webhook is authentic and fresh: its signature header (one or more space-separated `v1,...`
 * values: a secret being rotated may sign twice) matches, compared in constant time, and its timestamp is
 * within WEBHOOK_TOLERANCE_S of `nowS`.
 */
export function verifyWebhook(
  secret: string,
  headers: { id: string | undefined; timestamp: string | undefined; signature: string | undefined },
  body: string,
  nowS = Math.floor(Date.now() / 1000),
): boolean {
  const { id, timestamp, signature } = headers;
  if (!id || !timestamp || !signature || !/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(nowS - Number(timestamp)) > WEBHOOK_TOLERANCE_S) return false;
  const expected = Buffer.from(signWebhook(secret, id, Number(timestamp), body));
  return signature.split(' ').some((candidate) => {
    const given = Buffer.from(candidate);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
