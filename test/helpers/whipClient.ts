import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BrowserContext, Page } from 'playwright-core';

/** What a WHIP POST was answered, and when (the page's clock, which is this host's). */
export interface Published {
  status: number;
  body: string;
  location: string | null;
  etag: string | null;
  answeredAt: number;
}

declare global {
  interface Window {
    /** The page's WHIP session: its connection, camera and the resource to PATCH and DELETE. */
    whip?: { pc: RTCPeerConnection; media: MediaStream; answer: string; resource: string; token: string | undefined; etag: string };
  }
}

/**
 * A page to run a WHIP client in, served from 127.0.0.1 on a port of its own: another origin than the server's.
 * Blank, or with a module script `head` in it; `scripts` are the JavaScript files it may import, by path.
 */
export async function serveClientPage(head = '', scripts: Record<string, string> = {}): Promise<{ origin: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    const script = scripts[req.url ?? ''];
    if (script !== undefined) return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
    res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><title>WHIP client</title>${head && `<script type="module">${head}</script>`}`);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * A page of `origin` to run a WHIP client in (a loopback address is a secure context: it has a camera). Served
 * for real: Chromium lets a page reach a loopback address only from one itself.
 */
export async function whipClientPage(browser: BrowserContext, origin: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(origin);
  return page;
}

/**
 * In the page, as a WHIP client does (RFC 9725): the camera (and microphone) on a sendonly RTCPeerConnection,
 * its offer POSTed to `endpoint`, the answer applied. No candidates are waited for: the server is ICE-lite.
 */
export function publish(page: Page, endpoint: string, token: string | undefined, audio = true, video: 'any' | 'H264' = 'any'): Promise<Published> {
  return page.evaluate(
    async ({ endpoint, token, audio, video }) => {
      const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
      const media = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio });
      for (const track of media.getTracks()) {
        const transceiver = pc.addTransceiver(track, { direction: 'sendonly' });
        // Only constrained-baseline H.264 (and its retransmissions) offered, as OBS offers it.
        if (track.kind === 'video' && video === 'H264') {
          const codecs = RTCRtpSender.getCapabilities('video')!.codecs.filter(
            (c) => /video\/rtx/i.test(c.mimeType) || (/H264/i.test(c.mimeType) && /42e01f/.test(c.sdpFmtpLine ?? '') && /packetization-mode=1/.test(c.sdpFmtpLine ?? '')),
          );
          transceiver.setCodecPreferences(codecs);
        }
      }
      await pc.setLocalDescription(await pc.createOffer());
      const response = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/sdp', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
        body: pc.localDescription!.sdp,
      });
      const answeredAt = Date.now();
      const body = await response.text();
      const result = { status: response.status, body, location: response.headers.get('location'), etag: response.headers.get('etag'), answeredAt };
      if (response.status === 201 && result.location !== null && result.etag !== null) {
        await pc.setRemoteDescription({ type: 'answer', sdp: body });
        window.whip = { pc, media, answer: body, resource: new URL(result.location, endpoint).href, token, etag: result.etag };
      } else {
        pc.close();
        for (const track of media.getTracks()) track.stop();
      }
      return result;
    },
    { endpoint, token, audio, video },
  );
}

/** Waits until the page's connection is up (ICE and DTLS done). */
export function connected(page: Page): Promise<unknown> {
  return page.waitForFunction(() => window.whip?.pc.connectionState === 'connected', undefined, { timeout: 20_000 });
}

/**
 * An ICE restart as RFC 9725 4.4 has it: new client credentials PATCHed with If-Match: *, the server's new
 * ones (200) put into the answer. Resolves with the status and the new ETag.
 */
export function restartIce(page: Page): Promise<{ status: number; etag: string | null }> {
  return page.evaluate(async () => {
    const whip = window.whip!;
    whip.pc.restartIce();
    const offer = await whip.pc.createOffer();
    await whip.pc.setLocalDescription(offer);
    const credential = (name: string, sdp: string) => new RegExp(`a=ice-${name}:(\\S+)`).exec(sdp)![1]!;
    const mid = /a=mid:(\S+)/.exec(offer.sdp!)![1];
    const fragment = `a=ice-ufrag:${credential('ufrag', offer.sdp!)}\r\na=ice-pwd:${credential('pwd', offer.sdp!)}\r\nm=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:${mid}\r\n`;
    const response = await fetch(whip.resource, {
      method: 'PATCH',
      headers: { 'content-type': 'application/trickle-ice-sdpfrag', 'if-match': '*', ...(whip.token === undefined ? {} : { authorization: `Bearer ${whip.token}` }) },
      body: fragment,
    });
    if (response.status !== 200) return { status: response.status, etag: null };
    const answer = await response.text();
    whip.answer = whip.answer
      .replace(/a=ice-ufrag:\S+/g, `a=ice-ufrag:${credential('ufrag', answer)}`)
      .replace(/a=ice-pwd:\S+/g, `a=ice-pwd:${credential('pwd', answer)}`);
    await whip.pc.setRemoteDescription({ type: 'answer', sdp: whip.answer });
    whip.etag = response.headers.get('etag') ?? whip.etag;
    return { status: response.status, etag: response.headers.get('etag') };
  });
}

/** Ends the page's session with DELETE on its resource, then closes the connection; resolves with the status. */
export async function unpublish(page: Page): Promise<number> {
  const status = await page.evaluate(async () => {
    const whip = window.whip!;
    const response = await fetch(whip.resource, {
      method: 'DELETE',
      headers: whip.token === undefined ? {} : { authorization: `Bearer ${whip.token}` },
    });
    return response.status;
  });
  await hangUp(page);
  return status;
}

/** Closes the page's connection without a DELETE, as a client that crashed or lost its network. */
export function hangUp(page: Page): Promise<void> {
  return page.evaluate(() => {
    const whip = window.whip!;
    whip.pc.close();
    for (const track of whip.media.getTracks()) track.stop();
    window.whip = undefined;
  });
}
