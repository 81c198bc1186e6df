import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../server/src/app.ts';
import { startTestServer } from '../helpers/server.ts';

const OFFER = readFileSync(new URL('fixtures/chromium-offer.sdp', import.meta.url), 'utf8');

let app: App;

beforeAll(async () => {
  // CALL_AUTH=open is the default; nothing here sends media, so no model is needed.
  app = await startTestServer({ ANALYSIS_ENABLED: 'false' });
});

afterAll(async () => {
  await app?.close();
});

const post = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${app.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/sdp', ...headers }, body: OFFER });

describe('WHIP with CALL_AUTH=open', () => {
  it('takes a publisher without a token, named by ?name=, analysed, and ends it on a DELETE without one', async () => {
    const created = await post('/whip/open?name=Studio%20camera', { authorization: 'Bearer ignored-in-open-mode' });
    expect(created.status, await created.clone().text()).toBe(201);
    const session = app.whip.get(created.headers.get('location')!.split('/').at(-1)!)!;
    expect(session.peer.displayName).toBe('Studio camera');
    expect(session.peer.analysed).toBe(true);
    expect(session.identity).toBeUndefined();
    const deleted = await fetch(`${app.url}${created.headers.get('location')}`, { method: 'DELETE' });
    expect(deleted.status).toBe(200);
    expect(app.whip.size).toBe(0);
    expect(app.rooms.get('open')).toBeUndefined();
  });

  it('names an unnamed publisher "WHIP publisher", and refuses a name over MAX_DISPLAY_NAME_LENGTH', async () => {
    const unnamed = await post('/whip/open');
    expect(unnamed.status).toBe(201);
    expect(app.whip.get(unnamed.headers.get('location')!.split('/').at(-1)!)!.peer.displayName).toBe('WHIP publisher');
    expect((await fetch(`${app.url}${unnamed.headers.get('location')}`, { method: 'DELETE' })).status).toBe(200);
    const long = await post(`/whip/open?name=${'x'.repeat(65)}`);
    expect(long.status).toBe(400);
    expect(await long.text()).toBe('displayName is longer than 64 characters');
  });
});
