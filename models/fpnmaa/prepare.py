"""Split by person, fit the AU/VA teachers, write labels for training.

  python -m fpnmaa.prepare --crops models/cache/crops --data <dir with expressions/> --out models/cache/labels.npz \
      [--expr-views teachers-s2.8.f32] [--expr-teacher mean|faceapi|emotion] [--mirror-mesh]

Teacher inputs (files in --crops): expression probabilities from make-crops.ts (teachers.f32, crop scale 2.0) or,
with --expr-views, from teacher-views.ts at another crop scale; --expr-teacher picks the expression teacher used for
distillation and for the VA mapping (the mean of the two, or one of them). AU features from the mesh of the crop, or
with --mirror-mesh averaged with the mesh of the mirrored crop (mesh-mirror.f32).

Split: person = LFW-style file name with the trailing _NNNN and extension removed (case-folded; names without a
number keep their stem); images with byte-identical files are merged into one person group (union-find on the
file's sha1). Persons are shuffled with a fixed seed and assigned to validation until it holds ~20% of the faces of
each class (greedy, rarest class first). Unlabelled faces (faces/, extra photos) are training only.
"""
import argparse
import hashlib
import json
import os
import re

import numpy as np

from . import teachers as T

PAPER = ["Neutral", "Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise"]
LABEL_MAP = {"neutral": 0, "anger": 1, "disgust": 2, "fear": 3, "happiness": 4, "sadness": 5, "surprise": 6}


def person_of(file):
    stem = os.path.splitext(file)[0]
    if stem.startswith("facial-expressions_"):
        return "facial-expressions"
    return re.sub(r"[_\d]+$", "", stem).lower()


def load_crops(d):
    meta = [json.loads(line) for line in open(os.path.join(d, "faces.jsonl"))]
    n = len(meta)
    tch = np.fromfile(os.path.join(d, "teachers.f32"), np.float32).reshape(-1, 15)[:n]
    mesh = np.fromfile(os.path.join(d, "mesh.f32"), np.float32).reshape(-1, 468, 3)[:n]
    return meta, tch, mesh


def split(meta, data_dir, val_frac=0.2, seed=0):
    persons = [person_of(m["file"]) if m["source"] == "expressions" else None for m in meta]
    # union persons that share a byte-identical image
    parent = {}

    def find(a):
        while parent.setdefault(a, a) != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    by_hash = {}
    for m, p in zip(meta, persons):
        if p is None:
            continue
        find(p)
        if data_dir:
            h = hashlib.sha1(open(os.path.join(data_dir, "expressions/images", m["file"]), "rb").read()).hexdigest()
            if h in by_hash and find(by_hash[h]) != find(p):
                parent[find(p)] = find(by_hash[h])
            by_hash.setdefault(h, p)
    groups = [find(p) if p is not None else None for p in persons]
    labels = np.array([LABEL_MAP.get(m["label"], -1) for m in meta])
    uniq = sorted({g for g in groups if g is not None})
    rng = np.random.default_rng(seed)
    rng.shuffle(uniq)
    counts = {g: np.zeros(7) for g in uniq}
    for g, y in zip(groups, labels):
        if g is not None and y >= 0:
            counts[g][y] += 1
    total = sum(counts.values())
    target = val_frac * total
    val = set()
    have = np.zeros(7)
    for c in np.argsort(total):  # rarest class first
        for g in uniq:
            if g in val or counts[g][c] == 0:
                continue
            if have[c] >= target[c]:
                break
            # do not overshoot a common class by much with a big person
            if np.any(have + counts[g] > target * 1.15 + 2):
                continue
            val.add(g)
            have += counts[g]
    is_val = np.array([g is not None and g in val for g in groups])
    return is_val, groups, labels, have, total


