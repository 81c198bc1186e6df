/** Webhook signature check (Node: node:crypto), the one the service signs with; the payload types are in the main entry. */
export { verifyWebhook, WEBHOOK_TOLERANCE_S } from '../../../server/src/webhooks/signature.ts';
export { WEBHOOK_HEADERS, WebhookPayloadSchema, type WebhookPayload, type WebhookEvent } from '../../../protocol/webhooks.ts';
