"""Does MobileFaceNet's face-recognition representation carry expression on our crops? A linear probe.

  python -m fpnmaa.probe --crops cache/crops --labels cache/labels.npz [--init cache/hm/package/models/mobilefacenet.json]

The backbone is frozen: once with the transplanted recognition weights, once with the same architecture's random
initialisation (same seed), each with its taps standardised on the same 512 training crops (train.py's calibration).
Features: every tap averaged over space (64 + 128 + 128 + 512 = 832-d), standardised with training statistics.
Classifier: multinomial logistic regression on the labelled training faces, the training run's class weights
(n_c^-1/2), L2 1e-3, L-BFGS. Reported on the validation split (expression accuracy, macro-F1). It isolates what the
weights know from how well fine-tuning can use it (MODEL_CARD.md, face-pretrained initialisation).
"""
import argparse
import json

import numpy as np
import torch
import torch.nn.functional as F

from . import metrics as M
from .mobilefacenet import MobileFaceNetBackbone, load_tfjs_mobilefacenet
from .train import augment_view, calibration_crops, class_weights, load_data


@torch.no_grad()
def pooled_taps(backbone, x_u8, batch=128):
    out = []
    for i in range(0, len(x_u8), batch):
        out.append(torch.cat([t.mean(dim=(2, 3)) for t in backbone(augment_view(x_u8[i:i + batch], 112, False, None))], 1))
    return torch.cat(out).numpy()


def fit_probe(f, y, class_w, l2=1e-3, steps=200):
    w = torch.zeros(f.shape[1], 7, requires_grad=True)
    b = torch.zeros(7, requires_grad=True)
    ft, yt = torch.from_numpy(f), torch.from_numpy(y).long()
    opt = torch.optim.LBFGS([w, b], max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(ft @ w + b, yt, weight=class_w) + l2 * (w ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach(), b.detach()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--crops", required=True)
    ap.add_argument("--labels", required=True)
    ap.add_argument("--init", default="cache/hm/package/models/mobilefacenet.json")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    _, x_u8, lab = load_data(args.crops, args.labels)
    y = lab["labels"]
    tr = np.where(~lab["is_val"] & (y >= 0))[0]
    va = np.where(lab["is_val"] & (y >= 0))[0]
    _, class_w = class_weights(y[tr])
    calib = calibration_crops(x_u8, np.where(~lab["is_val"])[0], 112, args.seed)
    report = {}
    for name in ("face-recognition weights", "random weights"):
        torch.manual_seed(args.seed)
        backbone = MobileFaceNetBackbone()
        if name.startswith("face"):
            load_tfjs_mobilefacenet(backbone, args.init)
        backbone.calibrate(calib)
        backbone.eval()
        f_tr, f_va = pooled_taps(backbone, x_u8[tr]), pooled_taps(backbone, x_u8[va])
        mu, sd = f_tr.mean(0), f_tr.std(0) + 1e-6
        f_tr, f_va = (f_tr - mu) / sd, (f_va - mu) / sd
        wt, bt = fit_probe(f_tr.astype(np.float32), y[tr], class_w)
        pred = (torch.from_numpy(f_va.astype(np.float32)) @ wt + bt).argmax(1).numpy()
        report[name] = {"accuracy": round(M.accuracy(y[va], pred), 4), "macro_f1": round(M.macro_f1(y[va], pred, 7), 4),
                        "recall": [round(r, 3) for r in M.per_class_recall(y[va], pred, 7)]}
        print(name, json.dumps(report[name]), flush=True)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
