"""Validation numbers for the teachers and (optionally) an exported ONNX student, as JSON.

  python -m fpnmaa.evaluate --crops models/cache/crops --labels models/cache/labels.npz \
      [--onnx models/affect/fpn-maa-realtime.onnx] --out models/runs/eval.json

The student is evaluated through the exported file (onnxruntime, CPU) on the served crop (centre 112 of the stored
128 crop), with the AU thresholds from the file's metadata. Expression metrics use labelled validation faces
(7 paper classes; 'contempt' faces are excluded); AU/VA metrics use every validation face.
"""
import argparse
import json

import numpy as np

from . import metrics as M
from .teachers import AU_LABELS
from .train import augment_view, load_data

PAPER = ["Neutral", "Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise"]


def expr_report(y, pred):
    return {
        "n": int(len(y)),
        "accuracy": round(M.accuracy(y, pred), 4),
        "macro_f1": round(M.macro_f1(y, pred, 7), 4),
        "expr_score": round(M.expr_score(y, pred), 4),
        "recall": {c: round(r, 3) for c, r in zip(PAPER, M.per_class_recall(y, pred, 7))},
        "f1": {c: round(M.f1_binary(y == i, pred == i), 3) for i, c in enumerate(PAPER)},
        "support": {c: int((y == i).sum()) for i, c in enumerate(PAPER)},
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--crops", required=True)
    ap.add_argument("--labels", required=True)
    ap.add_argument("--onnx", default=None)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    meta, x_u8, lab = load_data(args.crops, args.labels)
    val = np.where(lab["is_val"])[0]
    y = lab["labels"][val]
    m = y >= 0
    out = {"val_faces": int(len(val)), "val_labelled": int(m.sum()), "teachers": {}}
    emo, fapi = lab["emo"][val], lab["faceapi"][val]
    out["teachers"]["human_emotion"] = expr_report(y[m], emo[m].argmax(1))
    out["teachers"]["faceapi_expression"] = expr_report(y[m], fapi[m].argmax(1))
    out["teachers"]["mean_of_both"] = expr_report(y[m], (emo[m] + fapi[m]).argmax(1))
    act = lab["au_act"][val]
    out["au_teacher_active_rate_val"] = {a: round(float(act[:, i].mean()), 3) for i, a in enumerate(AU_LABELS)}
    if args.onnx:
        import onnxruntime as ort
        import onnx
        props = {p.key: p.value for p in onnx.load(args.onnx).metadata_props}
        size = int(props["affect.input_size"])
        thr = np.array(json.loads(props["affect.au_thresholds"]))
        so = ort.SessionOptions()
        so.intra_op_num_threads = 2
        sess = ort.InferenceSession(args.onnx, so, providers=["CPUExecutionProvider"])
        vas, exs, aus = [], [], []
        for i in range(0, len(val), 128):
            xb = augment_view(x_u8[val[i:i + 128]], size, False, None).numpy()
            va, ex, au = sess.run(["va", "expr", "au"], {"input": xb})
            vas.append(va)
            exs.append(ex)
            aus.append(au)
        va, ex, au = np.concatenate(vas), np.concatenate(exs), np.concatenate(aus)
        pred = ex.argmax(1)
        p = 1 / (1 + np.exp(-au))
        s = {"model": args.onnx, "expression": expr_report(y[m], pred[m])}
        f1 = {a: round(M.f1_binary(act[:, i], p[:, i] >= thr[i]), 3) for i, a in enumerate(AU_LABELS)}
        s["au_f1_vs_teacher"] = f1
        s["au_mean_f1_vs_teacher"] = round(float(np.mean(list(f1.values()))), 4)
        s["au_accuracy_vs_teacher"] = round(float(((p >= thr) == (act > 0.5)).mean()), 4)
        s["au_thresholds"] = thr.tolist()
        s["ccc_valence_vs_teacher"] = round(M.ccc(va[:, 0], lab["va"][val, 0]), 4)
        s["ccc_arousal_vs_teacher"] = round(M.ccc(va[:, 1], lab["va"][val, 1]), 4)
        s["va_teacher_sd"] = [round(float(lab["va"][val, 0].std()), 3), round(float(lab["va"][val, 1].std()), 3)]
        out["student"] = s
    json.dump(out, open(args.out, "w"), indent=1)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
