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

  it('lets a publisher opt out of analysis, or in where ANALYSIS_DEFAULT=off, with ?analysis=', async () => {
    const off = await post('/whip/open?analysis=off');
    expect(off.status).toBe(201);
    expect(app.whip.get(off.headers.get('location')!.split('/').at(-1)!)!.peer.analysed).toBe(false);
    expect((await fetch(`${app.url}${off.headers.get('location')}`, { method: 'DELETE' })).status).toBe(200);
    const bad = await post('/whip/open?analysis=maybe');
    expect(bad.status).toBe(400);
    expect(await bad.text()).toBe('analysis must be on or off, not "maybe"');
    const optIn = await startTestServer({ ANALYSIS_ENABLED: 'false', ANALYSIS_DEFAULT: 'off' });
    try {
      const postTo = (query: string) =>
        fetch(`${optIn.url}/whip/optin${query}`, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: OFFER });
      const byDefault = await postTo('');
      expect(optIn.whip.get(byDefault.headers.get('location')!.split('/').at(-1)!)!.peer.analysed).toBe(false);
      const on = await postTo('?analysis=on');
      expect(on.status).toBe(201);
      expect(optIn.whip.get(on.headers.get('location')!.split('/').at(-1)!)!.peer.analysed).toBe(true);
    } finally {
      await optIn.close();
    }
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
