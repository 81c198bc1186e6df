"""MediaPipe face mesh v2 + Blendshape V2 (face_landmarker.task, Apache-2.0), run offline with tensorflow-cpu's
TFLite interpreter on the stored training crops: the learned AU teacher's raw measurements.

  python -m fpnmaa.blendshapes --crops models/cache/crops [--task mediapipe/face_landmarker.task] [--threads 1]
  python -m fpnmaa.blendshapes --reference   # rewrites the fixture reference the selftest checks against

Writes <crops>/blendshapes.f32: N x 53 float32 = 52 blendshape scores (BLENDSHAPE_NAMES order) + the mesh's face
presence probability, each the mean of the crop and its mirror image (left/right names swapped back), which halves
part of the mesh model's noise as the mirrored mesh did for the old geometric teacher. Resumable (continues after
the rows already written).

ROI: MediaPipe cuts a square of ~1.5x the detected face box, upright by the eyes. The stored crops are already that:
eyes-mouth-v1 aligned (upright by the eyes) at scale 3 x 128/112 around the eyes-mouth centre, which spans about
1.5 face boxes; they are resized to the mesh model's 256 px bilinearly. Landmarks go to the blendshape model in
ROI pixels (MediaPipe passes frame pixels; the model is invariant to the scale and shift of its input points,
checked in selftest).
"""
import argparse
import json
import os
import time
import zipfile

# small matrix products (the ROI resize): BLAS threads only contend with the interpreter and other jobs
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402

# The 146 of the 478 mesh landmarks the blendshape model takes, and its 52 outputs, in MediaPipe's order
# (mediapipe/tasks/cc/vision/face_landmarker/face_blendshapes_graph.cc: kLandmarksSubsetIdxs, kBlendshapeNames).
SUBSET = [
    0, 1, 4, 5, 6, 7, 8, 10, 13, 14, 17, 21, 33, 37, 39, 40, 46, 52, 53, 54, 55, 58, 61, 63, 65, 66, 67, 70, 78, 80,
    81, 82, 84, 87, 88, 91, 93, 95, 103, 105, 107, 109, 127, 132, 133, 136, 144, 145, 146, 148, 149, 150, 152, 153, 154,
    155, 157, 158, 159, 160, 161, 162, 163, 168, 172, 173, 176, 178, 181, 185, 191, 195, 197, 234, 246, 249, 251, 263,
    267, 269, 270, 276, 282, 283, 284, 285, 288, 291, 293, 295, 296, 297, 300, 308, 310, 311, 312, 314, 317, 318, 321,
    323, 324, 332, 334, 336, 338, 356, 361, 362, 365, 373, 374, 375, 377, 378, 379, 380, 381, 382, 384, 385, 386, 387,
    388, 389, 390, 397, 398, 400, 402, 405, 409, 415, 454, 466, 468, 469, 470, 471, 472, 473, 474, 475, 476, 477]
BLENDSHAPE_NAMES = [
    "_neutral", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight", "cheekPuff",
    "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft", "eyeBlinkRight", "eyeLookDownLeft", "eyeLookDownRight",
    "eyeLookInLeft", "eyeLookInRight", "eyeLookOutLeft", "eyeLookOutRight", "eyeLookUpLeft", "eyeLookUpRight",
    "eyeSquintLeft", "eyeSquintRight", "eyeWideLeft", "eyeWideRight", "jawForward", "jawLeft", "jawOpen", "jawRight",
    "mouthClose", "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft", "mouthFrownRight", "mouthFunnel", "mouthLeft",
    "mouthLowerDownLeft", "mouthLowerDownRight", "mouthPressLeft", "mouthPressRight", "mouthPucker", "mouthRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthSmileLeft", "mouthSmileRight",
    "mouthStretchLeft", "mouthStretchRight", "mouthUpperUpLeft", "mouthUpperUpRight", "noseSneerLeft", "noseSneerRight"]
INDEX = {n: i for i, n in enumerate(BLENDSHAPE_NAMES)}
MESH_SIZE = 256
STORE = 128
HERE = os.path.dirname(os.path.abspath(__file__))
TASK = os.path.join(HERE, "..", "mediapipe", "face_landmarker.task")
FIXTURES = os.path.join(HERE, "..", "..", "test", "model", "fixtures")
# the stored crops of the public-domain fixture faces (models/scripts/teacher-reference.ts) and this teacher's output
FIXTURE_CROPS = os.path.join(FIXTURES, "fixture-crops128.u8")
REFERENCE = os.path.join(FIXTURES, "blendshape-reference.json")


def mirror_permutation():
    """Output index -> index of the same coefficient on a mirrored face (Left <-> Right; jawLeft <-> jawRight,
    mouthLeft <-> mouthRight, eyeLookIn/Out keep their names per eye)."""
    perm = []
    for n in BLENDSHAPE_NAMES:
        if n.endswith("Left"):
            m = n[:-4] + "Right"
        elif n.endswith("Right"):
            m = n[:-5] + "Left"
        elif n in ("jawLeft", "jawRight", "mouthLeft", "mouthRight"):
            m = {"jawLeft": "jawRight", "jawRight": "jawLeft", "mouthLeft": "mouthRight", "mouthRight": "mouthLeft"}[n]
        else:
            m = n
        perm.append(INDEX[m])
    return np.array(perm)


