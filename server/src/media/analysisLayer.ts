/**
 * The simulcast layer (spatial layer index, lowest resolution first) whose frames the tap decodes: the smallest
 * one that is still at least 1/`maxDownscale` of the camera's resolution, or the largest one if none is that
 * large. Undefined for a single encoding: nothing to choose.
 *
 * Decoding is the tap's fixed cost per frame the sender sends, and it grows with the pixels: a half-size layer
 * decodes in about a quarter of the time, and the frames that cross into Node and the vision workers are a
 * quarter of the bytes. Faces in a call tile keep enough pixels for the detector (which sees 256 px anyway)
 * and for the 112 px affect crop at half size; a layer smaller than that would start to lose small faces.
 */
export function analysisLayer(encodings: readonly object[] | undefined, maxDownscale: number): number | undefined {
  if (!encodings || encodings.length < 2) return undefined;
  // mediasoup keeps the encodings as the sender gave them (mediasoup-client adds scaleResolutionDownBy) without
  // checking that field, so it is read as untrusted. A layer without a usable one: the browsers' default, each
  // layer half the size of the one above it.
  const scales = encodings.map((e, i) => {
    const stated = (e as { scaleResolutionDownBy?: unknown }).scaleResolutionDownBy;
    return typeof stated === 'number' && Number.isFinite(stated) && stated >= 1 ? stated : 2 ** (encodings.length - 1 - i);
  });
  let chosen: number | undefined;
  for (const [i, scale] of scales.entries()) {
    if (scale <= maxDownscale && (chosen === undefined || scale > scales[chosen]!)) chosen = i;
  }
  return chosen ?? scales.indexOf(Math.min(...scales));
}
