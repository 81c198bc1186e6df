"""Split by person, fit the AU/VA teachers, write labels for training.

  python -m fpnmaa.prepare --crops models/cache/crops --data <dir with expressions/> --out models/cache/labels.npz \
      [--expr-views teachers-s2.8.f32] [--expr-teacher mean|faceapi|emotion] [--mirror-mesh] [--au-teacher mesh|blendshapes]

FER+ faces (make-crops.ts --ferplus) keep FER's own split (valid = validation) and get a vote target: the annotators'
votes over the 7 paper classes, renormalised, when at least 5 of the 10 votes are for one of them (contempt,
unknown and not-a-face votes are set aside; a face most annotators put there gets no vote target, only the
teachers'). Their majority label (`fer_major`) is the argmax of all 10 columns when it is unique and one of the 7
classes (ties and contempt/unknown/NF majorities: -1), the FER+ convention for majority-vote accuracy.

AU teacher (--au-teacher): `blendshapes` (v3, fpnmaa/au_blendshapes.py: MediaPipe Blendshape V2 mapped by a written
table, thresholds fitted on labelled training faces) or `mesh` (v2, the geometric estimate, in-the-wild faces only).
Both are computed and reported on the validation splits; the chosen one goes into the labels.

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

from . import au_blendshapes as AB
from . import teachers as T
from .teachers import PAPER

# FER+ labels.csv vote columns: neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, NF
FERPLUS_TO_PAPER = [0, 4, 6, 5, 1, 2, 3]
MIN_CLASS_VOTES = 5
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


def vote_targets(meta):
    """-> (targets (n, 7) paper order, rows without a vote target all zero; fer_major (n,); is FER+ valid (n,))."""
    n = len(meta)
    target = np.zeros((n, 7), np.float32)
    major = np.full(n, -1)
    fer_val = np.zeros(n, bool)
    for i, m in enumerate(meta):
        if m["source"] != "ferplus":
            continue
        v = np.asarray(m["votes"], np.float64)
        seven = np.zeros(7)
        seven[FERPLUS_TO_PAPER] = v[:7]
        if seven.sum() >= MIN_CLASS_VOTES:
            target[i] = seven / seven.sum()
        top = np.flatnonzero(v == v.max())
        if len(top) == 1 and top[0] < 7:
            major[i] = FERPLUS_TO_PAPER[top[0]]
        fer_val[i] = m["split"] == "valid"
    return target, major, fer_val


def teacher_description(args, views):
    """What built these labels, in words, for the exported model's provenance."""
    names = {"faceapi": "face-api face_expression_model", "emotion": "human emotion.json (FER2013 mini-Xception)",
             "mean": "mean of face-api face_expression_model and human emotion.json"}
    m = re.match(r"teachers-s([0-9.]+)\.f32$", args.expr_views or "")
    scale = m.group(1) if m else "2.0"
    au = (f"AU teacher: geometric estimate from the 468-point face mesh ({'crop and mirror image averaged' if views == 2 else 'one view'})"
          if args.au_teacher == "mesh" else
          "AU teacher: MediaPipe face mesh v2 + Blendshape V2 (crop and mirror image averaged) mapped to FACS AUs by a written table")
    return (f"expression teacher: {names[args.expr_teacher]} at crop scale {scale}; FER+ annotator votes where present; {au}; "
            "VA teacher: circumplex mapping of the human label or FER+ vote distribution (else the expression teacher's probabilities) + AU cues")


