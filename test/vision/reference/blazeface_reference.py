"""Independent reference for the BlazeFace detector (server/src/vision/FaceDetector.ts).

Re-implements the whole detector in numpy from the written spec (docs/alignment.md's sampling convention for the
letterbox; the anchors, decoding and weighted NMS of MediaPipe), runs the vendored ONNX files with Python
onnxruntime, and writes what it finds to test/fixtures/blazeface-reference.json. The Node test compares the
detector against that file, so CI needs no Python. Inputs are PNGs so both sides decode the same pixels.

    python test/vision/reference/blazeface_reference.py    (numpy, pillow, onnxruntime)
"""
import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image

ROOT = Path(__file__).resolve().parents[3]
MODELS = {
    "front128": ROOT / "models/blazeface/face_detection_front_128x128_barracuda.onnx",
    "back256": ROOT / "models/blazeface/face_detection_back_256x256_barracuda.onnx",
}
IMAGES = ["astronaut.png", "solvay1927-half.png"]
MIN_SCORE = 0.5
IOU_THRESHOLD = 0.3


def letterbox_input(rgb: np.ndarray, size: int):
    """Bilinear letterbox into [1,S,S,3] in [-1,1]; pixel centres at +0.5, black outside the image."""
    h, w, _ = rgb.shape
    scale = size / max(w, h)
    pad_x = (size - w * scale) / 2
    pad_y = (size - h * scale) / 2
    centres = np.arange(size) + 0.5
    fx = (centres - pad_x) / scale - 0.5
    fy = (centres - pad_y) / scale - 0.5
    padded = np.zeros((h + 2, w + 2, 3), np.float64)
    padded[1:-1, 1:-1] = rgb
    x0 = np.floor(fx).astype(int)
    y0 = np.floor(fy).astype(int)
    wx = (fx - x0)[None, :, None]
    wy = (fy - y0)[:, None, None]
    xs0 = np.clip(x0, -1, w) + 1
    xs1 = np.clip(x0 + 1, -1, w) + 1
    ys0 = np.clip(y0, -1, h) + 1
    ys1 = np.clip(y0 + 1, -1, h) + 1
    out = (
        padded[ys0][:, xs0] * (1 - wx) * (1 - wy)
        + padded[ys0][:, xs1] * wx * (1 - wy)
        + padded[ys1][:, xs0] * (1 - wx) * wy
        + padded[ys1][:, xs1] * wx * wy
    )
    return ((out / 255 - 0.5) / 0.5).astype(np.float32)[None], (scale, pad_x, pad_y)


def anchors() -> np.ndarray:
    out = []
    for grid, per_cell in ((16, 2), (8, 6)):
        for y in range(grid):
            for x in range(grid):
                out += [((x + 0.5) / grid, (y + 0.5) / grid)] * per_cell
    return np.array(out)


def decode(scores: np.ndarray, regressors: np.ndarray, size: int):
    a = anchors()
    s = 1 / (1 + np.exp(-np.clip(scores, -100, 100)))
    keep = np.nonzero(s >= MIN_SCORE)[0]
    faces = []
    for i in keep:
        r = regressors[i] / size
        cx, cy = a[i] + r[0:2]
        w, h = r[2:4]
        kps = a[i] + r[4:16].reshape(6, 2)
        faces.append((float(s[i]), np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]), kps))
    return faces


def iou(p, q) -> float:
    ix = min(p[2], q[2]) - max(p[0], q[0])
    iy = min(p[3], q[3]) - max(p[1], q[1])
    if ix <= 0 or iy <= 0:
        return 0.0
    inter = ix * iy
    return inter / ((p[2] - p[0]) * (p[3] - p[1]) + (q[2] - q[0]) * (q[3] - q[1]) - inter)


def weighted_nms(faces):
    remaining = sorted(faces, key=lambda f: -f[0])
    out = []
    while remaining:
        best = remaining[0]
        cluster = [f for f in remaining if f is best or iou(best[1], f[1]) > IOU_THRESHOLD]
        remaining = [f for f in remaining if not any(f is c for c in cluster)]
        weights = np.array([f[0] for f in cluster])
        box = sum(w * f[1] for w, f in zip(weights, cluster)) / weights.sum()
        kps = sum(w * f[2] for w, f in zip(weights, cluster)) / weights.sum()
        out.append((best[0], box, kps))
    return out


def detect(session: ort.InferenceSession, rgb: np.ndarray):
    size = session.get_inputs()[0].shape[1]
    tensor, (scale, pad_x, pad_y) = letterbox_input(rgb, size)
    s0, s1, r0, r1 = session.run(["Identity:0", "Identity_1:0", "Identity_2:0", "Identity_3:0"], {"input:0": tensor})
    scores = np.concatenate([s0[0, :, 0], s1[0, :, 0]]).astype(np.float64)
    regressors = np.concatenate([r0[0], r1[0]]).astype(np.float64)
    faces = []
    for score, box, kps in weighted_nms(decode(scores, regressors, size)):
        to_x = lambda v: (v * size - pad_x) / scale
        to_y = lambda v: (v * size - pad_y) / scale
        x0, y0, x1, y1 = to_x(box[0]), to_y(box[1]), to_x(box[2]), to_y(box[3])
        faces.append(
            {
                "score": score,
                "box": [x0, y0, x1 - x0, y1 - y0],
                "keypoints": [[to_x(k[0]), to_y(k[1])] for k in kps],
            }
        )
    return faces


def rounded(value):
    """6 decimals: far below the comparison tolerance, and a diff-friendly file."""
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, list):
        return [rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    return value


def main() -> None:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = 1
    result = {"minScore": MIN_SCORE, "iouThreshold": IOU_THRESHOLD, "images": {}}
    for image in IMAGES:
        rgb = np.asarray(Image.open(ROOT / "test/fixtures" / image).convert("RGB"), dtype=np.float64)
        result["images"][image] = {
            model: detect(ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"]), rgb)
            for model, path in MODELS.items()
        }
    out = ROOT / "test/fixtures/blazeface-reference.json"
    out.write_text(json.dumps(rounded(result), indent=1) + "\n")
    for image, models in result["images"].items():
        print(image, {m: len(f) for m, f in models.items()})


if __name__ == "__main__":
    main()
