"""Static int8 quantization (QDQ, per-channel weights) of an affect model, calibrated and checked on served crops.

  python -m fpnmaa.quantize --onnx affect/fpn-maa-realtime.onnx --data DATA --out affect/fpn-maa-realtime.int8.onnx \
      [--calibration 600] [--check 2000] [--report affect/fpn-maa-realtime.int8.parity.json]

DATA holds ferplus/ (labels.csv, images/) and expressions/ (labels.csv, images/). The calibration faces are FER+
train faces and in-the-wild faces (half each, a fixed sample), cut by the server's own detector + aligner
(score.server_crops): what the model sees live. The check runs the fp32 and int8 files side by side on FER+ valid
faces and on in-the-wild faces never used for calibration, and reports expression agreement, |dV| and |dA| (p95,
max), AU agreement (each AU's active flag with the file's thresholds) and the int8 file's expression accuracy against
the FER+ majority beside the fp32 file's. The contract metadata is carried over, with affect.precision = int8.
"""
import argparse
import csv
import json
import os
import tempfile

import numpy as np

from .score import model_info, run_model, server_crops

CALIBRATION = "QDQ, per-channel int8 weights, uint8 activations, ranges at the 99.999th percentile"
FERPLUS_CLASSES = ["neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear"]


def ferplus_rows(root, split):
    """(path, majority class name or None) of FER+ faces of one split; None where the vote has no unique 7-class winner."""
    rows = []
    with open(os.path.join(root, "labels.csv")) as f:
        for r in csv.DictReader(f):
            if r["split"] != split:
                continue
            votes = np.asarray([int(r[c]) for c in FERPLUS_CLASSES + ["contempt", "unknown", "NF"]])
            top = votes.argmax()
            unique = (votes == votes[top]).sum() == 1
            rows.append((os.path.join(root, r["file"]), FERPLUS_CLASSES[top] if unique and top < 7 else None))
    return rows


def wild_paths(root):
    with open(os.path.join(root, "labels.csv")) as f:
        return [os.path.join(root, "images", r["image"]) for r in csv.DictReader(f)]


def sample(items, n, seed):
    idx = np.random.default_rng(seed).permutation(len(items))[:n]
    return [items[i] for i in sorted(idx)]


def normalised(x_u8, info):
    mean = np.asarray(info["mean"], np.float32).reshape(1, 3, 1, 1)
    std = np.asarray(info["std"], np.float32).reshape(1, 3, 1, 1)
    return (x_u8.transpose(0, 3, 1, 2).astype(np.float32) / 255 - mean) / std


def quantize_qdq(fp32_path, out_path, feeds, precision_key=None):
    """Static QDQ quantization of `fp32_path` into `out_path`: per-channel int8 weights, uint8 activations whose ranges
    are the 99.999th percentiles over `feeds` (an iterable of input dicts, one per calibration sample). The file's
    metadata is carried over, plus `precision_key` = int8 when given."""
    from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process
    import onnx

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.feeds = iter(feeds)

        def get_next(self):
            return next(self.feeds, None)

    with tempfile.TemporaryDirectory() as tmp:
        source = fp32_path
        if next(o.version for o in onnx.load(fp32_path).opset_import if o.domain in ("", "ai.onnx")) < 13:
            # Per-channel DequantizeLinear (its `axis`) needs opset 13; the vendored BlazeFace exports are opset 12.
            from onnx import version_converter
            source = os.path.join(tmp, "opset13.onnx")
            onnx.save(version_converter.convert_version(onnx.load(fp32_path), 13), source)
        prepared = os.path.join(tmp, "prepared.onnx")
        quant_pre_process(source, prepared, skip_symbolic_shape=True)
        # Percentile ranges: a handful of extreme activations on unusual faces would otherwise widen every step.
        quantize_static(prepared, out_path, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8,
                        calibrate_method=CalibrationMethod.Percentile,
                        extra_options={"CalibPercentile": 99.999})
    src = onnx.load(fp32_path, load_external_data=False)
    out = onnx.load(out_path)
    del out.metadata_props[:]
    for p in src.metadata_props:
        out.metadata_props.add(key=p.key, value=p.value)
    if precision_key:
        out.metadata_props.add(key=precision_key, value="int8")
    onnx.save(out, out_path)


def parity(fp32, int8, info, labels=None):
    """How far int8 predictions are from fp32's on the same crops (rows aligned), and accuracy against labels if given."""
    (va32, ex32, au32), (va8, ex8, au8) = fp32, int8
    thr = info["thr"]
    act32 = 1 / (1 + np.exp(-au32)) >= thr
    act8 = 1 / (1 + np.exp(-au8)) >= thr
    dv, da = np.abs(va32[:, 0] - va8[:, 0]), np.abs(va32[:, 1] - va8[:, 1])
    r = lambda v: round(float(v), 4)
    rep = {
        "faces": int(len(va32)),
        "expression_agreement": r((ex32.argmax(1) == ex8.argmax(1)).mean()),
        "au_agreement": r((act32 == act8).mean()),
        "au_agreement_per_au": {a: r((act32[:, i] == act8[:, i]).mean()) for i, a in enumerate(info["au"])},
        "valence_abs_diff": {"p95": r(np.quantile(dv, 0.95)), "max": r(dv.max())},
        "arousal_abs_diff": {"p95": r(np.quantile(da, 0.95)), "max": r(da.max())},
    }
    if labels is not None:
        lower = [c.lower() for c in info["expr"]]
        known = np.asarray([l is not None for l in labels])
        y = np.asarray([lower.index(l) if l is not None else -1 for l in labels])
        rep["accuracy_fp32"] = r((ex32.argmax(1)[known] == y[known]).mean())
        rep["accuracy_int8"] = r((ex8.argmax(1)[known] == y[known]).mean())
    return rep


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--onnx", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--calibration", type=int, default=600)
    ap.add_argument("--check", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--report")
    args = ap.parse_args()
    info = model_info(args.onnx)
    fer_train = [p for p, _ in ferplus_rows(os.path.join(args.data, "ferplus"), "train")]
    wild = wild_paths(os.path.join(args.data, "expressions"))
    wild_calib = set(sample(wild, args.calibration // 2, 1))
    calib_paths = sample(fer_train, args.calibration - len(wild_calib), 0) + sorted(wild_calib)
    calib, _ = server_crops(calib_paths, info["size"], info["crop"])
    print(f"calibration: {len(calib)} faces of {len(calib_paths)} images")
    quantize_qdq(args.onnx, args.out, ({"input": normalised(calib[i:i + 1], info)} for i in range(len(calib))), "affect.precision")

    report = {"model": f'{info["name"]} {info["version"]}', "calibration_faces": int(len(calib)),
              "calibration": CALIBRATION}
    valid = sample(ferplus_rows(os.path.join(args.data, "ferplus"), "valid"), args.check, 2)
    wild_check = sample([p for p in wild if p not in wild_calib], args.check // 2, 3)
    for name, paths, labels in [("ferplus_valid", [p for p, _ in valid], [l for _, l in valid]), ("in_the_wild", wild_check, None)]:
        x, found = server_crops(paths, info["size"], info["crop"])
        kept = None if labels is None else [l for l, f in zip(labels, found) if f]
        fp32 = run_model(args.onnx, x, info, args.threads)
        int8 = run_model(args.out, x, info, args.threads)
        report[name] = parity(fp32, int8, info, kept)
        print(name, json.dumps(report[name]))
    if args.report:
        with open(args.report, "w") as f:
            json.dump(report, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
