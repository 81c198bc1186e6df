"""Reference implementation of the face crop `eyes-mouth-v1` (docs/alignment.md) and its test vectors.

The training pipeline must cut faces exactly as the server does; this file is the Python side of that
promise. `align_crop` follows the written spec with numpy only (no OpenCV: its warpAffine rounds coordinates
to 1/32 pixel). The vectors it writes to test/fixtures/alignment-vectors.json are checked by the Node test
(test/vision/alignment.test.ts); training code should check itself against the same file.

    python test/vision/reference/alignment_vectors.py    (numpy)
"""
import json
import math
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[3]


def aligned_square(keypoints, scale: float, shift: float):
    """keypoints: BlazeFace order, (x, y) frame pixels: 0 right eye, 1 left eye, 3 mouth centre."""
    re, le, mouth = (np.asarray(keypoints[i], np.float64) for i in (0, 1, 3))
    mid = (re + le) / 2
    centre = mid + shift * (mouth - mid)
    side = scale * max(np.linalg.norm(le - re), np.linalg.norm(mouth - mid))
    roll = math.atan2(le[1] - re[1], le[0] - re[0])
    return centre, side, roll


def align_crop(rgb: np.ndarray, keypoints, scale: float, shift: float, size: int, mean, std) -> np.ndarray:
    """rgb: [H,W,3] uint8. Returns [3,size,size] float32: (bilinear sample / 255 - mean) / std."""
    h, w, _ = rgb.shape
    centre, side, roll = aligned_square(keypoints, scale, shift)
    # Crop pixel (i, j) has its centre at (i + 0.5, j + 0.5); offsets from the crop centre in crop pixels.
    u = (np.arange(size) + 0.5 - size / 2) * side / size
    du, dv = np.meshgrid(u, u, indexing="xy")
    cos, sin = math.cos(roll), math.sin(roll)
    x = centre[0] + cos * du - sin * dv
    y = centre[1] + sin * du + cos * dv
    # Frame pixel (x0, y0) has its centre at (x0 + 0.5, y0 + 0.5); outside the frame is black.
    fx, fy = x - 0.5, y - 0.5
    x0, y0 = np.floor(fx).astype(int), np.floor(fy).astype(int)
    wx, wy = (fx - x0)[..., None], (fy - y0)[..., None]
    padded = np.zeros((h + 2, w + 2, 3), np.float64)
    padded[1:-1, 1:-1] = rgb
    at = lambda yy, xx: padded[np.clip(yy, -1, h) + 1, np.clip(xx, -1, w) + 1]
    sample = (at(y0, x0) * (1 - wx) * (1 - wy) + at(y0, x0 + 1) * wx * (1 - wy)
              + at(y0 + 1, x0) * (1 - wx) * wy + at(y0 + 1, x0 + 1) * wx * wy)
    out = (sample / 255 - np.asarray(mean)) / np.asarray(std)
    return out.transpose(2, 0, 1).astype(np.float32)


def pattern(width: int, height: int) -> np.ndarray:
    """A synthetic frame anyone can rebuild: R = (7x + 3y) mod 256, G = (5x + 11y) mod 256, B = (x * y) mod 256."""
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([(7 * x + 3 * y) % 256, (5 * x + 11 * y) % 256, (x * y) % 256], axis=-1).astype(np.uint8)


CASES = [
    {"name": "level", "keypoints": [[40, 30], [60, 30], [50, 40], [50, 50], [30, 35], [70, 35]]},
    {"name": "roll +20 deg", "keypoints": [[42, 24], [61.8, 31.2], [48, 40], [47, 50], [30, 30], [70, 40]]},
    {"name": "roll -35 deg, turned head", "keypoints": [[35, 40], [48.1, 30.8], [45, 44], [52, 52], [25, 48], [62, 30]]},
    {"name": "past the frame edge", "keypoints": [[80, 8], [92, 10], [88, 16], [86, 24], [74, 12], [99, 14]]},
]


def main() -> None:
    width, height, size = 97, 61, 12
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    scale, shift = 3.0, 0.5
    rgb = pattern(width, height)
    vectors = []
    for case in CASES:
        centre, side, roll = aligned_square(case["keypoints"], scale, shift)
        crop = align_crop(rgb, case["keypoints"], scale, shift, size, mean, std)
        vectors.append({**case, "centre": centre.tolist(), "side": side, "roll": roll,
                        "crop": [round(float(v), 6) for v in crop.ravel()]})
    doc = {
        "spec": "docs/alignment.md",
        "image": {"width": width, "height": height, "pattern": "R=(7x+3y)%256 G=(5x+11y)%256 B=(x*y)%256"},
        "crop": {"method": "eyes-mouth-v1", "scale": scale, "shift": shift},
        "size": size, "mean": mean, "std": std, "layout": "[3,size,size] channel-major, row-major",
        "cases": vectors,
    }
    (ROOT / "test/fixtures/alignment-vectors.json").write_text(json.dumps(doc) + "\n")


if __name__ == "__main__":
    main()
