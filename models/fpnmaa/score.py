"""Score any ONNX model that meets the affect model contract on a dataset folder (fpnmaa.evaluate --dataset).

Crops: by default the server's own detector + aligner cut each image's face as the model's metadata says
(affect.crop, affect.input_size), through models/scripts/crop-faces.ts (Node): what the model sees live. Images
where the detector finds no face are counted and reported, and left out of the scores. --aligned uses the
dataset's own aligned crops instead (e.g. Aff-Wild2 cropped_aligned), resized to the input size: how the paper was
scored. Either way the model runs in onnxruntime (CPU), normalised with its own affect.mean/std.

Labels are matched by name: the model's argmax over the dataset's expression classes it has (a class the model lacks
is never predicted); AUs the dataset and the model share, each active when p >= the model's threshold.
Scores: metrics.abaw_scores (ABAW2 and ABAW3+), plus per-class and per-AU tables.
"""
import json
import os
import subprocess
import tempfile

import numpy as np

from . import datasets as D
from . import metrics as M

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def model_info(path):
    import onnx
    props = {p.key: p.value for p in onnx.load(path, load_external_data=False).metadata_props}
    return {"name": props.get("affect.name", os.path.basename(path)), "version": props.get("affect.version", ""),
            "size": int(props["affect.input_size"]), "mean": json.loads(props["affect.mean"]),
            "std": json.loads(props["affect.std"]), "crop": json.loads(props["affect.crop"]),
            "expr": json.loads(props["affect.expression_labels"]), "au": json.loads(props["affect.au_labels"]),
            "thr": np.asarray(json.loads(props["affect.au_thresholds"]))}


def server_crops(paths, size, crop):
    """(n, size, size, 3) uint8 crops cut by the server's detector + aligner, and the found mask."""
    with tempfile.TemporaryDirectory() as tmp:
        lst = os.path.join(tmp, "images.txt")
        with open(lst, "w") as f:
            f.write("\n".join(os.path.abspath(p) for p in paths) + "\n")
        subprocess.run(["npx", "tsx", "models/scripts/crop-faces.ts", "--list", lst, "--size", str(size),
                        "--crop", json.dumps(crop), "--out", os.path.join(tmp, "crops")], cwd=REPO, check=True)
        found = np.asarray(json.load(open(os.path.join(tmp, "crops.json")))["found"], bool)
        x = np.fromfile(os.path.join(tmp, "crops.u8"), np.uint8).reshape(-1, size, size, 3)
    assert len(found) == len(paths) and len(x) == found.sum()
    return x, found


def run_model(path, x_u8, info, threads=2, batch=64):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    mean = np.asarray(info["mean"], np.float32).reshape(1, 3, 1, 1)
    std = np.asarray(info["std"], np.float32).reshape(1, 3, 1, 1)
    outs = [[], [], []]
    for i in range(0, len(x_u8), batch):
        xb = (x_u8[i:i + batch].transpose(0, 3, 1, 2).astype(np.float32) / 255 - mean) / std
        for o, r in zip(outs, sess.run(["va", "expr", "au"], {"input": xb})):
            o.append(r)
    return [np.concatenate(o) if o else np.zeros((0, 1), np.float32) for o in outs]