class BlendshapeTeacher:
    def __init__(self, task_path, threads=1):
        import tensorflow as tf  # only this teacher needs TensorFlow

        with zipfile.ZipFile(task_path) as z:
            mesh = z.read("face_landmarks_detector.tflite")
            shapes = z.read("face_blendshapes.tflite")
        self.mesh = tf.lite.Interpreter(model_content=mesh, num_threads=threads)
        self.mesh.allocate_tensors()
        self.shapes = tf.lite.Interpreter(model_content=shapes, num_threads=threads)
        self.shapes.allocate_tensors()
        self.mesh_in = self.mesh.get_input_details()[0]["index"]
        outs = {d["name"]: d["index"] for d in self.mesh.get_output_details()}
        self.mesh_points, self.mesh_presence = outs["Identity"], outs["Identity_1"]
        self.shapes_in = self.shapes.get_input_details()[0]["index"]
        self.shapes_out = self.shapes.get_output_details()[0]["index"]
        self.perm = mirror_permutation()

    def landmarks(self, roi):
        """roi: 256 x 256 x 3 float32 RGB in [0, 1] -> (478 x 3 landmarks in ROI pixels, face presence probability)."""
        self.mesh.set_tensor(self.mesh_in, roi[None].astype(np.float32))
        self.mesh.invoke()
        pts = self.mesh.get_tensor(self.mesh_points).reshape(478, 3)
        presence = 1 / (1 + np.exp(-float(self.mesh.get_tensor(self.mesh_presence).ravel()[0])))
        return pts, presence

    def blendshapes_of(self, points_xy):
        self.shapes.set_tensor(self.shapes_in, points_xy[SUBSET][None].astype(np.float32))
        self.shapes.invoke()
        return self.shapes.get_tensor(self.shapes_out).ravel().copy()

    def measure(self, crop_u8):
        """One stored crop (128 x 128 x 3 uint8) -> 53 values: blendshapes averaged over the crop and its mirror image,
        and the mean face presence."""
        roi = resize(crop_u8, MESH_SIZE)
        pts, p = self.landmarks(roi)
        pts_m, p_m = self.landmarks(roi[:, ::-1].copy())
        b = self.blendshapes_of(pts[:, :2])
        b_m = self.blendshapes_of(pts_m[:, :2])[self.perm]
        return np.concatenate([(b + b_m) / 2, [(p + p_m) / 2]]).astype(np.float32)


def _interpolation_matrix(n_in, n_out):
    """(n_out, n_in) bilinear weights with half-pixel centres, edges clamped."""
    pos = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, n_in - 1)
    w = np.zeros((n_out, n_in), np.float32)
    np.add.at(w, (np.arange(n_out), lo), 1 - (pos - lo))
    np.add.at(w, (np.arange(n_out), hi), pos - lo)
    return w


def resize(crop_u8, size):
    """Bilinear resize (half-pixel centres) of an HWC uint8 image to size x size float RGB in [0, 1], as two matrix
    products (separable; ~20x faster than gathering pixels)."""
    h, w = crop_u8.shape[:2]
    wy, wx = _interpolation_matrix(h, size), _interpolation_matrix(w, size)
    x = crop_u8.astype(np.float32) / 255.0
    return np.tensordot(np.tensordot(wy, x, axes=(1, 0)), wx, axes=(1, 1)).transpose(0, 2, 1)


def fixture_crops():
    return np.fromfile(FIXTURE_CROPS, np.uint8).reshape(-1, STORE, STORE, 3)


def write_reference(teacher):
    faces = [teacher.measure(c) for c in fixture_crops()]
    json.dump({"comment": "written by python -m fpnmaa.blendshapes --reference: 52 blendshapes + presence per fixture face "
                          "(test/model/fixtures/fixture-crops128.u8: astronaut, grace_hopper)",
               "names": BLENDSHAPE_NAMES + ["presence"], "faces": [f.round(6).tolist() for f in faces]},
              open(REFERENCE, "w"), indent=0)
    print(f"wrote {REFERENCE}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--task", default=TASK, help="MediaPipe face_landmarker.task")
    ap.add_argument("--crops")
    ap.add_argument("--reference", action="store_true", help="write the fixture reference instead")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    if args.reference:
        return write_reference(BlendshapeTeacher(args.task, args.threads))
    if not args.crops:
        ap.error("--crops or --reference")
    n = sum(1 for _ in open(os.path.join(args.crops, "faces.jsonl")))
    x = np.memmap(os.path.join(args.crops, "crops128.u8"), np.uint8, "r")[: n * STORE * STORE * 3].reshape(n, STORE, STORE, 3)
    out = os.path.join(args.crops, "blendshapes.f32")
    done = os.path.getsize(out) // (53 * 4) if os.path.exists(out) else 0
    # a partial row from an interrupted run is cut off before continuing
    with open(out, "ab") as f:
        f.truncate(done * 53 * 4)
    teacher = BlendshapeTeacher(args.task, args.threads)
    t0 = time.time()
    with open(out, "ab") as f:
        for i in range(done, n):
            f.write(teacher.measure(x[i]).tobytes())
            if (i + 1) % 1000 == 0:
                f.flush()
                print(f"{i + 1}/{n} faces, {time.time() - t0:.0f} s", flush=True)
    json.dump({"faces": n, "names": BLENDSHAPE_NAMES + ["presence"]}, open(out.replace(".f32", ".json"), "w"))
    print(f"done: {n} faces, {time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
