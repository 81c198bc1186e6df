"""How well does the AU teacher agree with itself? The ceiling for any student's AU F1 against it.

  python -m fpnmaa.au_retest --crops cache/crops --labels cache/labels.npz [--out FILE]

The teacher's decisions in labels.npz (mesh crop at scale 2.4, one view or averaged with its mirror image, as
prepare.py built them) against the same teacher on a second measurement of the same face: the mesh of a crop at
another scale (2.6; plain, and mirrored when the teacher averages two views), from models/scripts/teacher-views.ts.
Same reference shape, same neutral statistics, same thresholds. The face does not change between the two, so any
disagreement is the teacher's own noise; a student that imitated the teacher perfectly would still score only this
F1 against a re-measurement of it. The same for the VA teacher's AU cues: VA CCC between the two measurements
(expression probabilities held fixed, so this is only the AU part of the VA teacher's noise).
"""
import argparse
import json
import os

import numpy as np

from . import metrics as M
from . import teachers as T


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--crops", required=True)
    ap.add_argument("--labels", required=True)
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    lab = np.load(args.labels)
    rt = json.load(open(os.path.join(args.crops, "retest.json")))
    retest = np.fromfile(os.path.join(args.crops, "retest-mesh.f32"), np.float32).reshape(-1, 2, 468, 3)
    idx = np.asarray(rt["index"])
    keep = lab["mesh_ok"][idx]
    idx, retest = idx[keep], retest[keep]
    views = int(lab["mesh_views"])
    z = T.au_z(T.view_features([retest[:, v] for v in range(views)], lab["ref"]), lab["med"], lab["mad"])
    a0, a1 = lab["au_act"][idx], T.au_active(z)
    f1 = [M.f1_binary(a0[:, k], a1[:, k]) for k in range(12)]
    r = [float(np.corrcoef(lab["au_z"][idx, k], z[:, k])[0, 1]) for k in range(12)]
    # The VA teacher takes AU intensities as arousal/valence cues: the same re-measurement, expression unchanged.
    va1 = T.va_teacher(lab["expr_teacher"][idx], T.au_intensity(z))
    va0 = lab["va"][idx]
    report = {"faces": int(len(idx)), "teacher_views": views, "retest_crop_scale": rt["scale"], "au": T.AU_LABELS,
              "f1": [round(v, 3) for v in f1], "mean_f1": round(float(np.mean(f1)), 3),
              "z_correlation": [round(v, 3) for v in r], "active_rate": [round(float(v), 3) for v in a0.mean(0)],
              "va_ccc_au_retest": [round(M.ccc(va0[:, d], va1[:, d]), 3) for d in range(2)]}
    print(json.dumps(report))
    if args.out:
        json.dump(report, open(args.out, "w"), indent=1)


if __name__ == "__main__":
    main()