def score(frames, va, ex, au, info):
    """Official scores and tables of predictions on `frames` (rows aligned)."""
    rep = {}
    kw = {}
    lower = [c.lower() for c in info["expr"]]
    cols = [lower.index(c.lower()) if c.lower() in lower else -1 for c in frames.expr_labels]
    m = frames.expr >= 0
    if m.any():
        have = [k for k, c in enumerate(cols) if c >= 0]
        pred = np.asarray(have)[ex[m][:, [cols[k] for k in have]].argmax(1)]
        y = frames.expr[m]
        kw["expr"] = (pred, y)
        recall = M.per_class_recall(y, pred, len(cols))
        rep["expression"] = {c: {"support": int((y == k).sum()), "recall": None if np.isnan(recall[k]) else round(recall[k], 4),
                                 "f1": round(M.f1_binary(y == k, pred == k), 4), "predicted": int((pred == k).sum())}
                             for k, c in enumerate(frames.expr_labels)}
        rep["expression_not_in_model"] = [c for c, k in zip(frames.expr_labels, cols) if k < 0]
    m = ~np.isnan(frames.va[:, 0])
    if m.any():
        kw["va"] = (va[m], frames.va[m])
    shared = [a for a in frames.au_labels if a in info["au"]]
    if shared and (frames.au[:, 0] >= 0).any():
        m = (frames.au >= 0).all(1)
        k_model = [info["au"].index(a) for a in shared]
        k_data = [frames.au_labels.index(a) for a in shared]
        p = 1 / (1 + np.exp(-au[m][:, k_model]))
        act = p >= info["thr"][k_model]
        t = frames.au[m][:, k_data]
        kw["au"] = (act, t)
        rep["au"] = {a: {"support": int(t[:, i].sum()), "f1": round(M.f1_binary(t[:, i], act[:, i]), 4),
                         "active_rate": round(float(act[:, i].mean()), 4)} for i, a in enumerate(shared)}
        rep["au_not_in_model"] = [a for a in frames.au_labels if a not in info["au"]]
    s = M.abaw_scores(n_expr=len(frames.expr_labels), **kw)
    r4 = lambda d: {k: (round(v, 4) if isinstance(v, float) else v) for k, v in d.items()}
    return {"abaw2": r4(s["abaw2"]), "abaw3": r4(s["abaw3"]), "parts": r4(s["parts"]), **rep}


def evaluate_dataset(onnx_path, kind, root, split, aligned, every, limit, threads):
    info = model_info(onnx_path)
    frames = D.load(kind, root, split)
    rows = np.arange(0, len(frames), every)[: limit or None]
    frames = frames.subset(rows)
    print(frames.report(), flush=True)
    if aligned:
        x = np.stack([D.load_image(p, info["size"]) for p in frames.paths]) if len(frames) else np.zeros((0, info["size"], info["size"], 3), np.uint8)
        found = np.ones(len(frames), bool)
    else:
        x, found = server_crops(frames.paths, info["size"], info["crop"])
    va, ex, au = run_model(onnx_path, x, info, threads)
    scored = frames.subset(np.flatnonzero(found))
    out = {"model": f"{info['name']} {info['version']}".strip(), "onnx": os.path.basename(onnx_path), "dataset": frames.name,
           "crops": "dataset's own aligned crops, resized" if aligned else f"server detector + aligner {json.dumps(info['crop'])}",
           "images": len(frames), "no_face": int((~found).sum()), "scored": len(scored),
           "annotated_without_image": frames.missing, "not_read": frames.skipped,
           **score(scored, va, ex, au, info)}
    return out


def print_report(r):
    print(f"\n{r['model']} on {r['dataset']} ({r['crops']}): {r['scored']} of {r['images']} images scored"
          + (f", no face found in {r['no_face']}" if r["no_face"] else "")
          + (f"; annotated frames without an image: {r['annotated_without_image']}" if r["annotated_without_image"] else ""))
    for ed, title in (("abaw2", "ABAW2 (2021)"), ("abaw3", "ABAW3+")):
        if r[ed]:
            print(f"  {title:13s}" + "  ".join(f"{k.upper()} {v:.4f}" for k, v in r[ed].items()))
    print("  parts        " + "  ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in r["parts"].items()))
    for table, cols in (("expression", ("support", "predicted", "recall", "f1")), ("au", ("support", "active_rate", "f1"))):
        if table in r:
            print(f"  {table:11s}" + "".join(f"{c:>12s}" for c in cols))
            for name, row in r[table].items():
                print(f"  {name:11s}" + "".join(f"{str(row[c]):>12}" for c in cols))