def report_au(name, act, labels, rows):
    agree, fa = AB.prototype_agreement(act[rows], labels[rows])
    print(f"  {name}: prototype agreement", " ".join(f"{c}:{a:.2f}(n={k})" for c, (a, k) in agree.items()),
          "| on neutral:", " ".join(f"{a}:{r:.2f}" for a, r in fa.items()))
    return {"agreement": {c: round(a, 4) for c, (a, _) in agree.items()}, "support": {c: k for c, (_, k) in agree.items()},
            "neutral_active_rate": {a: round(r, 4) for a, r in fa.items()}}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--crops", required=True)
    ap.add_argument("--data", default=None, help="dataset root (for content hashes); optional")
    ap.add_argument("--out", required=True)
    ap.add_argument("--expr-views", default="", help="N x 14 expression probabilities (teacher-views.ts) instead of teachers.f32's")
    ap.add_argument("--expr-teacher", default="mean", choices=["mean", "faceapi", "emotion"])
    ap.add_argument("--mirror-mesh", action="store_true", help="average AU features with the mirrored crop's mesh")
    ap.add_argument("--au-teacher", default="blendshapes", choices=["blendshapes", "mesh"])
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
    # the mesh teacher reads only faces with a confident mesh (FER+ faces carry none): the rest stay at zero features
    feats = np.zeros((len(meta), len(T.FEATURES)))
    feats[mesh_ok] = T.view_features([v[mesh_ok] for v in views], ref)
    med, mad = T.fit_neutral_stats(feats[neu])
    z = T.au_z(feats, med, mad)
    u = T.au_intensity(z)
    act = T.au_active(z)
    votes, fer_major, fer_val = vote_targets(meta)
    has_votes = votes.sum(1) > 0
    print(f"FER+ faces: {int((np.array([m['source'] for m in meta]) == 'ferplus').sum())}, with a vote target "
          f"{int(has_votes.sum())}, valid {int(fer_val.sum())} (majority-labelled {int((fer_major[fer_val] >= 0).sum())})")
    # every labelled face: ground truth where it exists, the FER+ majority elsewhere
    any_label = np.where(labels >= 0, labels, fer_major)
    train_rows = ~is_val & ~fer_val
    mesh_act = act * mesh_ok[:, None]
    bs = np.fromfile(os.path.join(args.crops, "blendshapes.f32"), np.float32).reshape(-1, 53)[:len(meta)]
    if len(bs) != len(meta):
        raise SystemExit(f"blendshapes.f32 has {len(bs)} rows for {len(meta)} faces: run fpnmaa.blendshapes first")
    au_s = AB.au_scores(bs[:, :52])
    domain = np.array([m["source"] == "ferplus" for m in meta])
    au_tau = AB.fit_thresholds(au_s[train_rows], any_label[train_rows], domain[train_rows])
    bs_act = AB.au_active(au_s, au_tau)
    print("AU v3 thresholds", dict(zip(T.AU_LABELS, np.round(au_tau, 3).tolist())))
    au_report = {}
    for split_name, rows in [("in-the-wild validation", is_val), ("FER+ valid", fer_val), ("training", train_rows)]:
        print(split_name)
        au_report[split_name] = {"blendshapes": report_au("v3 blendshapes", bs_act, any_label, rows)}
        if (rows & mesh_ok).any() and split_name != "FER+ valid":
            au_report[split_name]["mesh"] = report_au("v2 mesh", mesh_act, any_label, rows & mesh_ok)
    au_width = AB.fit_widths(au_s[train_rows], any_label[train_rows], au_tau)
    if args.au_teacher == "blendshapes":
        u, act = AB.au_intensity(au_s, au_tau, au_width), bs_act
    expr_t = {"mean": 0.5 * (emo + fapi), "faceapi": fapi, "emotion": emo}[args.expr_teacher]
    # the expression distribution the VA mapping reads: ground truth overrides (the label one-hot; FER+ votes), the
    # expression teacher elsewhere (it reads neutral faces as half sad/angry/disgusted, valence -0.18 on average)
    human = np.where((labels >= 0)[:, None], np.eye(7, dtype=np.float32)[np.maximum(labels, 0)], votes)
    va = T.va_teacher(np.where((human.sum(1) > 0)[:, None], human, expr_t), u)
    sign = {}
    for c, want in [("Happiness", 1), ("Anger", -1), ("Disgust", -1), ("Fear", -1), ("Sadness", -1)]:
        for split_name, rows in [("in-the-wild validation", is_val), ("FER+ valid", fer_val)]:
            m = rows & (any_label == PAPER.index(c))
            if m.any():
                sign.setdefault(split_name, {})[c] = round(float((np.sign(va[m, 0]) == want).mean()), 4)
    print("VA teacher valence sign agreement", sign)
    for c, name in enumerate(PAPER):
        m = any_label == c
        if m.any():
            print(f"{name:10s} n={m.sum():5d} AU active rate:", " ".join(f"{a}:{act[m, i].mean():.2f}" for i, a in enumerate(T.AU_LABELS)),
                  f"V={va[m, 0].mean():+.2f} A={va[m, 1].mean():+.2f}")
    np.savez_compressed(
        args.out, is_val=is_val, labels=labels, emo=emo, faceapi=fapi, mesh_ok=mesh_ok, au_z=z.astype(np.float32),
        au_u=u.astype(np.float32), au_act=act, va=va.astype(np.float32), ref=ref, med=med, mad=mad,
        expr_teacher=expr_t.astype(np.float32), mesh_views=len(views), teacher_desc=teacher_description(args, len(views)),
        groups=np.array([g or "" for g in groups]), votes=votes, fer_major=fer_major, fer_val=fer_val, au_scores=au_s,
        au_tau=au_tau.astype(np.float32), au_width=au_width.astype(np.float32), au_teacher=args.au_teacher)
    json.dump({"au": au_report, "valence_sign": sign, "au_tau": dict(zip(T.AU_LABELS, np.round(au_tau, 4).tolist()))},
              open(args.out.replace(".npz", "-teachers.json"), "w"), indent=1)
    json.dump({"val_persons": sorted(va_g), "train_persons": len(tr_g)}, open(args.out.replace(".npz", "-split.json"), "w"), indent=0)


if __name__ == "__main__":
    main()