def teacher_description(args, views):
    """What built these labels, in words, for the exported model's provenance."""
    names = {"faceapi": "face-api face_expression_model", "emotion": "human emotion.json (FER2013 mini-Xception)",
             "mean": "mean of face-api face_expression_model and human emotion.json"}
    m = re.match(r"teachers-s([0-9.]+)\.f32$", args.expr_views or "")
    scale = m.group(1) if m else "2.0"
    return (f"expression teacher: {names[args.expr_teacher]} at crop scale {scale}; AU teacher: geometric estimate from "
            f"the 468-point face mesh ({'crop and mirror image averaged' if views == 2 else 'one view'}); VA teacher: "
            "circumplex mapping of the expression teacher's probabilities + AU cues")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--crops", required=True)
    ap.add_argument("--data", default=None, help="dataset root (for content hashes); optional")
    ap.add_argument("--out", required=True)
    ap.add_argument("--expr-views", default="", help="N x 14 expression probabilities (teacher-views.ts) instead of teachers.f32's")
    ap.add_argument("--expr-teacher", default="mean", choices=["mean", "faceapi", "emotion"])
    ap.add_argument("--mirror-mesh", action="store_true", help="average AU features with the mirrored crop's mesh")
    args = ap.parse_args()
    meta, tch, mesh = load_crops(args.crops)
    is_val, groups, labels, have, total = split(meta, args.data)
    print("val faces per class", dict(zip(PAPER, have.astype(int).tolist())), "of", dict(zip(PAPER, total.astype(int).tolist())))
    tr_g = {g for g, v in zip(groups, is_val) if g is not None and not v}
    va_g = {g for g, v in zip(groups, is_val) if g is not None and v}
    assert not (tr_g & va_g)
    print(f"persons: train {len(tr_g)}, val {len(va_g)}, overlap 0; faces: train {int((~is_val).sum())}, val {int(is_val.sum())}")

    expr = np.fromfile(os.path.join(args.crops, args.expr_views), np.float32).reshape(-1, 14)[:len(meta)] if args.expr_views else tch[:, :14]
    emo, fapi = expr[:, :7], expr[:, 7:14]
    mesh_ok = tch[:, 14] > 0.5
    views = [mesh]
    if args.mirror_mesh:
        views.append(np.fromfile(os.path.join(args.crops, "mesh-mirror.f32"), np.float32).reshape(-1, 468, 3)[:len(meta)])
    # AU reference: neutral-labelled training faces only
    neu = np.where((labels == 0) & ~is_val & mesh_ok)[0]
    ref = T.fit_reference(mesh[neu])
    feats = T.view_features(views, ref)
    med, mad = T.fit_neutral_stats(feats[neu])
    z = T.au_z(feats, med, mad)
    u = T.au_intensity(z)
    act = T.au_active(z)
    expr_t = {"mean": 0.5 * (emo + fapi), "faceapi": fapi, "emotion": emo}[args.expr_teacher]
    va = T.va_teacher(expr_t, u)
    for c, name in enumerate(PAPER):
        m = labels == c
        if m.any():
            print(f"{name:10s} n={m.sum():5d} AU active rate:", " ".join(f"{a}:{act[m, i].mean():.2f}" for i, a in enumerate(T.AU_LABELS)),
                  f"V={va[m, 0].mean():+.2f} A={va[m, 1].mean():+.2f}")
    np.savez_compressed(
        args.out, is_val=is_val, labels=labels, emo=emo, faceapi=fapi, mesh_ok=mesh_ok, au_z=z.astype(np.float32),
        au_u=u.astype(np.float32), au_act=act, va=va.astype(np.float32), ref=ref, med=med, mad=mad,
        expr_teacher=expr_t.astype(np.float32), mesh_views=len(views), teacher_desc=teacher_description(args, len(views)),
        groups=np.array([g or "" for g in groups]))
    json.dump({"val_persons": sorted(va_g), "train_persons": len(tr_g)}, open(args.out.replace(".npz", "-split.json"), "w"), indent=0)


if __name__ == "__main__":
    main()
