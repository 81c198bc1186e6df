"""Validation numbers for the teachers and (optionally) an exported ONNX student, as JSON.

  python -m fpnmaa.evaluate --crops models/cache/crops --labels models/cache/labels.npz \
      [--onnx models/affect/fpn-maa-realtime.onnx] --out models/runs/eval.json

Any ONNX model meeting the contract on a dataset folder (score.py; datasets.py for the layouts), official scores:

  python -m fpnmaa.evaluate --onnx MODEL.onnx --dataset affwild2:DIR [--split Validation_Set] [--aligned] --out X.json

The student is evaluated through the exported file (onnxruntime, CPU) on the served crop (centre 112 of the stored
128 crop), with the AU thresholds from the file's metadata. Two validation sets: the in-the-wild split (labelled
faces, 7 paper classes; 'contempt' faces are excluded) and FER+ valid (majority-vote label over all 10 vote columns
when unique and one of the 7 classes; ties and contempt/unknown/not-a-face majorities excluded), and its unambiguous
part (the majority class has at least 7 of the 10 votes: the nearest thing here to posed expression photos). On each: expression
metrics, AU agreement with the FACS prototype of the labelled expression and AU false alarms on neutral faces
(au_blendshapes.prototype_agreement), valence sign per class; AU F1 and VA CCC against the teachers on the
in-the-wild split.
"""
import argparse
import json

import numpy as np

from . import metrics as M
from .au_blendshapes import prototype_agreement
from .teachers import AU_LABELS, PAPER
from .train import augment_view, load_data


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


CLEAR_SHARE = 0.7


def clear_majority(meta, rows):
    """The rows whose majority class got at least CLEAR_SHARE of the annotators' votes."""
    return np.array([r for r in rows if max(meta[r]["votes"]) >= CLEAR_SHARE * sum(meta[r]["votes"])], dtype=np.int64)


VALENCE_SIGN = {"Happiness": 1, "Anger": -1, "Disgust": -1, "Fear": -1, "Sadness": -1}


def affect_report(y, expr_probs, au_active, valence, arousal):
    """Expression, AU-vs-prototype, valence-sign and arousal-by-class numbers of one predictor on labelled faces
    (y: paper class)."""
    agree, false_alarm = prototype_agreement(au_active, y)
    sign = {c: round(float((np.sign(valence[y == PAPER.index(c)]) == s).mean()), 4)
            for c, s in VALENCE_SIGN.items() if (y == PAPER.index(c)).any()}
    n_sign = sum(int((y == PAPER.index(c)).sum()) for c in sign)
    return {
        "expression": expr_report(y, expr_probs.argmax(1)),
        "au_prototype_agreement": {c: round(a, 4) for c, (a, _) in agree.items()},
        "au_neutral_active_rate": {a: round(r, 4) for a, r in false_alarm.items()},
        "valence_sign": sign,
        "valence_sign_all": round(sum(sign[c] * int((y == PAPER.index(c)).sum()) for c in sign) / max(n_sign, 1), 4),
        "mean_valence": {c: round(float(valence[y == i].mean()), 3) for i, c in enumerate(PAPER) if (y == i).any()},
        "mean_arousal": {c: round(float(arousal[y == i].mean()), 3) for i, c in enumerate(PAPER) if (y == i).any()},
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--crops")
    ap.add_argument("--labels")
    ap.add_argument("--onnx", default=None)
    ap.add_argument("--out", required=True)
    ap.add_argument("--dataset", help="KIND:DIR, KIND one of affwild2, ferplus, folders, rafdb, affectnet (score.py)")
    ap.add_argument("--split", default=None, help="the dataset's split (default: Validation_Set / valid / none)")
    ap.add_argument("--aligned", action="store_true", help="the dataset's own aligned crops instead of the server's detector + aligner")
    ap.add_argument("--every", type=int, default=1, help="every Nth image (long videos)")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    if args.dataset:
        if not args.onnx or ":" not in args.dataset:
            ap.error("--dataset KIND:DIR needs --onnx")
        from .score import evaluate_dataset, print_report
        kind, root = args.dataset.split(":", 1)
        report = evaluate_dataset(args.onnx, kind, root, args.split, args.aligned, args.every, args.limit, args.threads)
        print_report(report)
        json.dump(report, open(args.out, "w"), indent=1, allow_nan=False)
        return
    if not (args.crops and args.labels):
        ap.error("--crops and --labels (or --dataset)")
    meta, x_u8, lab = load_data(args.crops, args.labels)
    val = np.where(lab["is_val"])[0]
    y = lab["labels"][val]
    m = y >= 0
    fer = np.where(lab["fer_val"] & (lab["fer_major"] >= 0))[0]
    clear = clear_majority(meta, fer)
    sets = {k: rows for k, rows in {"in_the_wild_val": val[m], "ferplus_valid": fer, "ferplus_valid_clear": clear}.items()
            if len(rows) > 0}
    truth = {"in_the_wild_val": y[m], "ferplus_valid": lab["fer_major"][fer], "ferplus_valid_clear": lab["fer_major"][clear]}
    out = {"val_faces": int(len(val)), "val_labelled": int(m.sum()), "ferplus_valid_majority": int(len(fer)),
           "ferplus_valid_clear": int(len(clear)), "teachers": {}}
    out["teachers_v3"] = {k: affect_report(truth[k], lab["expr_teacher"][rows], lab["au_act"][rows], lab["va"][rows, 0],
                                             lab["va"][rows, 1])
                         for k, rows in sets.items()}
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
        so.intra_op_num_threads = args.threads
        sess = ort.InferenceSession(args.onnx, so, providers=["CPUExecutionProvider"])

        def run(rows):
            vas, exs, aus = [], [], []
            for i in range(0, len(rows), 128):
                xb = augment_view(x_u8[rows[i:i + 128]], size, False, None).numpy()
                va, ex, au = sess.run(["va", "expr", "au"], {"input": xb})
                vas.append(va)
                exs.append(ex)
                aus.append(au)
            return np.concatenate(vas), np.concatenate(exs), np.concatenate(aus)

        va, ex, au = run(val)
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
        # the in-the-wild rows were just run; only FER+ valid needs another pass, and its clear part is a subset
        outputs = {"in_the_wild_val": (va[m], ex[m], au[m])}
        if "ferplus_valid" in sets:
            outputs["ferplus_valid"] = run(fer)
            outputs["ferplus_valid_clear"] = tuple(o[np.searchsorted(fer, clear)] for o in outputs["ferplus_valid"])
        for k, rows in sets.items():
            sva, sex, sau = outputs[k] if k in outputs else run(rows)
            s[k] = affect_report(truth[k], sex, (1 / (1 + np.exp(-sau)) >= thr).astype(np.float32), sva[:, 0],
                                  sva[:, 1])
        out["student"] = s
    json.dump(out, open(args.out, "w"), indent=1)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
