import type { CropSpec } from '../../server/src/vision/alignment.ts';
import type { FaceDetection, RgbImage } from '../../server/src/vision/types.ts';
import { cropHWC } from './teachers.ts';

/** The crop the server serves to the affect model: eyes-mouth-v1, scale 3, shift 0.5, 112 px. */
export const SERVE_SIZE = 112;
export const SERVE_CROP: CropSpec = { method: 'eyes-mouth-v1', scale: 3.0, shift: 0.5 };
/** Training crops are stored at 128 px with the same pixel pitch: their centre 112 x 112 is exactly the served crop,
 * the margin is room for translation augmentation. */
export const STORE_SIZE = 128;
export const STORE_CROP: CropSpec = { ...SERVE_CROP, scale: (SERVE_CROP.scale * STORE_SIZE) / SERVE_SIZE };

/** A face's stored training crop, rounded to 8 bits (<= 0.5/255 off the float crop the server computes). */
export function storedCrop(image: RgbImage, detection: FaceDetection): Uint8Array {
  const f = cropHWC(image, detection, STORE_SIZE, STORE_CROP);
  const out = new Uint8Array(f.length);
  for (let i = 0; i < f.length; i++) out[i] = Math.max(0, Math.min(255, Math.round(f[i]!)));
  return out;
}
