import { from, map } from 'rxjs';
import type { Detector } from '../pipeline/detectFaces.ts';
import type { FaceDetection } from '../vision/types.ts';

const area = (face: FaceDetection) => face.box.width * face.box.height;

/**
 * A detector whose whole-frame searches keep only the `count` largest faces (the people in front, not a crowd behind
 * them). Region searches pass through: they look only for faces already kept.
 */
export function keepLargestFaces(detector: Detector, count: number): Detector {
  return {
    detect: (image, timings) => from(detector.detect(image, timings)).pipe(map((faces) => [...faces].sort((a, b) => area(b) - area(a)).slice(0, count))),
    detectRegions: (image, regions, timings) => detector.detectRegions(image, regions, timings),
  };
}
